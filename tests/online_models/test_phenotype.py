"""Phenotype features against values computed by hand on a small fixed day."""

from __future__ import annotations

import math

import pytest

from online_models.phenotype import DAY_S, Phenotype

D0 = 20_000 * DAY_S  # a UTC midnight


def test_a_small_fixed_day() -> None:
    p = Phenotype()
    # Sleep 23:00-07:00 the night before, reported as two staged spans ending on day 0.
    p.learn_one("sleep", {"stage": "light"}, ts=D0 - 3600, end_ts=D0 + 3 * 3600)  # 240 min
    p.learn_one("sleep", {"stage": "awake"}, ts=D0 + 3 * 3600, end_ts=D0 + 3.5 * 3600)  # 30
    p.learn_one("sleep", {"stage": "deep"}, ts=D0 + 3.5 * 3600, end_ts=D0 + 7 * 3600)  # 210
    # 08:00-08:30 walking at 110/min, 08:30-09:30 no steps, then a 10-minute stroll at 50/min.
    for m in range(30):
        p.learn_one("steps", 110, ts=D0 + 8 * 3600 + m * 60, end_ts=D0 + 8 * 3600 + m * 60 + 60)
    for m in range(60):
        p.learn_one("steps", 0, ts=D0 + 8.5 * 3600 + m * 60, end_ts=D0 + 8.5 * 3600 + m * 60 + 60)
    for m in range(10):
        t = D0 + 9.5 * 3600 + m * 60
        p.learn_one("steps", 50, ts=t, end_ts=t + 60)
    # Resting heart rate: 25 readings at rest; the 20 lowest are 60..79, mean 69.5.
    for i, hr in enumerate(range(60, 85)):
        p.learn_one("heart_rate", hr, ts=D0 + 10 * 3600 + i * 60, context="rest")
    p.learn_one("heart_rate", 50, ts=D0 + 11 * 3600, context="active")  # not resting
    p.learn_one("hrv_rmssd", 30.0, ts=D0 + 12 * 3600)
    p.learn_one("hrv_rmssd", 40.0, ts=D0 + 12 * 3600 + 60)

    day = p.day_features(D0 + 1)
    assert day["steps"] == 30 * 110 + 10 * 50
    assert day["active_min"] == 30.0
    # Still from waking (07:00) to the walk (08:00), and from 08:30 to the stroll at 09:30.
    assert day["sedentary_bouts"] == 2 and day["sedentary_min"] == 120.0
    assert day["resting_hr"] == 69.5
    assert day["hrv"] == 35.0
    # The whole night counts on day 0, the day the patient woke up.
    assert day["sleep_min"] == 450.0 and day["sleep_efficiency"] == round(450 / 480, 3)
    assert p.day_features(D0 - 1) == {}
    # Midpoint: circular mean of 01:00 (240 min asleep) and 05:15 (210 min), by hand.
    a, b = math.radians(15.0), math.radians(5.25 * 15)
    mid = math.degrees(math.atan2(240 * math.sin(a) + 210 * math.sin(b),
                                  240 * math.cos(a) + 210 * math.cos(b))) / 15  # fmt: skip
    assert day["sleep_midpoint_h"] == pytest.approx(mid, abs=0.01)
    # Worn minutes: 100 one-minute step blocks; heart rate 10:00-10:24 marks 10:00-10:28 (29)
    # and 11:00 five more; HRV at 12:00 and 12:01 marks 12:00-12:05 (6).
    assert day["wear_min"] == 100 + 29 + 5 + 6


def test_trends_compare_7_and_28_days() -> None:
    p = Phenotype()
    for d in range(28):
        steps = 8000 if d < 21 else 4000  # the last week, half as active
        p.learn_one("steps", steps, ts=D0 + d * DAY_S + 8 * 3600, end_ts=D0 + d * DAY_S + 20 * 3600)
    p.learn_one("steps", 0, ts=D0 + 28 * DAY_S + 60, end_ts=D0 + 28 * DAY_S + 120)  # day 28 opens
    trend = p.trends()["steps"]
    assert trend["mean_7d"] == 4000.0
    assert trend["mean_28d"] == pytest.approx((21 * 8000 + 7 * 4000) / 28)
    assert trend["delta"] == pytest.approx(4000 - 7000)


def test_a_day_with_the_watch_mostly_off_does_not_count_in_activity_trends() -> None:
    """Steps grow with wear time: a day worn 5 minutes (the watch on its charger) is not a day
    without steps, so it must not halve the steps mean; its resting heart rate still counts."""
    p = Phenotype()
    p.learn_one("steps", 9000, ts=D0 + 8 * 3600, end_ts=D0 + 20 * 3600)  # 12 h worn
    p.learn_one("heart_rate", 60, ts=D0 + 9 * 3600)
    for minute in range(5):  # day 1: five minutes of heart rate, no steps
        p.learn_one("heart_rate", 70, ts=D0 + DAY_S + 9 * 3600 + minute * 60)
    p.learn_one("steps", 0, ts=D0 + 2 * DAY_S + 60, end_ts=D0 + 2 * DAY_S + 120)  # day 2 opens
    trends = p.trends()
    assert p.day_features(D0 + DAY_S)["steps"] == 0
    assert trends["steps"]["mean_28d"] == 9000.0 and trends["active_min"]["mean_28d"] is not None
    assert trends["resting_hr"]["mean_28d"] == 65.0


def test_circadian_rhythm_of_a_regular_and_an_irregular_week() -> None:
    regular, irregular = Phenotype(), Phenotype()
    for d in range(8):
        for h in range(24):
            ts = D0 + d * DAY_S + h * 3600
            regular.learn_one("steps", 600 if 8 <= h < 20 else 0, ts=ts, end_ts=ts + 3600)
            shifted = 600 if (h + 5 * d) % 24 < 12 else 0
            irregular.learn_one("steps", shifted, ts=ts, end_ts=ts + 3600)
    r, i = regular.circadian(), irregular.circadian()
    assert r["IS"] == pytest.approx(1.0) and r["RA"] == pytest.approx(1.0)
    assert i["IS"] < 0.3
    assert r["IV"] < i["IV"] + 1e-9 or r["IV"] <= 0.2


def test_round_trip_keeps_features() -> None:
    p = Phenotype()
    for m in range(90):
        p.learn_one("steps", 120, ts=D0 + m * 60, end_ts=D0 + m * 60 + 60)
        p.learn_one("heart_rate", 60 + m % 7, ts=D0 + m * 60, context="rest")
    q = Phenotype()
    q.load(p.to_dict())
    assert q.day_features(D0) == p.day_features(D0)


def test_an_evening_walk_in_los_angeles_counts_on_that_local_day() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from online_models.state import PatientState

    la = ZoneInfo("America/Los_Angeles")
    morning = datetime(2026, 11, 26, 9, 0, tzinfo=la).timestamp()
    evening = datetime(2026, 11, 26, 20, 0, tzinfo=la).timestamp()  # 04:00 UTC the 27th
    state = PatientState("p-la", {"patient_id": "p-la", "tz": "America/Los_Angeles"})
    utc = PatientState("p-utc")
    for s in (state, utc):
        for ts in (morning, evening):
            s.update({"signal": "steps", "value": 1500, "ts": ts, "end_ts": ts + 900}, now=ts)
    assert state.phenotype.day_features(morning)["steps"] == 3000  # one local day
    assert state.phenotype.day_features(evening)["steps"] == 3000
    assert utc.phenotype.day_features(morning)["steps"] == 1500  # UTC splits them
    assert utc.phenotype.day_features(evening)["steps"] == 1500
    restored, _ = PatientState.from_bytes(state.to_bytes(), "p-la")
    assert restored.phenotype.day_features(evening)["steps"] == 3000
