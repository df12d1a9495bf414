"""The benchmark's own parts: its data are valid input, its rate ignores start-up and tail,
and its report says what the numbers are."""

from __future__ import annotations

import orjson

from streams.normalize import Ingestor
from vigilstream.benchmark import CONTENDERS, render
from vigilstream.benchmark.pipeline import Samples, Workload, payloads, rate, sick_message

NOW = 1_800_000_000.0


def test_the_workload_is_valid_input_within_the_alerting_horizon() -> None:
    """Rejected or late readings would make every contender look faster than it is."""
    for workload in (Workload("s", 50, 400, 1), Workload("b", 30, 90, 60)):
        messages = payloads(workload, NOW)
        assert len(messages) == workload.messages
        ingestor = Ingestor()
        readings = []
        for key, value in messages:
            out = ingestor.ingest(value, NOW)
            assert out.rejections == [] and out.duplicates == 0
            assert {r["patient_id"].encode() for r in out.readings} == {key}
            readings += out.readings
        assert len(readings) == workload.readings
        assert len({r["patient_id"] for r in readings}) == workload.patients
        assert NOW - 24 * 3600 < min(r["ts"] for r in readings) <= max(r["ts"] for r in readings)
        assert {r["signal"] for r in readings} == {"heart_rate", "steps"} or workload.batch == 1


def test_the_sick_patient_scores_high_on_news2_alone() -> None:
    from alerts.engine import AlertEngine
    from alerts.patient_loop import apply_event
    from online_models.risk import RiskModel
    from online_models.state import PatientState

    [(_, doc)] = [(None, orjson.loads(sick_message("sick-1", NOW)))]
    readings = Ingestor().ingest(orjson.dumps(doc), NOW + 1).readings
    state, engine = PatientState("sick-1"), AlertEngine("sick-1")
    applied = apply_event({"patient_id": "sick-1", "readings": readings}, state, engine,
                          RiskModel(), NOW + 1)  # fmt: skip
    assert [(a["kind"], a["severity"]) for a in applied.alerts] == [("deterioration", "high")]


def test_rate_counts_the_middle_of_the_run_only() -> None:
    """10 s of start-up at 0, then 1,000 readings/s for 10 s, then an idle tail."""
    samples = Samples()
    for k in range(50):
        t = k * 0.5
        count = 0.0 if t < 10 else min(10_000.0, (t - 10) * 1000.0)
        samples.rows.append((t, count, [count], [t * 0.5]))
    out = rate(samples, 10_000, ["worker"])
    assert out["complete"] is True
    assert out["readings_per_s"] == 1000
    assert out["cpu_cores"] == {"worker": 0.5}


def test_rate_of_two_processes_starts_when_both_count() -> None:
    samples = Samples()
    for k in range(30):
        t = float(k)
        one = min(3000.0, t * 100.0)
        two = 0.0 if t < 10 else min(3000.0, (t - 10) * 100.0)
        samples.rows.append((t, one + two, [one, two], [t, t]))
    out = rate(samples, 6000, ["a", "b"])
    assert out["readings_per_s"] == 200  # from the first sample where both had started


def _row(value: int | None) -> dict[str, object]:
    return {"readings_per_s": value, "cpu_cores": {"worker#1": 0.9, "broker": 0.4}}


def test_the_report_gives_the_ratios_against_bare_faust() -> None:
    report = {
        "command": "vigilstream bench",
        "machine": {
            "cpus": 2,
            "cpu": "x",
            "python": "3.11",
            "platform": "linux",
            "commit": "abc",
            "date": "today",
        },
        "pipeline": {
            "singles": {
                "workload": {},
                "raw": _row(9000),
                "bare_one_hop": _row(4000),
                "bare_two_hop": _row(2500),
                "worker": _row(2000),
            }
        },
        "latency": {
            "readings_per_s": 10000,
            "p50_ms": 40.0,
            "p99_ms": 120.0,
            "max_ms": 150.0,
            "alerts": 100,
            "cpu_cores": {"worker": 0.85, "broker": 0.4},
        },
        "scale": {
            "workload": {"messages": 10, "batch": 60, "patients": 5},
            "partitions": 8,
            "workers_1": _row(20000),
            "workers_2": _row(33000),
        },
        "memory": [
            {
                "patients": 10000,
                "worker_rss_mb": 900.0,
                "worker_rss_idle_mb": 150.0,
                "worker_bytes_per_patient": 78000,
                "redis_bytes_per_patient": 7000,
            }
        ],
        "memory_state_bytes": 6100,
        "core": {
            "apply_event_readings_per_s": 40000,
            "replay_readings_per_s": 30000,
            "cohort": "c",
            "readings": 1,
            "events": 1,
        },
        "history": {
            "first_day_readings_per_s": 60000,
            "last_day_readings_per_s": 57000,
            "days": 28,
            "last_vs_first": 0.95,
        },
        "ingest_us_per_reading": {"native": 5.0},
        "models": {
            "days": 7,
            "update_us_median": 20,
            "update_us_p95": 30,
            "state_bytes_p50": 1,
            "state_bytes_p95": 2,
        },
        "suggestions": {
            "decision_ms_p95": 0.4,
            "state_bytes_p95": 900,
            "hot_path_overhead_pct": 2.0,
        },
    }
    text = render(report)
    assert "| singles | 9,000 | 4,000 | 2,500 | 2,000 | 0.80 | 0.50 | 0.9 | 0.4 |" in text
    assert "| 2 | 33,000 | 1.65 |" in text
    assert "p99 **120.0 ms**" in text
    assert "CPU while paced: worker 0.85 cores, broker 0.40 cores" in text
    assert "| event-to-alert p99 <= 250 ms at half load | 120.0 ms | yes |" in text
    assert "| 2 workers >= 1.6 x one worker | 1.65 | yes |" in text
    report["scale"]["workers_2"] = _row(30000)  # 1.5 x: missed
    assert "| 2 workers >= 1.6 x one worker | 1.50 | no |" in render(report)
    report["scale"]["workers_1"] = {**_row(20000), "runs": [18000, 22000]}
    report["scale"]["workers_2"] = {**_row(34000), "runs": [33000, 35000]}
    text = render(report)
    assert "the means of 18,000, 22,000 (1 worker) and 33,000, 35,000 (2 workers)" in text
    assert "| 2 workers >= 1.6 x one worker | 1.70 | yes |" in text
    assert "half its utilization" not in text  # no second latency run: nothing said of it
    report["latency"]["paced_capacity"] = 21000
    report["latency_half_busy"] = {**report["latency"], "readings_per_s": 10500,
                                   "p50_ms": 30.0, "p99_ms": 90.0}  # fmt: skip
    text = render(report)
    assert "handled 21,000 readings per CPU-second" in text
    assert "half its utilization there is 10,500 readings/s. At that rate: p50 **30.0 ms**" in text
    # The target row stays the one of the definition, not the friendlier run.
    assert "| event-to-alert p99 <= 250 ms at half load | 120.0 ms | yes |" in text
    report["latency"]["p99_ms"] = 400.0
    assert "| event-to-alert p99 <= 250 ms at half load | 400.0 ms | no |" in render(report)
    assert set(CONTENDERS) == {"raw", "bare_one_hop", "bare_two_hop", "worker"}
