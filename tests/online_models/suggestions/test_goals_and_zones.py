"""Step goals from the patient's own days; zones from their own resting heart rate."""

from __future__ import annotations

from online_models.suggestions.goals import StepGoalPolicy, next_goal
from online_models.suggestions.zones import target


def test_the_goal_follows_the_patient_and_rises_slowly() -> None:
    days = [(3000 + 250 * i, 900) for i in range(9)]  # a patient walking more each day
    assert next_goal(days, previous=None) == 4200  # 60th percentile of 3000..5000
    assert next_goal(days, previous=3000) == 3300  # at most +10 % on yesterday's goal
    lazier = [(2000, 900)] * 9
    assert next_goal(lazier, previous=4200) == 2000  # down at once: always within reach


def test_days_without_enough_wear_do_not_count() -> None:
    worn = [(6000, 900)] * 3
    barely = [(200, 120)] * 6  # the watch was mostly on the charger
    assert next_goal(worn + barely, previous=None) == 6000
    assert next_goal(barely, previous=None) is None
    assert next_goal(worn, None, policy=StepGoalPolicy(min_valid_days=4)) is None


def test_a_clinician_goal_caps_it() -> None:
    assert next_goal([(9000, 900)] * 9, previous=None, clinician_cap=6000) == 6000


def test_zone_from_the_measured_resting_hr_not_a_population_number() -> None:
    calm, fit = target({"age": 60}, 75.0), target({"age": 60}, 52.0)
    assert calm.hr_zone_bpm != fit.hr_zone_bpm
    assert calm.hr_zone_bpm[0] > fit.hr_zone_bpm[0]
    assert "resting 52 bpm (measured)" in fit.basis


def test_profile_hr_max_wins_and_rate_limiting_conditions_use_rpe() -> None:
    tested = target({"age": 60, "hr_max": 140}, 70.0)
    assert tested.hr_zone_bpm == (98, 111) and "(profile)" in tested.basis
    af = target({"age": 60, "conditions": ["atrial_fibrillation"]}, 70.0)
    assert af.hr_zone_bpm is None and af.rpe == (11, 13)
