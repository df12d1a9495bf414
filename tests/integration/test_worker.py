"""The real worker (a Faust agent in its own process) consuming ``vitals.raw`` and producing to
``vitals.clean`` and ``vitals.deadletter`` on the embedded broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.helpers import WorkerProcess, read_topic, wait_for
from tests.streams.samples import TS
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def test_worker_routes_clean_and_dead_letters(settings: Settings, worker: WorkerProcess) -> None:
    status, body = worker.get("/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "broker": {"ok": True}, "redis": {"ok": True},
                                "stalled_partitions": []}  # fmt: skip
    producer = KafkaProducer(**settings.kafka_client_options())
    raw = settings.topic("vitals.raw")
    producer.send(raw, json.dumps({"patient_id": "p-1", "signal": "heart_rate", "value": 71,
                                   "unit": "bpm", "ts": TS}).encode())  # fmt: skip
    producer.send(raw, json.dumps({"patient_id": "p-2", "device_id": "phone", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": "x", "ts": TS},
        {"signal": "spo2", "value": 97, "ts": TS},
        {"signal": "teleportation", "value": 1, "ts": TS},
        {"signal": "respiratory_rate", "value": 14, "ts": TS},
    ]}).encode(), key=b"phone-1")  # fmt: skip
    producer.send(raw, b"{broken", key=b"k-broken")
    producer.flush()
    producer.close()

    clean = read_topic(settings, "vitals.clean", expected=2)
    by_key = {key: value for key, value in clean}
    assert len(clean) == 2
    assert by_key[b"p-1"]["value"] == 71.0 and by_key[b"p-1"]["source_format"] == "native"
    assert [r["signal"] for r in by_key[b"p-2"]["readings"]] == [
        "heart_rate", "spo2", "respiratory_rate"
    ]  # fmt: skip

    dead = read_topic(settings, "vitals.deadletter", expected=3)
    assert sorted(d["reason"] for _, d in dead) == ["invalid_json", "schema", "unknown_signal"]
    broken = next(d for k, d in dead if d["reason"] == "invalid_json")
    assert broken["payload"] == "{broken" and broken["source_topic"] == raw
    assert isinstance(broken["offset"], int) and isinstance(broken["partition"], int)
    assert {k for k, _ in dead} == {b"phone-1", b"k-broken"}  # keyed as received

    status, body = worker.get("/metrics")
    text = body.decode()
    assert status == 200
    assert 'vigil_readings_total{signal="heart_rate",source_format="batch"} 1.0' in text
    assert 'vigil_readings_rejected_total{reason="invalid_json"} 1.0' in text
    assert "p-1" not in text and "p-2" not in text  # never a patient label
    # The event-loop probe has been waking every 100 ms since the worker started.
    (probes,) = [float(line.split()[1]) for line in text.splitlines()
                 if line.startswith("vigil_event_loop_lag_seconds_count")]  # fmt: skip
    assert probes >= 1


def test_health_reports_redis_down(settings: Settings, tmp_path: Path) -> None:
    from vigilstream.localstack import free_port

    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    proc = WorkerProcess(broken, tmp_path / "w.log")
    try:
        status, body = proc.get_when_up("/health")
        assert status == 503
        doc = json.loads(body)
        assert doc["status"] == "degraded" and doc["redis"]["ok"] is False
        assert doc["broker"]["ok"] is True
    finally:
        proc.stop()


def test_a_backlog_of_single_readings_is_folded_and_nothing_is_lost(
    settings: Settings, tmp_path: Path
) -> None:
    """Messages written before the worker started are read behind time: a patient's consecutive
    readings cross ``vitals.clean`` as batch events (streams/fold.py), every one applied once,
    in order, none of a message split, with the default configuration."""
    from streams.topics import declare_once
    from tests.integration.test_monitor import metric

    declare_once(settings)
    now = time.time()
    docs = [{"patient_id": f"fold-{p}", "signal": "heart_rate", "value": 60 + i % 7,
             "ts": now - 3600 + 5 * i} for i in range(240) for p in range(3)]  # fmt: skip
    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
    written = int((now - 120) * 1000)  # CreateTime two minutes ago: a backlog
    for doc in docs:
        producer.send(settings.topic("vitals.raw"), json.dumps(doc).encode(),
                      key=doc["patient_id"].encode(), timestamp_ms=written)  # fmt: skip
    producer.flush()
    producer.close()

    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        wait_for(lambda: metric(worker, "vigil_model_updates_total") == len(docs),
                 f"{len(docs)} readings applied", timeout=180)  # fmt: skip
        clean = read_topic(settings, "vitals.clean", expected=1)
    finally:
        worker.stop()
    readings = [r for _, value in clean for r in value.get("readings", [value])]
    assert len(readings) == len(docs)  # each reading on vitals.clean exactly once
    assert len(clean) < len(docs) / 4  # folded: far fewer events than messages
    for p in range(3):
        mine = [r["ts"] for r in readings if r["patient_id"] == f"fold-{p}"]
        assert mine == sorted(mine) and len(mine) == 240
    for key, value in clean:
        group = value.get("readings", [value])
        assert all(r["patient_id"] == key.decode() for r in group)
        assert max(r["ts"] for r in group) - min(r["ts"] for r in group) <= 60.0
