"""Per-patient state through the real worker, broker and Redis: restart and takeover."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from online_models.state import PatientState
from tests.helpers import WorkerProcess, read_topic, wait_for
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def hr_readings(patient: str, n: int, start: float, step: float = 60.0) -> list[dict]:
    return [{"patient_id": patient, "signal": "heart_rate", "value": 60 + (i * 7) % 11,
             "ts": start + i * step} for i in range(n)]  # fmt: skip


def produce(settings: Settings, docs: list[dict], batch: int = 1) -> None:
    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
    raw = settings.topic("vitals.raw")
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        key = chunk[0]["patient_id"].encode()  # in order per patient, as a gateway would send
        if batch == 1:
            producer.send(raw, json.dumps(chunk[0]).encode(), key=key)
        else:
            body = [{k: v for k, v in d.items() if k != "patient_id"} for d in chunk]
            producer.send(raw, json.dumps({"patient_id": chunk[0]["patient_id"],
                                           "readings": body}).encode(), key=key)  # fmt: skip
    producer.flush()
    producer.close()


def patient_view(worker: WorkerProcess, patient: str, want_readings: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    view: dict = {}
    while time.monotonic() < deadline:
        status, body = worker.get(f"/api/patients/{patient}", token="view-tok")
        if status == 200:
            view = json.loads(body)
            if view["readings"] >= want_readings:
                return view
        time.sleep(0.5)
    raise AssertionError(f"patient {patient} view not ready: {view.get('readings')}")


def expected_state(readings: list[dict]) -> PatientState:
    state = PatientState(readings[0]["patient_id"])
    for r in readings:
        state.update({**r, "end_ts": None}, now=r["ts"])
    return state


def test_baseline_survives_a_worker_restart(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"checkpoint_interval_s": 1.0})
    start = time.time() - 3 * 86400  # 600 readings every ~5 min: two days, ending a day ago
    readings = hr_readings("p-restart", 600, start, step=290.0)
    first = WorkerProcess(settings, tmp_path / "w1.log")
    try:
        first.wait_healthy()
        produce(settings, readings, batch=20)
        live = patient_view(first, "p-restart", 600)
        assert live["source"] == "live"
    finally:
        first.stop()  # graceful: checkpoints at shutdown
    want = expected_state(readings).baselines.summary()["heart_rate/rest"]
    assert live["baselines"]["heart_rate/rest"] == want

    second = WorkerProcess(settings, tmp_path / "w2.log")
    try:
        second.wait_healthy()
        restored = patient_view(second, "p-restart", 600)
        assert restored["source"] == "checkpoint"
        assert restored["baselines"]["heart_rate/rest"] == want  # n and mean intact
        assert want["n"] == 600 and want["warm"] is True
        # The new owner continues from the checkpoint: 10 more readings, not 610 replayed twice.
        produce(settings, hr_readings("p-restart", 10, start + 600 * 290.0))
        after = patient_view(second, "p-restart", 610)
        assert after["readings"] == 610 and after["source"] == "live"
        assert after["baselines"]["heart_rate/rest"]["n"] == 610
        assert metric(second, 'vigil_patient_state_restores_total{how="restored"}') == 1.0
        status, _ = second.get("/api/patients/p-restart")
        assert status == 401
        status, _ = second.get("/api/patients/nobody", token="view-tok")
        assert status == 404
    finally:
        second.stop()


def metric(worker: WorkerProcess, name: str) -> float:
    for line in worker.get("/metrics")[1].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_a_second_worker_takes_over_partitions_with_state(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"checkpoint_interval_s": 1.0})
    patients = [f"p-{i:02d}" for i in range(16)]
    start = time.time() - 86400
    a = WorkerProcess(settings, tmp_path / "a.log")
    b: WorkerProcess | None = None
    try:
        a.wait_healthy()
        produce(settings, [r for p in patients for r in hr_readings(p, 30, start)], batch=10)
        for p in patients:
            assert patient_view(a, p, 30)["readings"] == 30
        b = WorkerProcess(settings, tmp_path / "b.log")
        b.wait_healthy()
        # 20 more readings each, in four rounds while the group rebalances and after.
        for r in range(4):
            later = [x for p in patients for x in hr_readings(p, 5, start + 40_000 + r * 300)]
            produce(settings, later, batch=5)
            time.sleep(3)
        for p in patients:  # from the live owner or from the new owner's checkpoint
            assert patient_view(b, p, 50)["readings"] == 50
        assert metric(b, "vigil_model_updates_total") > 0  # b took over some patients
        assert metric(a, "vigil_model_updates_total") >= 30 * len(patients)
        # Scale-out: each patient is live on exactly one of the two, and both hold some.
        live = {p: [w for w in (a, b) if patient_view(w, p, 50)["source"] == "live"]
                for p in patients}  # fmt: skip
        assert all(len(owners) == 1 for owners in live.values()), live
        assert {owners[0].port for owners in live.values()} == {a.port, b.port}
    finally:
        if b is not None:
            b.stop()
        a.stop()
    # Every patient's checkpoint, wherever it was last owned, counts each reading exactly once.
    states = load_states(settings, patients)
    assert {p: s.n_readings for p, s in states.items()} == dict.fromkeys(patients, 50)
    assert all(s.baselines.summary()["heart_rate/rest"]["n"] == 50 for s in states.values())


def load_states(settings: Settings, patients: list[str]) -> dict[str, PatientState]:
    import asyncio

    import redis.asyncio as aioredis

    async def load() -> dict[str, PatientState]:
        client = aioredis.from_url(settings.redis_url)
        try:
            blobs = await client.mget([f"{settings.topic_prefix}vigil:state:{p}" for p in patients])
        finally:
            await client.aclose()
        return {
            p: PatientState.from_bytes(blob, p)[0] for p, blob in zip(patients, blobs, strict=True)
        }

    return asyncio.run(load())


def test_outcomes_label_snapshots_and_train_the_risk_model(
    settings: Settings, worker: WorkerProcess
) -> None:
    start = time.time() - 6 * 3600
    produce(settings, hr_readings("p-risk", 60, start, step=300.0), batch=12)  # 5 h, hourly snaps
    patient_view(worker, "p-risk", 60)
    producer = KafkaProducer(**settings.kafka_client_options())
    outcome = {"patient_id": "p-risk", "kind": "deterioration",
               "ts": time.time() - 3600}  # fmt: skip
    producer.send(settings.topic("outcomes"), json.dumps(outcome).encode(), key=b"p-risk")
    producer.send(settings.topic("outcomes"), b'{"patient_id": "p-risk", "kind": "sneeze"}')
    producer.flush()
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and metric(worker, 'vigil_outcomes_total{kind="deterioration"}') < 1
    ):
        time.sleep(0.5)
    # the checkpoint timer publishes the validation gauges
    examples = wait_for(lambda: metric(worker, 'vigil_risk_model_validation{metric="examples"}'),
                        "the risk model's validation gauges", 60)  # fmt: skip
    assert examples >= 5
    view = json.loads(worker.get("/api/patients/p-risk", token="view-tok")[1])
    assert 0.0 <= view["risk"]["probability"] <= 1.0
    assert view["risk"]["model_version"].startswith("lr-sgd-")
    dead = read_topic(settings, "vitals.deadletter", expected=1)
    assert [d["reason"] for _, d in dead] == ["schema"]
    assert dead[0][1]["source_topic"] == settings.topic("outcomes")
