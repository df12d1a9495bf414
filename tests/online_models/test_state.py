from __future__ import annotations

import zlib

import orjson
import pytest

from online_models import state as state_module
from online_models.state import STATE_VERSION, PatientState, rmssd, spo2_scale

T0 = 1_800_000_000.0


def reading(signal: str, value, ts: float, end_ts: float | None = None) -> dict:
    return {"signal": signal, "value": value, "ts": ts, "end_ts": end_ts}


def warm_state(days: int = 2) -> PatientState:
    s = PatientState("p-1", {"age": 60, "sex": "M", "consent": True})
    for m in range(0, days * 1440, 5):
        ts = T0 + m * 60
        s.update(reading("heart_rate", 62 + (m % 3), ts), now=ts)
        s.update(reading("respiratory_rate", 14 + (m % 2), ts), now=ts)
        s.update(reading("spo2", 97 - (m % 2), ts), now=ts)
    return s


def test_news2_uses_fresh_values_and_reports_missing() -> None:
    s = PatientState("p-1")
    s.update(reading("respiratory_rate", 26, T0), now=T0)
    s.update(reading("heart_rate", 125, T0), now=T0)
    s.update(reading("blood_pressure", {"systolic": 95, "diastolic": 60}, T0), now=T0)
    s.update(reading("body_temperature", 39.2, T0), now=T0)
    s.update(reading("spo2", 90, T0), now=T0)
    s.update(reading("supplemental_o2", False, T0), now=T0)
    s.update(reading("consciousness", "A", T0), now=T0)
    assert s.news2(T0).total == 12 and s.news2(T0).missing == []
    later = s.news2(T0 + 3600)  # an hour later the wearable values have expired, spot checks not
    assert set(later.missing) == {"respiratory_rate", "spo2", "heart_rate"}
    assert later.total == 2 + 2  # systolic 95 and temperature 39.2 are still valid


def test_smoothing_ignores_a_single_artefact() -> None:
    s = PatientState("p-1")
    for m in range(10):
        s.update(reading("heart_rate", 70, T0 + m * 60), now=T0 + m * 60)
    s.update(reading("heart_rate", 140, T0 + 600), now=T0 + 600)  # one motion artefact
    assert s.news2(T0 + 600).subscores["heart_rate"] <= 1


def test_scale_2_from_profile() -> None:
    assert spo2_scale({"conditions": ["hypercapnic_respiratory_failure"]}) == 2
    assert spo2_scale({"spo2_scale": 1, "conditions": ["hypercapnic_respiratory_failure"]}) == 1
    assert spo2_scale(None) == 1
    s = PatientState("p-2", {"conditions": ["hypercapnic_respiratory_failure"]})
    s.update(reading("spo2", 89, T0), now=T0)
    assert s.news2(T0).scale == 2 and s.news2(T0).subscores["spo2"] == 0


def test_rr_intervals_become_rmssd_and_bp_systolic() -> None:
    assert rmssd([800.0]) is None
    s = PatientState("p-1")
    s.update(reading("rr_intervals", [800, 810, 790, 805], T0), now=T0)
    assert s.latest["hrv_rmssd"][0] == pytest.approx(15.55, abs=0.01)
    s.update(reading("blood_pressure", {"systolic": 130, "diastolic": 85}, T0), now=T0)
    assert s.latest["systolic_bp"][0] == 130 and s.latest["diastolic_bp"][0] == 85


def test_context_from_sleep_and_steps() -> None:
    s = PatientState("p-1")
    s.update(reading("sleep", {"stage": "deep"}, T0, T0 + 3600), now=T0 + 3600)
    s.update(reading("steps", 120, T0 + 7200, T0 + 7260), now=T0 + 7260)
    assert s.context(T0 + 1800) == "asleep"
    assert s.context(T0 + 7300) == "active"
    assert s.context(T0 + 7260 + 700) == "rest"


def test_a_patient_awake_before_their_usual_hour_is_at_rest_not_asleep() -> None:
    """The habitual window says "asleep" until its usual end; a reported night that already
    ended says the patient woke early: a heart rate 15 bpm above their sleeping one is an
    ordinary morning in bed, not a deviation from sleep. The nights here, 07:00-15:00 UTC
    (a patient in Honolulu or Auckland), span noon UTC, where the window wraps."""
    s = PatientState("p-1")
    for night in range(3):  # 07:00 to 15:00 UTC
        start = T0 + night * 86400 - 3600
        s.update(reading("sleep", {"stage": "light"}, start, start + 8 * 3600),
                 now=start + 8 * 3600)  # fmt: skip
    tonight = T0 + 3 * 86400 - 3600
    assert s.context(tonight + 5 * 3600) == "asleep"  # 12:00 UTC, no report yet: the habit
    s.update(reading("sleep", {"stage": "deep"}, tonight, tonight + 5 * 3600),
             now=tonight + 5 * 3600)  # fmt: skip
    assert s.context(tonight + 5 * 3600 + 600) == "rest"  # the night reported over at 12:00
    assert s.context(tonight + 24 * 3600 + 3600) == "asleep"  # the next night: the habit again


def test_heart_rate_alone_on_a_walk_is_not_a_sustained_change() -> None:
    """Walking (a step count of 40+ a minute) explains a heart rate far above the walking
    baseline (a hike uphill, stairs): an hour of it, alone, does not corroborate; at rest the
    same hour does (one signal sustained 30 minutes beyond 4 SD)."""
    hiked, sat = PatientState("p-1"), PatientState("p-1")
    for state in (hiked, sat):
        for minute in range(0, 2 * 1440, 2):  # two days, ten minutes of each hour on foot
            ts = T0 + minute * 60
            if minute % 60 < 10:
                state.update(reading("steps", 180, ts, ts + 120), now=ts + 120)
            walking = minute % 60 < 10
            state.update(reading("heart_rate", (90 if walking else 64) + minute % 3, ts + 60),
                         now=ts + 120)  # fmt: skip
    start = T0 + 2 * 86400 + 20 * 60
    for minute in range(60):
        ts = start + minute * 60
        hiked.update(reading("steps", 90, ts, ts + 60), now=ts + 60)
        for state in (hiked, sat):
            state.update(reading("heart_rate", 160, ts + 30), now=ts + 60)
    assert hiked.context(start + 1800) == "active"
    assert hiked.baselines.reference("heart_rate", "active").warm
    assert hiked.deviation.current_z(start + 3600)["heart_rate"] > 4  # far out, and explained
    assert not hiked.assess(start + 3600).deviation.corroborated
    assert sat.assess(start + 3600).deviation.corroborated


def test_the_activity_is_unknown_where_no_step_count_reaches_and_the_patient_is_awake() -> None:
    s = PatientState("p-1")
    s.update(reading("heart_rate", 140, T0), now=T0)
    assert s.assess(T0).activity_unknown  # nothing says whether this is a run
    assert s.assess(T0).no_step_counts
    s.update(reading("steps", 10, T0 - 240, T0 + 60), now=T0 + 60)
    assert not s.assess(T0).activity_unknown  # a step block reaches it: a slow stroll, at rest
    later = s.assess(T0 + 60 + 301)
    assert later.activity_unknown and not later.no_step_counts  # five minutes on: unknown again
    assert s.assess(T0 + 60 + 12 * 3600 + 1).no_step_counts  # no step counts for 12 hours
    s.update(reading("sleep", {"stage": "light"}, T0 + 3600, T0 + 7200), now=T0 + 7200)
    assert not s.assess(T0 + 5400).activity_unknown  # asleep: nobody runs in their sleep
    restored, _ = PatientState.from_bytes(s.to_bytes(), "p-1")
    assert restored.activity.steps_until == T0 + 60 and not restored.assess(T0).activity_unknown


def test_baseline_does_not_learn_during_a_corroborated_deviation() -> None:
    s = warm_state()
    hr_before = s.baselines.reference("heart_rate", "rest").mean
    end = T0 + 2 * 1440 * 60
    for m in range(60):  # an hour of tachycardia and tachypnoea
        ts = end + m * 60
        s.update(reading("heart_rate", 120, ts), now=ts)
        s.update(reading("respiratory_rate", 28, ts), now=ts)
    assessment = s.assess(end + 3600)
    assert assessment.deviation.corroborated
    assert {e["signal"] for e in assessment.deviation.signals} >= {"heart_rate", "respiratory_rate"}
    assert s.baselines.reference("heart_rate", "rest").mean - hr_before < 1.0


def test_learning_flag_holds_baselines() -> None:
    s = warm_state()
    s.learning = False
    n_before = s.baselines.reference("heart_rate", "rest").n
    s.update(reading("heart_rate", 63, T0 + 3 * 86400), now=T0 + 3 * 86400)
    assert s.baselines.reference("heart_rate", "rest").n == n_before


def test_round_trip_is_exact_and_compact() -> None:
    s = warm_state()
    s.mark_applied(3, 1234)
    blob = s.to_bytes()
    restored, how = PatientState.from_bytes(blob, "p-1")
    assert how == "restored"
    assert restored.to_dict() == s.to_dict()
    assert restored.already_applied(3, 1234) and not restored.already_applied(3, 1235)
    assert len(blob) < 20_000


def test_other_versions_migrate_or_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    s = warm_state(days=1)
    doc = s.to_dict()
    old = {**doc, "v": 0}
    old.pop("learn")  # pretend version 0 had no learning flag
    blob = b"VS\x00" + zlib.compress(orjson.dumps(old))
    rebuilt, how = PatientState.from_bytes(blob, "p-1")  # no migration from 0 is known
    assert how == "rebuilt" and rebuilt.n_readings == 0

    monkeypatch.setitem(state_module.MIGRATIONS, 0, lambda d: {**d, "v": STATE_VERSION,
                                                               "learn": True})  # fmt: skip
    migrated, how = PatientState.from_bytes(blob, "p-1")
    assert how == "migrated" and migrated.n_readings == s.n_readings
    for garbage in (b"", b"VS\x01not zlib", b"\x80\x04pickle"):
        assert PatientState.from_bytes(garbage, "p-1")[1] == "rebuilt"
    assert PatientState.from_bytes(s.to_bytes(), "someone-else")[1] == "rebuilt"


def test_snapshot_has_the_api_shape() -> None:
    snap = warm_state().snapshot(T0 + 2 * 86400)
    assert set(snap) >= {"patient_id", "latest", "baselines", "phenotype", "news2"}
    hr = snap["baselines"]["heart_rate/rest"]
    assert hr["warm"] is True and hr["n"] > 500 and 62 <= hr["mean"] <= 64
    assert snap["latest"]["heart_rate"]["value"] in (62, 63, 64)


def test_a_replayed_copy_is_not_applied_twice_even_after_a_checkpoint() -> None:
    s = PatientState("p-1")
    r = reading("heart_rate", 72.0, T0)
    assert s.update(r, now=T0 + 5) is True
    restored, _ = PatientState.from_bytes(s.to_bytes(), "p-1")  # the new owner
    assert restored.update(dict(r), now=T0 + 65) is False
    assert restored.n_readings == 1 and restored.duplicates == 1
    assert restored.update(reading("heart_rate", 73.0, T0), now=T0 + 66) is True  # other value
    assert restored.update(dict(r), now=T0 + 5 + 901) is True  # outside the replay window


def test_snapshots_are_labelled_by_outcomes_and_feed_the_risk_model() -> None:
    from online_models.risk import RiskModel

    s = warm_state(days=2)
    end = T0 + 2 * 86400
    for h in range(30):  # hourly snapshots over 30 h
        s.update(reading("heart_rate", 64, end + h * 3600), now=end + h * 3600)
        assert s.maybe_snapshot(end + h * 3600)
    assert not s.maybe_snapshot(end + 29 * 3600 + 60)  # not yet an hour later
    assert len(s.snapshots) == 26  # the horizon (24 h) and one more hour
    examples = s.label("deterioration", ts=end + 29 * 3600 + 1800)
    assert [y for _, y in examples].count(True) == 24 and len(examples) == 26  # 6 h..29 h
    assert s.snapshots == []
    model = RiskModel()
    for x, y in examples:
        model.learn_one(x, y)
    assert model.examples == 26
    assessment = s.assess(end + 30 * 3600, model)
    assert assessment.risk is not None and 0.0 <= assessment.risk.probability <= 1.0
    assert assessment.risk.model_version == "lr-sgd-26" and assessment.risk.examples == 26
    restored, _ = PatientState.from_bytes(s.to_bytes(), "p-1")
    assert restored.snapshots == s.snapshots


def test_multivariate_anomaly_learns_the_patients_pattern_and_survives_a_checkpoint() -> None:
    s = warm_state(days=2)  # 2 days of 5-minute vitals: the first HST window is complete
    now = T0 + 2 * 86400
    assert s.anomaly.first_window is False
    normal = {"heart_rate": 63.0, "respiratory_rate": 14.5, "spo2": 96.5}
    odd = {"heart_rate": 118.0, "respiratory_rate": 27.0, "spo2": 91.0}
    assert s.anomaly.score_one(odd) > 0.75 > s.anomaly.score_one(normal)
    restored, _ = PatientState.from_bytes(s.to_bytes(), "p-1")
    assert restored.anomaly.score_one(odd) == s.anomaly.score_one(odd)
    # One deviating signal plus an anomalous joint pattern is corroborated.
    for m in range(0, 20, 5):
        ts = now + m * 60
        s.update(reading("heart_rate", 118, ts), now=ts)
        s.update(reading("respiratory_rate", 15, ts), now=ts)
        s.update(reading("spo2", 96, ts), now=ts)
    assert s.assess(now + 20 * 60).deviation.corroborated


def test_a_red_heart_rate_that_is_this_patients_normal_is_marked_usual() -> None:
    s = PatientState("p-1")
    for i in range(40):  # two days of resting heart rates around 41 (beta-blocked, at rest)
        ts = T0 + i * 3600
        s.update(reading("heart_rate", 40.0 + i % 3, ts), now=ts)
    now = T0 + 40 * 3600
    for k in range(3):
        s.update(reading("heart_rate", 40.0, now + k * 60), now=now + k * 60)
    news2 = s.news2(now + 120)
    assert news2.subscores["heart_rate"] == 3
    assert s.assess(now + 120).usual == {"heart_rate"}
    fresh = PatientState("p-2")  # no warm baseline: nothing is usual yet
    for k in range(3):
        fresh.update(reading("heart_rate", 40.0, now + k * 60), now=now + k * 60)
    assert fresh.assess(now + 120).usual == frozenset()
    for k in range(3, 6):  # a drop to 30 is not this patient's normal
        s.update(reading("heart_rate", 30.0, now + k * 60), now=now + k * 60)
    assert s.assess(now + 300).usual == frozenset()


def test_a_low_systolic_pressure_that_is_this_patients_normal_is_marked_usual() -> None:
    """Constitutional hypotension: a young adult whose cuff reads 88-93 morning and evening.
    Once ten readings over three days make the personal baseline warm, a systolic of 89
    (NEWS2 3) is their normal; a fall to 75 is not, nor is 89 for someone whose usual is 125,
    nor a systolic of 220 or more however usual."""

    def cuff(state: PatientState, systolic: float, ts: float) -> None:
        value = {"systolic": systolic, "diastolic": 60.0}
        state.update({**reading("blood_pressure", 0.0, ts), "value": value}, now=ts)

    low = PatientState("p-1", {"age": 25, "sex": "F"})
    for i in range(8):  # four days, twice a day: warm only after ten readings
        cuff(low, 88.0 + (i * 5) % 6, T0 + i * 43_200)
    now = T0 + 8 * 43_200
    cuff(low, 89.0, now)
    assert low.news2(now).subscores["systolic_bp"] == 3
    assert low.assess(now).usual == frozenset()  # nine readings: the prior (~115) stands in
    cuff(low, 90.0, now + 60)
    cuff(low, 89.0, now + 120)
    assert low.baselines.summary()["systolic_bp"]["warm"]
    assert low.assess(now + 120).usual == {"systolic_bp"}
    cuff(low, 75.0, now + 180)
    assert low.assess(now + 180).usual == frozenset()
    usual_125 = PatientState("p-2", {"age": 25, "sex": "F"})
    for i in range(12):
        cuff(usual_125, 122.0 + i % 6, T0 + i * 28_800)  # 3.7 days, all before ``now``
    cuff(usual_125, 89.0, now + 120)
    assert usual_125.baselines.reference("systolic_bp").warm
    assert usual_125.news2(now + 120).subscores["systolic_bp"] == 3
    assert usual_125.assess(now + 120).usual == frozenset()
    severe = PatientState("p-3", {"age": 70, "sex": "M"})  # a baseline of 215-225 every day
    for i in range(12):  # learned directly: so far from the prior, the state would not learn it
        severe.baselines.learn_one("systolic_bp", 215.0 + (i * 3) % 11, T0 + i * 28_800)
    cuff(severe, 222.0, now + 120)
    assert severe.baselines.reference("systolic_bp").warm
    assert severe.news2(now + 120).subscores["systolic_bp"] == 3
    assert severe.assess(now + 120).usual == frozenset()  # never this patient's "normal"


def test_a_run_whose_step_count_arrives_after_its_heart_rate_is_not_a_tachycardia() -> None:
    """Watches stream heart rate as it is measured and send a step block when it closes: the
    first minutes of a run reach the state as resting readings. The step count that arrives
    then takes them back out of NEWS2 and the deviation, so a run pages nobody (free-living
    data), while the same heart rate with no steps still scores."""
    ran, sat = warm_state(), warm_state()
    start = T0 + 2 * 86400
    for state in (ran, sat):
        for minute in range(5):
            ts = start + minute * 60
            state.update(reading("heart_rate", 150, ts), now=ts)
            state.update(reading("respiratory_rate", 24, ts), now=ts)
        assert state.news2(start + 240).subscores["heart_rate"] == 3
    ran.update(reading("steps", 800, start, start + 300), now=start + 300)  # 160 steps/min
    assert "heart_rate" in ran.news2(start + 300).missing  # no resting value in these minutes
    assert "heart_rate" not in ran.deviation.current_z(start + 300)
    assert not ran.assess(start + 35 * 60).deviation.corroborated
    assert sat.news2(start + 300).subscores["heart_rate"] == 3  # no steps: still a finding
    assert sat.deviation.current_z(start + 300)["heart_rate"] > 4


def test_a_watchs_hourly_spo2_outlier_does_not_page_a_second_low_reading_does() -> None:
    """Consumer watches measure SpO2 in the background about once an hour, with an occasional
    low outlier. One such reading neither scores through the median nor pages as a red flag,
    nor counts as a sustained deviation; a second low reading an hour later is a finding."""
    from alerts.engine import AlertEngine

    s, engine = PatientState("p-1", {"age": 60, "sex": "M", "consent": True}), AlertEngine("p-1")
    opened: list[tuple[float, str]] = []

    def minute(m: int, spo2: float | None = None) -> None:
        ts = T0 + m * 60
        s.update(reading("heart_rate", 64 + m % 3, ts), now=ts)
        if spo2 is not None:
            s.update(reading("spo2", spo2, ts), now=ts)
        opened.extend((ts, a["kind"]) for a in engine.decide(s.assess(ts), ts, ts)
                      if a["status"] == "open")  # fmt: skip

    for m in range(0, 3 * 1440, 5):  # three days: hourly SpO2 96-97
        minute(m, 96 + (m // 60) % 2 if m % 60 == 0 else None)
    outlier = 3 * 1440
    for m in range(outlier, outlier + 60, 5):
        minute(m, 89 if m == outlier else None)
    assert opened == []
    assert s.news2(T0 + outlier * 60).subscores["spo2"] == 0  # median of 96, 97 and 89
    assert not s.deviation.score(T0 + (outlier + 31) * 60).corroborated  # one reading
    for m in range(outlier + 60, outlier + 90, 5):  # the next hourly reading is low too
        minute(m, 89 if m == outlier + 60 else None)
    assert [kind for _, kind in opened] == ["deterioration"]


def test_a_red_flag_resting_on_one_reading_waits_for_a_second_an_aggregate_does_not() -> None:
    """The first SpO2 reading after a gap (or ever) scores, but alone it does not page; with a
    fast breath beside it the aggregate band pages at once."""
    from alerts.engine import AlertEngine

    alone, engine = PatientState("p-1"), AlertEngine("p-1")
    alone.update(reading("spo2", 89, T0), now=T0)
    for m in range(0, 15, 5):
        ts = T0 + m * 60
        alone.update(reading("heart_rate", 70, ts), now=ts)
        assessment = alone.assess(ts)
        assert assessment.news2.subscores["spo2"] == 3 and assessment.unconfirmed == {"spo2"}
        assert engine.decide(assessment, ts, ts) == []
    alone.update(reading("spo2", 88, T0 + 900), now=T0 + 900)  # confirmed by a second
    assert alone.assess(T0 + 900).unconfirmed == frozenset()
    sick = PatientState("p-2")
    sick.update(reading("spo2", 89, T0), now=T0)
    sick.update(reading("respiratory_rate", 25, T0), now=T0)  # 3 + 3: medium, at once
    (opened,) = AlertEngine("p-2").decide(sick.assess(T0), T0, T0)
    assert (opened["kind"], opened["severity"]) == ("deterioration", "medium")


def test_step_blocks_of_a_walk_already_known_do_not_wipe_its_active_readings() -> None:
    """Only readings taken as resting are taken back: once a walk is known, its heart rates are
    compared with the active baseline and stay in the deviation as further step blocks come."""
    s = warm_state()
    start = T0 + 2 * 86400
    s.update(reading("steps", 100, start, start + 60), now=start + 60)  # the walk begins
    for minute in range(1, 10):
        ts = start + minute * 60
        s.update(reading("heart_rate", 105, ts + 30), now=ts + 30)  # active context
        kept = s.deviation.signals["heart_rate"]
        s.update(reading("steps", 100, ts, ts + 60), now=ts + 60)  # the next block, in order
        assert s.deviation.signals.get("heart_rate") is kept


def test_a_copy_is_skipped_within_the_replay_window_and_applied_after_it() -> None:
    """A reading applied again within 15 minutes of processing time is a redelivered copy; the
    same reading later is news (a device resent it after reconnecting). The memory keeps only
    the window's digests, before and after a checkpoint is restored."""
    window = state_module.REPLAY_WINDOW_S
    reading = {"signal": "heart_rate", "value": 70.0, "ts": T0, "end_ts": None}
    s = PatientState("p-1")
    assert s.update(reading, now=T0) is True
    assert s.update(reading, now=T0 + window - 1) is False  # a copy
    for i in range(1, 5):  # other readings, a minute apart
        s.update({**reading, "ts": T0 + 60 * i}, now=T0 + window + 60 * i)
    assert s.update(reading, now=T0 + window + 300) is True  # the first digest expired
    assert len(s.recent) == 5  # applied at +960, +1020, +1080, +1140, +1200 s
    restored = PatientState.from_bytes(s.to_bytes(), "p-1")[0]
    later = T0 + 1100 + window  # all but the last two are older than the window
    assert restored.update({**reading, "ts": T0 + 600}, now=later) is True
    assert len(restored.recent) == 3
    assert restored.update({**reading, "ts": T0 + 240}, now=later) is False  # still held


def test_a_logged_workout_is_effort_not_a_tachycardia() -> None:
    """A ride counts no steps: without its log, an hour at 130 bpm at "rest" is a sustained
    change and a red NEWS2 heart rate. Logged (before its readings, as a replay sees it, or
    after them, as a watch writes a workout when it ends), the same hour scores nothing, and
    the half hour after it is recovery; the patient is at rest again after that."""
    logged_first, logged_after, unlogged = warm_state(), warm_state(), warm_state()
    start = T0 + 2 * 86400
    end = start + 3600
    logged_first.update(reading("exercise", {"activity": "cycling"}, start, end), now=start)
    for state in (logged_first, logged_after, unlogged):
        for minute in range(60):
            ts = start + minute * 60
            state.update(reading("heart_rate", 132 + minute % 3, ts), now=ts)
    logged_after.update(reading("exercise", {"activity": "cycling"}, start, end), now=end)
    assert unlogged.assess(end).deviation.corroborated
    assert unlogged.news2(end).subscores["heart_rate"] == 3
    for state in (logged_first, logged_after):
        assert state.context(start + 1800) == "active" and state.activity.exercising(end + 1700)
        assert not state.assess(end).deviation.corroborated
        assert "heart_rate" in state.news2(end).missing  # no resting value in the ride
        assert state.context(end + 1900) == "rest"
        # The ride taught the resting baseline nothing.
        assert state.baselines.reference("heart_rate", "rest").mean < 70
    restored, _ = PatientState.from_bytes(logged_after.to_bytes(), "p-1")
    assert restored.activity.workouts == logged_after.activity.workouts


def test_a_workout_under_way_sent_again_with_a_later_end_extends_it() -> None:
    """A phone that knows a workout is under way sends it as it goes: the same start and
    activity with the end so far. The second report is not a replayed copy of the first."""
    s = warm_state()
    start = T0 + 2 * 86400
    s.update(reading("exercise", {"activity": "strength"}, start, start + 600), now=start + 600)
    s.update(reading("exercise", {"activity": "strength"}, start, start + 3000), now=start + 3000)
    assert s.activity.workouts == [[start, start + 3000 + 1800]]
    assert s.activity.exercising(start + 4500) and not s.activity.exercising(start + 5000)
