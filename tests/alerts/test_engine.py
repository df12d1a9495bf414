from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.engine import AlertEngine, AlertPolicy, alert_id
from online_models.deviation import DeviationResult
from online_models.news2 import score
from online_models.risk import RiskEstimate
from online_models.state import Assessment, PatientState
from online_models.suggestions.safety import AlertStatus
from vigilstream import messages

T0 = 1_800_000_000.0
CALM = {
    "respiratory_rate": 14,
    "spo2": 97,
    "heart_rate": 70,
    "blood_pressure": {"systolic": 125, "diastolic": 80},
    "body_temperature": 36.8,
}
SICK = {"respiratory_rate": 26, "spo2": 90, "heart_rate": 125,
        "blood_pressure": {"systolic": 95, "diastolic": 60}, "body_temperature": 39.2}  # fmt: skip


def feed(state: PatientState, vitals: dict, ts: float) -> None:
    for signal, value in vitals.items():
        state.update({"signal": signal, "value": value, "ts": ts, "end_ts": None}, now=ts)
    state.update({"signal": "consciousness", "value": "A", "ts": ts, "end_ts": None}, now=ts)
    state.update({"signal": "supplemental_o2", "value": False, "ts": ts, "end_ts": None}, now=ts)


def run(minutes: list[dict], start: float = T0) -> tuple[PatientState, AlertEngine, list[dict]]:
    state, engine, out = PatientState("p-1"), AlertEngine("p-1"), []
    for i, vitals in enumerate(minutes):
        ts = start + i * 60
        feed(state, vitals, ts)
        out.extend(engine.decide(state.assess(ts), event_ts=ts, now=ts + 2))
    return state, engine, out


def test_one_deterioration_alert_per_episode_then_resolved_after_the_hold() -> None:
    _, engine, out = run([CALM] * 60 + [SICK] * 20 + [CALM] * 45)
    deterioration = [m for m in out if m["kind"] == "deterioration"]
    assert len({m["alert_id"] for m in deterioration}) == 1
    first = deterioration[0]
    assert (first["status"], first["severity"]) == ("open", "high")
    assert first["explanation"]["news2"]["total"] == 12
    assert first["explanation"]["news2"]["missing"] == []
    assert "NEWS2 12" in first["summary"]
    assert deterioration[-1]["status"] == "resolved"
    statuses = [m["status"] for m in deterioration]
    assert statuses.count("open") == 1 and statuses.count("resolved") == 1
    for message in out:
        messages.validate("alert", message)
    assert [m for m in out if m["kind"] != "deterioration"] == []  # one page, not two
    assert not engine.open_episode


def test_the_first_alert_comes_at_the_second_abnormal_reading() -> None:
    _, _, out = run([CALM] * 60 + [SICK] * 20)
    opened = [m for m in out if m["kind"] == "deterioration" and m["status"] == "open"]
    # minute 60 is the first SICK reading (the median of 3 is still calm), minute 61 the second
    second = datetime.fromtimestamp(T0 + 61 * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert opened[0]["event_time"] == second
    assert opened[0]["severity"] == "high"


def test_a_value_hovering_at_a_threshold_does_not_flap() -> None:
    # Respiration alternating 24/25 crosses the NEWS2 band 2 -> 3 twenty times (a red flag: low).
    minutes = []
    for i in range(40):
        vitals = dict(CALM)
        vitals["respiratory_rate"] = 25 if (i // 1) % 2 == 0 else 24
        minutes.append(vitals)
    engine = AlertEngine("p-1")
    out = []
    # Feed NEWS2 directly (no smoothing) so every crossing reaches the engine.
    for i, vitals in enumerate(minutes):
        news2 = score({"respiratory_rate": vitals["respiratory_rate"], "spo2": 97,
                       "heart_rate": 70, "systolic_bp": 125, "body_temperature": 36.8,
                       "consciousness": "A", "supplemental_o2": False})  # fmt: skip
        assessment = Assessment(news2, DeviationResult(0.0, False))
        out.extend(engine.decide(assessment, event_ts=T0 + i * 60, now=T0 + i * 60))
    assert [m["status"] for m in out] == ["open"]
    assert out[0]["severity"] == "low"


def test_severity_rises_at_once_and_falls_only_after_the_hold() -> None:
    medium = dict(CALM, respiratory_rate=22, heart_rate=115, body_temperature=38.5)  # 2+2+1
    _, _, out = run([medium] * 10 + [SICK] * 10 + [medium] * 40 + [CALM] * 40)
    det = [(m["status"], m["severity"]) for m in out if m["kind"] == "deterioration"]
    assert det[0] == ("open", "medium")
    assert ("updated", "high") in det
    assert det.index(("updated", "high")) == 1
    # back to medium only after 30 minutes at medium, then resolved after 30 minutes calm
    assert det[2:] == [("updated", "medium"), ("resolved", "medium")]


def test_cooldown_and_deterministic_ids() -> None:
    assert alert_id("p-1", "deterioration", T0) == alert_id("p-1", "deterioration", T0)
    assert alert_id("p-1", "deterioration", T0) != alert_id("p-1", "deterioration", T0 + 60)
    policy = AlertPolicy(hold_s=600, cooldown_s=3600)
    state, engine = PatientState("p-1"), AlertEngine("p-1", policy)
    out = []
    plan = [SICK] * 5 + [CALM] * 15 + [SICK] * 5 + [CALM] * 80 + [SICK] * 5
    for i, vitals in enumerate(plan):
        ts = T0 + i * 60
        feed(state, vitals, ts)
        out.extend(
            m for m in engine.decide(state.assess(ts), ts, ts) if m["kind"] == "deterioration"
        )
    opens = [m for m in out if m["status"] == "open"]
    assert len(opens) == 2  # the relapse within the cooldown is not a new episode...
    assert opens[0]["alert_id"] != opens[1]["alert_id"]
    first = [m["status"] for m in out if m["alert_id"] == opens[0]["alert_id"]]
    assert first == ["open", "resolved", "updated", "resolved"]  # ...but it is never silent


def test_episode_state_round_trip_keeps_the_id() -> None:
    _, engine, _ = run([CALM] * 5 + [SICK] * 5)
    restored = AlertEngine("p-1")
    restored.load(engine.to_dict())
    assert restored.to_dict() == engine.to_dict()
    assert restored.open_episode


def test_battery_alerts_on_crossing_and_not_worn_is_technical() -> None:
    state, engine = PatientState("p-1"), AlertEngine("p-1", AlertPolicy(hold_s=600))
    feed(state, CALM, T0)
    out = []
    levels = [60, 40, 21, 19, 18, 17, 12, 6, 4, 3, 3, 80, 80] + [80] * 12
    for i, level in enumerate(levels):
        ts = T0 + i * 60
        device = {"battery": level, "worn": i < 20}
        out.extend(engine.decide(state.assess(ts), ts, ts, device))
    assert not [m for m in out if m["kind"] == "not_worn"]  # 5 minutes off: a charge, no alert
    for ts in (T0 + 3600, T0 + 2 * 3600 + 20 * 60):  # still off the wrist 2 hours later
        out.extend(engine.decide(state.assess(ts), ts, ts, {"battery": 80, "worn": False}))
    battery = [(m["status"], m["severity"]) for m in out if m["kind"] == "battery_low"]
    assert battery == [("open", "low"), ("updated", "medium"), ("resolved", "medium")]
    first = next(m for m in out if m["kind"] == "battery_low")
    assert "19 %" in first["summary"]
    messages.validate("alert", first)
    worn = [(m["status"], m["severity"]) for m in out if m["kind"] == "not_worn"]
    assert worn == [("open", "info")]
    assert not engine.open_episode  # technical alerts never hold the clinical models


def test_unacknowledged_alerts_escalate_once_and_acked_ones_do_not() -> None:
    state, engine, out = run([CALM] * 10 + [SICK] * 5)
    opened = next(m for m in out if m["status"] == "open")
    assessment = state.assess(T0 + 15 * 60)
    opened_at = engine.episodes["deterioration"].opened_at
    assert engine.escalate(assessment, now=opened_at + 600) == []
    (escalated,) = engine.escalate(assessment, now=opened_at + 901)
    assert (escalated["alert_id"], escalated["status"]) == (opened["alert_id"], "escalated")
    assert engine.escalate(assessment, now=opened_at + 2000) == []  # once

    state2, engine2, out2 = run([CALM] * 10 + [SICK] * 5)
    engine2.acknowledge(out2[0]["alert_id"], "actionable")
    opened_at2 = engine2.episodes["deterioration"].opened_at
    assert engine2.escalate(state2.assess(T0 + 900), now=opened_at2 + 901) == []


def test_not_actionable_verdicts_raise_the_deviation_bar_within_bounds() -> None:
    engine = AlertEngine("p-1", AlertPolicy(confirm_low_s=0))  # no alarm delay here
    calm_news2 = score({})
    deviating = Assessment(calm_news2, DeviationResult(3.4, True, [
        {"signal": "heart_rate", "value": 95, "baseline_mean": 62.0, "baseline_sd": 5.0,
         "z": 3.4, "n": 900}]))  # fmt: skip
    (opened,) = engine.decide(deviating, event_ts=T0, now=T0)
    assert opened["kind"] == "baseline_deviation"
    engine.acknowledge(opened["alert_id"], "not_actionable")
    assert engine.deviation_margin == 0.5
    assert engine.acknowledge(opened["alert_id"], "not_actionable") is None  # given once
    assert engine.deviation_margin == 0.5
    for _ in range(10):  # as if ten more episodes got the same verdict
        engine.episodes["baseline_deviation"].acked = False
        engine.acknowledge(opened["alert_id"], "not_actionable")
    assert engine.deviation_margin == 2.0  # bounded
    later = T0 + 10 * 3600  # after resolution and cooldown, the same 3.4 SD no longer pages
    calm = Assessment(calm_news2, DeviationResult(0.0, False))
    engine.decide(calm, event_ts=T0 + 3600, now=T0 + 3600)
    (resolved,) = engine.decide(calm, event_ts=T0 + 5600, now=T0 + 5600)
    assert resolved["status"] == "resolved"
    assert engine.decide(deviating, event_ts=later, now=later) == []
    sick_news2 = score({"respiratory_rate": 26, "heart_rate": 135, "spo2": 95})  # 7
    sick = Assessment(sick_news2, deviating.deviation)
    assert [m["kind"] for m in engine.decide(sick, later + 60, later + 60)] == ["deterioration"]


def _calm_assessment(**extra) -> Assessment:
    return Assessment(**{"news2": score({}), "deviation": DeviationResult(0.0, False), **extra})


def _risk(probability: float, examples: int, threshold: float | None = 0.5) -> RiskEstimate:
    return RiskEstimate(probability, f"lr-sgd-{examples}", ["news2_total"], threshold, examples)


def test_risk_alert_only_from_a_trained_model() -> None:
    engine = AlertEngine("p-1", AlertPolicy(risk_alerts=True))
    young = _calm_assessment(risk=_risk(0.95, 10))
    assert engine.decide(young, T0, T0) == []
    trained = _calm_assessment(risk=_risk(0.91, 400))
    (alert,) = engine.decide(trained, T0 + 60, T0 + 60)
    assert (alert["kind"], alert["severity"]) == ("risk", "medium")
    assert "91%" in alert["summary"]
    messages.validate("alert", alert)


def test_risk_alerts_are_off_by_default_and_held_by_the_precision_guard() -> None:
    risky = _risk(0.91, 400)
    assert AlertEngine("p-1").decide(_calm_assessment(risk=risky), T0, T0) == []
    on = AlertPolicy(risk_alerts=True)
    unproven = _calm_assessment(risk=_risk(0.91, 400, threshold=None))
    assert AlertEngine("p-1", on).decide(unproven, T0, T0) == []
    stricter = _calm_assessment(risk=_risk(0.91, 400, threshold=0.95))
    assert AlertEngine("p-1", on).decide(stricter, T0, T0) == []
    proven = _calm_assessment(risk=_risk(0.91, 400, threshold=0.85))
    assert [a["kind"] for a in AlertEngine("p-1", on).decide(proven, T0, T0)] == ["risk"]


def test_drift_of_resting_vitals_opens_a_trend_alert_that_names_the_signals() -> None:
    from online_models.drift import DriftResult

    signals = [{"signal": "respiratory_rate", "value": 19.5, "baseline_mean": 14.2,
                "baseline_sd": 0.8, "z": 6.6, "n": 7},
               {"signal": "spo2", "value": 93.1, "baseline_mean": 96.4, "baseline_sd": 0.7,
                "z": -4.7, "n": 7}]  # fmt: skip
    engine = AlertEngine("p-1")
    quiet = _calm_assessment(drift=DriftResult(0.0, False, []))
    assert engine.decide(quiet, T0, T0) == []
    drifting = _calm_assessment(drift=DriftResult(4.7, True, signals))
    (alert,) = engine.decide(drifting, T0 + 60, T0 + 60)
    assert (alert["kind"], alert["severity"]) == ("trend", "medium")
    assert "respiratory rate 19.5 vs usual 14.2" in alert["summary"]
    assert [s["signal"] for s in alert["explanation"]["signals"]] == ["respiratory_rate", "spo2"]
    messages.validate("alert", alert)


def test_trend_alert_for_the_decompensation_pattern() -> None:
    engine = AlertEngine("p-1")
    trends = {"resting_hr": {"mean_7d": 72.0, "mean_28d": 65.0, "delta": 7.0},
              "steps": {"mean_7d": 3000.0, "mean_28d": 6000.0, "delta": -3000.0},
              "sleep_min": {"mean_7d": 360.0, "mean_28d": 420.0, "delta": -60.0}}  # fmt: skip
    (alert,) = engine.decide(_calm_assessment(trends=trends), T0, T0)
    assert (alert["kind"], alert["severity"]) == ("trend", "medium")
    fitter = {**trends, "steps": {"mean_7d": 5800.0, "mean_28d": 6000.0, "delta": -200.0}}
    assert AlertEngine("p-2").decide(_calm_assessment(trends=fitter), T0, T0) == []


def test_device_offline_opens_on_silence_and_resolves_when_data_returns() -> None:
    engine = AlertEngine("p-1", AlertPolicy(offline_after_s=1800))
    calm = _calm_assessment()
    assert engine.check_offline(calm, last_received=T0, now=T0 + 1000) == []
    (offline,) = engine.check_offline(calm, last_received=T0, now=T0 + 1900)
    assert (offline["kind"], offline["status"]) == ("device_offline", "open")
    assert engine.check_offline(calm, last_received=T0, now=T0 + 2500) == []  # once
    assert not engine.open_episode  # technical
    back = engine.decide(calm, event_ts=T0 + 3000, now=T0 + 3000)
    assert [(m["kind"], m["status"]) for m in back] == [("device_offline", "resolved")]


def test_low_severity_waits_for_the_alarm_delay_medium_does_not() -> None:
    low = _calm_assessment(news2=score({"respiratory_rate": 7}))  # a single 3: low
    medium = _calm_assessment(
        news2=score({"respiratory_rate": 22, "heart_rate": 115, "body_temperature": 38.5})
    )  # 2+2+1: medium
    engine = AlertEngine("p-1")  # confirm_low_s = 600
    assert engine.decide(low, T0, T0) == []
    assert engine.decide(low, T0 + 300, T0 + 300) == []  # 5 minutes: not yet
    for ts in (T0 + 1200, T0 + 1500):  # normal for 15 minutes: the clock starts again
        assert engine.decide(_calm_assessment(), ts, ts) == []
    assert engine.decide(low, T0 + 1800, T0 + 1800) == []
    engine.decide(_calm_assessment(), T0 + 2100, T0 + 2100)  # one normal reading in between
    (opened,) = engine.decide(low, T0 + 2400, T0 + 2400)  # present for 10 minutes: opens
    assert (opened["status"], opened["severity"]) == ("open", "low")
    other = AlertEngine("p-2")
    (at_once,) = other.decide(medium, T0, T0)
    assert at_once["severity"] == "medium"


def test_a_single_red_parameter_in_sleep_must_last_30_minutes() -> None:
    """A wrist oximeter sees the brief desaturations of normal sleep: asleep, a single red
    SpO2 opens after 30 minutes, not 10; awake, after 10; an aggregate band at once."""
    red = {"spo2": 90}  # a single 3: low
    asleep = _calm_assessment(news2=score(red), asleep=True)
    night = AlertEngine("p-1")
    for minute in range(0, 30, 5):
        assert night.decide(asleep, T0 + minute * 60, T0 + minute * 60) == []
    (opened,) = night.decide(asleep, T0 + 1800, T0 + 1800)
    assert (opened["kind"], opened["severity"]) == ("deterioration", "low")
    day = AlertEngine("p-2")
    assert day.decide(_calm_assessment(news2=score(red)), T0, T0) == []
    assert len(day.decide(_calm_assessment(news2=score(red)), T0 + 600, T0 + 600)) == 1
    sick = _calm_assessment(news2=score({**red, "respiratory_rate": 22}),
                            asleep=True)  # fmt: skip
    (at_once,) = AlertEngine("p-3").decide(sick, T0, T0)
    assert at_once["severity"] == "medium"


@pytest.mark.parametrize(
    ("news2", "signals", "kind", "delay_min"),
    [
        ({"heart_rate": 140}, [], "deterioration", 60),  # a run, as far as anyone knows
        ({"heart_rate": 140, "respiratory_rate": 26}, [], "deterioration", 60),  # 6: medium
        ({"heart_rate": 140, "body_temperature": 38.5}, [], "deterioration", 10),  # a fever in it
        ({"spo2": 90}, [], "deterioration", 10),  # exercise does not desaturate
        ({}, ["heart_rate"], "baseline_deviation", 60),
        ({}, ["heart_rate", "hrv_rmssd"], "baseline_deviation", 60),
        ({}, ["heart_rate", "spo2"], "baseline_deviation", 0),
    ],
)
def test_without_step_counts_what_exercise_explains_must_outlast_a_bout_of_it(
    news2: dict[str, Any], signals: list[str], kind: str, delay_min: int
) -> None:
    """A device that sends no step counts cannot tell a run from a tachycardia at rest: what
    heart rate, respiration and HRV alone raise opens after an hour; anything else as before."""
    explained = [{"signal": s, "value": 0.0, "baseline_mean": 0.0, "baseline_sd": 1.0,
                  "z": 7.0, "n": 500} for s in signals]  # fmt: skip
    deviation = DeviationResult(7.0, True, explained) if signals else DeviationResult(0.0, False)
    for unknown, expected in ((True, delay_min), (False, None)):
        assessment = _calm_assessment(news2=score(news2), deviation=deviation,
                                      activity_unknown=unknown, no_step_counts=unknown)  # fmt: skip
        engine = AlertEngine("p-1")
        opened_at = next(
            minute
            for minute in range(0, 121, 5)
            if engine.decide(assessment, T0 + minute * 60, T0 + minute * 60)
        )
        known = 10 if score(news2).risk == "low-medium" else 0  # the delays of a known context
        assert opened_at == (expected if expected is not None else known), (news2, signals)
        assert kind in engine.episodes


def test_a_sudden_deviation_waits_for_exercise_a_change_hours_in_the_making_does_not() -> None:
    """A deviation is sustained for 30 minutes before it counts: a change that has been
    building for hours is no bout of exercise and opens as before (a fever's heart-rate rise is
    seen an hour earlier for it). One that went from calm to far out — a bike ride, a sauna
    with no steps counted, a gym session with a few — opens only 90 minutes after its signals
    were last calm (the bout and the recovery after it), unless an HRV reading says the rhythm
    is irregular, and not while its latest readings are back to calm. Where a low step count
    reaches the moment, only heart rate alone waits (breathing that quickens with it is the
    hypoxaemia and sepsis pattern); asleep nothing does; no step counts for 12 hours always
    waits an hour."""
    heart = {"signal": "heart_rate", "value": 95.0, "baseline_mean": 65.0, "baseline_sd": 5.0,
             "z": 6.0, "n": 500}  # fmt: skip
    breath = {**heart, "signal": "respiratory_rate", "value": 24.0, "baseline_mean": 15.0}

    def opened_at(signals: tuple[dict[str, Any], ...] = (heart,), unknown: bool = True,
                  asleep: bool = False, steps: bool = True,
                  **deviation: Any) -> int | None:  # fmt: skip
        result = DeviationResult(6.0, True, list(signals), **deviation)
        assessment = _calm_assessment(deviation=result, activity_unknown=unknown,
                                      asleep=asleep, no_step_counts=not steps)  # fmt: skip
        engine = AlertEngine("p-1", AlertPolicy(confirm_low_s=0))
        at = [T0 + m * 60 for m in range(0, 121, 5)]
        minutes = (round((t - T0) / 60) for t in at if engine.decide(assessment, t, t))
        return next(minutes, None)

    sudden = T0 - 20 * 60
    assert opened_at() == 0  # nothing says when it began: as before
    assert opened_at(calm_until=T0 - 3 * 3600) == 0  # hours in the making
    assert opened_at(calm_until=sudden) == 70  # 90 minutes after calm
    assert opened_at(calm_until=sudden, irregular=True) == 0  # not exercise
    assert opened_at(calm_until=sudden, settled=True) is None  # the bout is over
    assert opened_at(calm_until=sudden, unknown=False) == 70  # a gym's few steps
    assert opened_at((heart, breath), calm_until=sudden, unknown=False) == 0
    assert opened_at((heart, breath), calm_until=sudden) == 70  # no steps: a ride
    assert opened_at(calm_until=sudden, unknown=False, asleep=True) == 0
    assert opened_at(calm_until=T0 - 3 * 3600, steps=False) == 60


def test_a_red_flag_that_is_the_patients_normal_does_not_page_an_aggregate_does() -> None:
    slow = score({"heart_rate": 39})  # a single 3: the low band
    policy = AlertPolicy(confirm_low_s=0)
    assert AlertEngine("p-1", policy).decide(_calm_assessment(news2=slow, usual=frozenset(
        {"heart_rate"})), T0, T0) == []  # fmt: skip
    (alert,) = AlertEngine("p-1", policy).decide(_calm_assessment(news2=slow), T0, T0)
    assert (alert["kind"], alert["severity"]) == ("deterioration", "low")
    sick = score({"heart_rate": 39, "respiratory_rate": 23, "spo2": 93})  # 3 + 2 + 2 = 7
    usual_but_sick = _calm_assessment(news2=sick, usual=frozenset({"heart_rate"}))
    (alert,) = AlertEngine("p-1", policy).decide(usual_but_sick, T0, T0)
    assert alert["severity"] == "high"


def test_daily_cap_spares_news2_high() -> None:
    engine = AlertEngine("p-1", AlertPolicy(daily_cap=2, hold_s=60, cooldown_s=0,
                                            confirm_low_s=0))  # fmt: skip
    low_news2 = _calm_assessment(news2=score({"respiratory_rate": 7}))  # a single 3
    opened = 0
    for i in range(6):  # six separate low episodes in a day
        ts = T0 + i * 1200
        opened += sum(m["status"] == "open" for m in engine.decide(low_news2, ts, ts))
        engine.decide(_calm_assessment(), ts + 100, ts + 100)
        engine.decide(_calm_assessment(), ts + 200, ts + 200)
    assert opened == 2 and engine.suppressed == 4
    high = _calm_assessment(news2=score({"respiratory_rate": 26, "heart_rate": 135, "spo2": 91}))
    assert [m["severity"] for m in engine.decide(high, T0 + 9000, T0 + 9000)] == ["high"]


def test_status_tells_the_suggestion_gate_what_is_open_resolved_and_pending() -> None:
    state, engine = PatientState("p-gate", {"age": 60}), AlertEngine("p-gate")
    assert engine.status() == AlertStatus()
    for minute in range(30):  # a high deterioration episode, then calm until it resolves
        feed(state, SICK if minute < 10 else CALM, T0 + minute * 60)
        engine.decide(state.assess(T0 + minute * 60), T0 + minute * 60, T0 + minute * 60)
        if minute == 5:
            assert engine.status().open
    t = T0 + 29 * 60
    while engine.status().open:
        t += 300
        feed(state, CALM, t)
        engine.decide(state.assess(t), t, t)
    status = engine.status()
    assert status.resolved_at == t and status.resolved_low_at is None  # it peaked high
