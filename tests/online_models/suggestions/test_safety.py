"""The safety gate, one row per rule and its edges: what a clinical safety officer reads first."""

from __future__ import annotations

import pytest

from online_models.suggestions.safety import ClinicalState, SafetyPolicy, refusals

ROWS = [
    # (what the patient's state is, the refusals expected)
    (ClinicalState(), []),
    (
        ClinicalState(
            news2_total=0,
            body_temperature=36.8,
            resting_hr_delta_7v28=1.0,
            sleep_last_night_min=420,
        ),
        [],
    ),
    (ClinicalState(open_clinical_alert=True), ["open_alert"]),
    (ClinicalState(hours_since_clinical_alert=71.9), ["recovering"]),
    (ClinicalState(hours_since_clinical_alert=72.0), []),
    (ClinicalState(hours_since_low_alert=23.9), ["recovering"]),
    (ClinicalState(hours_since_low_alert=24.0), []),
    # a low episode since does not shorten the hold of an earlier high one
    (ClinicalState(hours_since_clinical_alert=48.0, hours_since_low_alert=30.0), ["recovering"]),
    (ClinicalState(hours_since_outcome=0.0), ["outcome"]),
    (ClinicalState(hours_since_outcome=71.9), ["outcome"]),
    (ClinicalState(hours_since_outcome=72.0), []),
    # an outcome the monitor never alerted on, and one it did: two reasons
    (
        ClinicalState(hours_since_outcome=2.0, hours_since_clinical_alert=1.0),
        ["recovering", "outcome"],
    ),
    (ClinicalState(watching=True), ["watching"]),
    (ClinicalState(deviation_z=2.9), []),
    (ClinicalState(deviation_z=3.0), ["deviation"]),
    (ClinicalState(vital_z=1.9), []),
    (ClinicalState(vital_z=2.0), ["unsettled"]),
    (ClinicalState(vital_z=-3.0), []),  # the reassuring direction (a low resting heart rate)
    # corroborated, the same signals are one reason, not two
    (ClinicalState(deviation_z=3.2, vital_z=3.4), ["deviation"]),
    (ClinicalState(drift=True), ["drift"]),
    (ClinicalState(news2_total=2), []),
    (ClinicalState(news2_total=3), ["news2"]),
    (ClinicalState(news2_total=7), ["news2"]),
    (ClinicalState(body_temperature=37.9), []),
    (ClinicalState(body_temperature=38.0), ["fever"]),
    (ClinicalState(resting_hr_delta_7v28=4.9), []),
    (ClinicalState(resting_hr_delta_7v28=5.0), ["resting_hr_trend"]),
    (ClinicalState(resting_hr_delta_7v28=-8.0), []),
    (ClinicalState(sleep_last_night_min=240), []),
    (ClinicalState(sleep_last_night_min=239), ["short_sleep"]),
    (ClinicalState(exercise_restricted=True), ["exercise_restricted"]),
    (
        ClinicalState(
            open_clinical_alert=True,
            news2_total=5,
            body_temperature=39.1,
            resting_hr_delta_7v28=9,
            sleep_last_night_min=100,
            exercise_restricted=True,
        ),
        ["open_alert", "news2", "fever", "resting_hr_trend", "short_sleep", "exercise_restricted"],
    ),
    # missing values never block on their own
    (
        ClinicalState(
            news2_total=None,
            body_temperature=None,
            resting_hr_delta_7v28=None,
            sleep_last_night_min=None,
        ),
        [],
    ),
]


@pytest.mark.parametrize(("state", "expected"), ROWS)
def test_the_gate(state: ClinicalState, expected: list[str]) -> None:
    assert refusals(state) == expected


def test_the_thresholds_are_a_policy() -> None:
    stricter = SafetyPolicy(news2_max=0, fever_c=37.5)
    assert refusals(ClinicalState(news2_total=1, body_temperature=37.6), stricter) == [
        "news2",
        "fever",
    ]


def test_every_reason_the_gate_gives_is_in_the_message_contract() -> None:
    from typing import get_args

    from vigilstream.messages import SuppressionReason

    everything = ClinicalState(open_clinical_alert=True, hours_since_clinical_alert=0.0,
                               watching=True, deviation_z=9.0, drift=True, news2_total=9,
                               body_temperature=40.0, resting_hr_delta_7v28=9.0,
                               sleep_last_night_min=60, exercise_restricted=True)  # fmt: skip
    reasons = refusals(everything)
    assert len(reasons) == 10 and set(reasons) <= set(get_args(SuppressionReason))
