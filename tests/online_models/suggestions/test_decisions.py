"""Decision points in the patient's local time, and proximal rewards, in event time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from online_models.suggestions.decisions import DecisionPoints, StepLog, decision_id, reward


def local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def test_a_day_of_events_crosses_the_five_default_points_in_local_time() -> None:
    tz = "America/Los_Angeles"
    start = datetime(2026, 11, 27, 0, 0, tzinfo=ZoneInfo(tz)).timestamp()
    points = DecisionPoints()
    crossed = [
        t for minute in range(0, 24 * 60, 5) for t in points.crossed(start + minute * 60, tz)
    ]
    assert [local(t, tz)[-5:] for t in crossed] == ["08:30", "12:00", "15:00", "18:00", "20:30"]
    assert local(crossed[-1], "UTC") == "2026-11-28 04:30"  # the evening point is tomorrow in UTC


def test_a_daylight_saving_change_keeps_the_local_clock() -> None:
    tz = "America/Los_Angeles"  # clocks go back at 02:00 on Sunday 2026-11-01
    before = datetime(2026, 10, 30, 12, 0, tzinfo=ZoneInfo(tz)).timestamp()
    points = DecisionPoints()
    points.crossed(before, tz)
    crossed = points.crossed(before + 2 * 86400, tz, ["08:30"])
    assert [local(t, tz) for t in crossed] == ["2026-10-31 08:30", "2026-11-01 08:30"]
    assert [local(t, "UTC")[-5:] for t in crossed] == ["15:30", "16:30"]  # PDT, then PST


def test_profile_times_late_events_and_a_checkpoint() -> None:
    points = DecisionPoints()
    t0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC).timestamp()
    points.crossed(t0, "UTC", ["07:00"])
    assert points.crossed(t0 - 600, "UTC", ["07:00"]) == []  # a late reading crosses nothing
    copy = DecisionPoints()
    copy.load(points.to_dict())
    assert len(copy.crossed(t0 + 3600, "UTC", ["07:00"])) == 1
    assert len(points.crossed(t0 + 3600, "UTC", ["07:00"])) == 1


def test_reward_is_steps_after_minus_before_and_ids_are_stable() -> None:
    log = StepLog()
    for minute in range(0, 60, 5):  # 200 steps per 5 minutes before, 500 after
        log.add(200 if minute < 30 else 500, ts=minute * 60.0, end_ts=minute * 60.0 + 300)
    assert reward(log, decided_at=1800.0) == (1800.0, 1200.0, 3000.0)
    assert decision_id("p-1", 1800.0) == decision_id("p-1", 1800.0) != decision_id("p-2", 1800.0)


def test_the_step_log_forgets_old_blocks_and_keeps_the_rest_through_a_checkpoint() -> None:
    log = StepLog()
    log.add(100, ts=0.0, end_ts=60.0)
    log.add(100, ts=7200.0, end_ts=7260.0)
    log.add(40, ts=7260.0, end_ts=7560.0)
    log.prune(3600.0)
    assert log.between(0.0, 120.0) == 0.0 and log.between(7200.0, 7300.0) == 100.0 + 40 / 7.5
    copy = StepLog()
    copy.load(json.loads(json.dumps(log.to_dict())))
    assert copy.blocks == log.blocks
