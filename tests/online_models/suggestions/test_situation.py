"""The situation the safety gate sees, read from a patient's state."""

from __future__ import annotations

from online_models.suggestions.safety import AlertStatus, refusals
from online_models.suggestions.situation import situation
from tests.online_models.test_state import T0, reading, warm_state


def test_a_resting_heart_rate_off_the_patients_own_baseline_refuses_exertion() -> None:
    """Twenty minutes of a resting heart rate 2.5 SD above this patient's usual: no alert
    (one signal, not sustained), but not a moment to suggest a walk (``unsettled``). Their
    usual heart rate, or one as far *below* it, refuses nothing."""
    start = T0 + 2 * 86400
    states = {"high": warm_state(), "usual": warm_state(), "low": warm_state()}
    ref = states["high"].baselines.reference("heart_rate", "rest")
    values = {"high": ref.mean + 2.5 * ref.sd, "usual": ref.mean, "low": ref.mean - 2.5 * ref.sd}
    for name, state in states.items():
        for minute in range(20):
            ts = start + minute * 60
            state.update(reading("heart_rate", round(values[name], 1), ts), now=ts)
    t = start + 19 * 60
    assert not states["high"].assess(t).deviation.corroborated
    high = situation(states["high"], AlertStatus(), t).clinical
    assert high.vital_z is not None and high.vital_z >= 2.0
    assert refusals(high) == ["unsettled"]
    for name in ("usual", "low"):
        assert refusals(situation(states[name], AlertStatus(), t).clinical) == []


def test_a_reported_outcome_refuses_exertion_until_recovered_or_72_hours() -> None:
    """An outcome on ``outcomes`` (a rapid-response call the monitor may have missed) holds
    exertion suggestions back for 72 h; a clinician's ``recovered`` lifts the hold, one
    reported about an earlier moment does not; the hold survives a checkpoint."""
    from alerts.engine import AlertEngine
    from alerts.patient_loop import apply_event
    from online_models.risk import RiskModel
    from online_models.state import PatientState

    state, engine, model = warm_state(), AlertEngine("p-1"), RiskModel()
    t = T0 + 3 * 86400

    def outcome(kind: str, ts: float) -> None:
        doc = {"outcome": {"patient_id": "p-1", "kind": kind, "ts": ts}}
        apply_event(doc, state, engine, model, ts + 600)

    def reasons(at: float, s: PatientState = state) -> list[str]:
        return refusals(situation(s, AlertStatus(), at).clinical)

    assert reasons(t) == []
    outcome("rapid_response", t)
    assert reasons(t + 3600) == ["outcome"]
    restored = PatientState.from_bytes(state.to_bytes(), "p-1")[0]
    assert reasons(t + 71 * 3600, restored) == ["outcome"]
    assert reasons(t + 72 * 3600) == []
    outcome("recovered", t - 86400)  # about the day before: not a recovery from this one
    assert reasons(t + 3600) == ["outcome"]
    outcome("recovered", t + 7200)
    assert reasons(t + 3 * 3600) == []
