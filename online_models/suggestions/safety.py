"""The safety gate: when no exertion may be suggested, and why.

Safety before engagement (docs/design.md, principle 8). An exertion suggestion (``walk``,
``break_sedentary``) passes only when none of these holds; otherwise the decision is ``rest``
or nothing, and the reasons are recorded and counted:

- ``open_alert``: a clinical alert episode is open or escalated — the care team is assessing
  the patient;
- ``recovering``: a clinical episode that reached medium or high severity resolved less than
  72 h ago, or a low one (more often a false alarm) less than 24 h ago — recovery comes before
  training (return-to-activity after acute illness is graded and follows clinical review;
  cf. the graduated return-to-play protocols after viral illness, Elliott N et al., Br J
  Sports Med 2020;54:1174-5);
- ``outcome``: an adverse outcome was reported on ``outcomes`` (a deterioration, a
  rapid-response call, an admission, a death) less than 72 h ago and no ``recovered`` since — the
  patient is under treatment, whatever the monitor saw or missed; a clinician's ``recovered``
  lifts it (cf. the graduated return to activity after acute illness, Elliott N et al., above);
- ``watching``: a clinical condition is present but not yet confirmed as an alert (the alarm
  delay of ``alerts.engine``) — the monitor is not sure the patient is well;
- ``deviation``: the patient's vitals are >= 3 SD from their own resting baseline, corroborated
  (``online_models.deviation``) — below the alert threshold (4.5) but not their normal;
- ``unsettled``: one vital sign (heart rate, respiration, SpO2 down, body temperature) is
  >= 2 SD from the patient's own baseline, smoothed over its last ten minutes, without the
  corroboration an alert or ``deviation`` needs — the early, uncertain look of many episodes
  (on simulated cohorts it stopped most exertion suggestions in the part of an episode where
  a vital sign had moved but no alert had opened yet);
- ``drift``: a corroborated day-level drift of resting vitals (``online_models.drift``), the
  slow pattern of heart-failure decompensation and infection;
- ``news2``: NEWS2 aggregate >= 3 — RCP 2017: the "low" band calls for assessment, not
  exercise;
- ``fever``: body temperature >= 38.0 °C — no exercise with fever (ESC 2020 guidelines on
  sports cardiology: risk of myocarditis);
- ``resting_hr_trend``: resting heart rate up >= 5 bpm, 7 vs 28 days — the heart-failure
  decompensation pattern (cf. Stehlik J et al., Circ Heart Fail 2020;13:e006513);
- ``short_sleep``: last night under 4 h of sleep — acute sleep loss lowers exercise tolerance;
- ``exercise_restricted``: the profile says so — a clinician's decision always wins.

Pure and total: every input may be missing (None), and a missing value never blocks on its
own — a missing temperature is not a fever. The table of tests is
``tests/online_models/suggestions/test_safety.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AlertStatus", "ClinicalState", "SafetyPolicy", "refusals"]


@dataclass(frozen=True)
class AlertStatus:
    """What the alert engine says of a patient's clinical episodes (``AlertEngine.status``)."""

    open: bool = False
    resolved_at: float | None = None  # event time a medium or high clinical episode resolved
    resolved_low_at: float | None = None  # ... and one that never went above low
    watching: bool = False  # a clinical condition present, not yet confirmed


@dataclass(frozen=True)
class SafetyPolicy:
    news2_max: int = 2  # NEWS2 aggregate above this: no exertion
    fever_c: float = 38.0
    resting_hr_rise_bpm: float = 5.0
    short_sleep_min: float = 240.0
    recovery_h: float = 72.0  # after a medium or high clinical episode: no exertion this long
    recovery_low_h: float = 24.0  # after a low one
    outcome_h: float = 72.0  # after a reported adverse outcome without a ``recovered``
    deviation_z: float = 3.0  # corroborated personal deviation from this: no exertion
    unsettled_z: float = 2.0  # one vital sign this far from the patient's own, uncorroborated


@dataclass(frozen=True)
class ClinicalState:
    """What the gate looks at, at one decision point."""

    open_clinical_alert: bool = False
    hours_since_clinical_alert: float | None = None  # since a medium/high one resolved (0: open)
    hours_since_low_alert: float | None = None  # since a low one resolved
    hours_since_outcome: float | None = None  # since an adverse outcome not yet recovered from
    watching: bool = False  # a clinical condition present, not yet confirmed as an alert
    deviation_z: float | None = None  # corroborated personal deviation (SD), else None
    vital_z: float | None = None  # the largest concerning smoothed z of a vital sign, alone
    drift: bool = False  # a corroborated day-level drift of resting vitals
    news2_total: int | None = None
    body_temperature: float | None = None
    resting_hr_delta_7v28: float | None = None
    sleep_last_night_min: float | None = None
    exercise_restricted: bool = False


def refusals(state: ClinicalState, policy: SafetyPolicy | None = None) -> list[str]:
    """Why an exertion suggestion may not be made now (empty: it may).

    >>> refusals(ClinicalState())
    []
    >>> refusals(ClinicalState(news2_total=3, body_temperature=38.4))
    ['news2', 'fever']
    """
    policy = policy or SafetyPolicy()
    out = []
    if state.open_clinical_alert:
        out.append("open_alert")
    since, since_low = state.hours_since_clinical_alert, state.hours_since_low_alert
    if (since is not None and since < policy.recovery_h) or (
        since_low is not None and since_low < policy.recovery_low_h
    ):
        out.append("recovering")
    outcome = state.hours_since_outcome
    if outcome is not None and outcome < policy.outcome_h:
        out.append("outcome")
    if state.watching:
        out.append("watching")
    if state.deviation_z is not None and state.deviation_z >= policy.deviation_z:
        out.append("deviation")
    vital_z = state.vital_z
    if vital_z is not None and vital_z >= policy.unsettled_z and "deviation" not in out:
        out.append("unsettled")
    if state.drift:
        out.append("drift")
    if state.news2_total is not None and state.news2_total > policy.news2_max:
        out.append("news2")
    if state.body_temperature is not None and state.body_temperature >= policy.fever_c:
        out.append("fever")
    rise = state.resting_hr_delta_7v28
    if rise is not None and rise >= policy.resting_hr_rise_bpm:
        out.append("resting_hr_trend")
    sleep = state.sleep_last_night_min
    if sleep is not None and sleep < policy.short_sleep_min:
        out.append("short_sleep")
    if state.exercise_restricted:
        out.append("exercise_restricted")
    return out
