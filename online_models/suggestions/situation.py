"""What the suggestion policy needs to know of a patient at a decision instant, read from the
patient's state: context (asleep, active, quiet hours), the clinical picture for the safety
gate, sedentary time, today's steps and goal, and the exercise target from the measured
resting heart rate.

Days are the patient's local days (the phenotype follows the profile's ``tz``), as are the
decision points and the daily cap (``decisions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from online_models.context import DAY_S, HALF_DAY_S
from online_models.suggestions.safety import AlertStatus, ClinicalState
from online_models.suggestions.suggester import Situation
from online_models.suggestions.zones import target

if TYPE_CHECKING:
    from online_models.state import PatientState

__all__ = ["situation"]

TEMPERATURE_VALID_S = 6 * 3600.0
NIGHT_WORN_SHARE = 0.8  # a night's sleep counts when the watch was worn this much of it


def _night_recorded(state: PatientState, window: tuple[float, float], t: float) -> bool:
    """Was the watch worn through last night's habitual sleep window (before ``t``)?"""
    noon = t - (t + HALF_DAY_S) % DAY_S  # the latest noon (UTC) at or before t
    if noon + window[1] > t:
        noon -= DAY_S
    return state.phenotype.worn_share(noon + window[0], noon + window[1]) >= NIGHT_WORN_SHARE


VITALS = {"heart_rate": 1, "respiratory_rate": 1, "spo2": -1, "body_temperature": 1}


def _vital_z(state: PatientState, t: float) -> float | None:
    """The largest smoothed z of a vital sign in its concerning direction (``VITALS``)."""
    zs = state.deviation.current_z(t)
    found = [direction * zs[name] for name, direction in VITALS.items() if name in zs]
    return max(found) if found else None


def situation(state: PatientState, alerts: AlertStatus, t: float) -> Situation:
    """The patient at event time ``t``. The day's step goal is set on the first call of a
    local day and kept for the rest of it (``Suggester.goal_of_day``)."""
    phenotype, profile = state.phenotype, state.profile
    day_index = phenotype.day_index(t)  # the patient's local day
    today = phenotype.features_of_day(day_index)
    yesterday = phenotype.features_of_day(day_index - 1)
    sleep = today.get("sleep_min") or yesterday.get("sleep_min") or None
    window = state.activity.habitual
    if sleep is not None and window is not None and not _night_recorded(state, window, t):
        sleep = None  # a short record of a night the watch was off for is not a short night
    temperature = state.latest.get("body_temperature")
    trends = phenotype.trends().get("resting_hr", {})
    resting = trends.get("mean_7d") or today.get("resting_hr") or yesterday.get("resting_hr")

    def recent_days() -> list[tuple[int, int]]:  # asked once a local day (``goal_of_day``)
        return [
            (int(f.get("steps") or 0), int(f.get("wear_min") or 0))
            for i in range(day_index - 9, day_index)
            if (f := phenotype.features_of_day(i))
        ]

    goals = profile.get("activity_goals") or {}
    deviation = state.deviation_result(t)

    def hours_since(resolved: float | None) -> float | None:
        return None if resolved is None else max(0.0, t - resolved) / 3600.0

    since = 0.0 if alerts.open else hours_since(alerts.resolved_at)
    clinical = ClinicalState(
        open_clinical_alert=alerts.open,
        hours_since_clinical_alert=since,
        hours_since_low_alert=hours_since(alerts.resolved_low_at),
        hours_since_outcome=hours_since(state.adverse_outcome_at()),
        watching=alerts.watching,
        deviation_z=deviation.score if deviation.corroborated else None,
        vital_z=_vital_z(state, t),
        drift=state.drift.result(t).corroborated,
        news2_total=state.news2(t).total,
        body_temperature=(temperature[0] if temperature and t - temperature[1]
                          <= TEMPERATURE_VALID_S else None),
        resting_hr_delta_7v28=trends.get("delta"),
        sleep_last_night_min=sleep,
        exercise_restricted=bool(profile.get("exercise_restricted")),
    )  # fmt: skip
    tod = (t + HALF_DAY_S) % DAY_S
    sedentary = phenotype.sedentary_s(t) / 60.0
    if window is not None:  # still since the habitual wake time at most (sleep data come late)
        sedentary = min(sedentary, ((tod - window[1]) % DAY_S) / 60.0)
    context = state.context(t)
    return Situation(
        asleep=context == "asleep",
        active=context == "active",
        quiet_hours=window is not None and window[0] <= tod <= window[1],
        clinical=clinical,
        sedentary_min=max(0.0, sedentary),
        steps_today=int(today.get("steps") or 0),
        step_goal=state.suggester.goal_of_day(day_index, recent_days, goals.get("steps_per_day")),
        target=target(profile, resting),
    )
