"""Faults injected into the real servers, with exact counts (RELIABILITY.md lists each one).

Every worker here runs with the default configuration (partitions, checkpoint interval, group
timing); each test that breaks a server gets a stack of its own so the others never see it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import READINGS_PER_PATIENT, WorkerProcess, cohort, produce, read_topic, wait_for
from vigilstream.config import Settings
from vigilstream.localstack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A broker and Redis for this test alone (it will break them)."""
    local = LocalStack(tmp_path / "stack")
    local.up()
    try:
        yield local
    finally:
        local.down()


def stack_settings(local: LocalStack, tmp_path: Path) -> Settings:
    servers = local.status()
    assert servers["broker"] and servers["redis"]
    return Settings(broker=servers["broker"].address, redis_url=servers["redis"].address,
                    state_dir=tmp_path / "state")  # fmt: skip


def readings_of(worker: WorkerProcess, patient: str) -> int:
    status, body = worker.get(f"/api/patients/{patient}", token="view-tok")
    return json.loads(body)["readings"] if status == 200 else -1


def test_kill_9_loses_nothing_and_keeps_every_episode_id(settings: Settings, tmp_path: Path
                                                         ) -> None:  # fmt: skip
    """kill -9 under load with open episodes: 0 readings lost or double-counted per patient,
    0 duplicate alert ids, every open episode continued by the new worker."""
    patients = 40
    docs = cohort(patients, time.time() - 3 * 3600)
    first = WorkerProcess(settings, tmp_path / "first.log")
    first.wait_healthy()
    produce(settings, docs)
    wait_for(lambda: read_topic(settings, "alerts", 1, timeout=2), "a first alert", 120)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    second = WorkerProcess(settings, tmp_path / "second.log")
    try:
        second.wait_healthy()
        ids = [f"p-{i:03d}" for i in range(patients)]
        wait_for(lambda: all(readings_of(second, p) >= READINGS_PER_PATIENT for p in ids),
                 "every reading folded", 180)  # fmt: skip
        counts = {p: readings_of(second, p) for p in ids}
        assert counts == dict.fromkeys(ids, READINGS_PER_PATIENT)
        alerts = [v for _, v in read_topic(settings, "alerts", 1, timeout=10)]
    finally:
        second.stop()
    clinical = [a for a in alerts if a["kind"] == "deterioration"]
    ids_per_patient: dict[str, set[str]] = defaultdict(set)
    for alert in clinical:
        ids_per_patient[alert["patient_id"]].add(alert["alert_id"])
    sick = {f"p-{i:03d}" for i in range(0, patients, 2)}
    assert set(ids_per_patient) == sick
    assert all(len(found) == 1 for found in ids_per_patient.values()), ids_per_patient
    # every episode is still open under its one id: nothing resolved, nothing reopened
    last = {a["alert_id"]: a["status"] for a in clinical}
    assert set(last.values()) <= {"open", "updated", "escalated"}


def test_redis_paused_20_s_loses_nothing(own_stack: LocalStack, tmp_path: Path) -> None:
    """Redis SIGSTOPped for 20 s while readings stream: every reading folded once, every alert
    in the store the API reads, the monitor agent never crashes."""
    settings = stack_settings(own_stack, tmp_path)
    redis_pid = own_stack.status()["redis"].pid
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        start = time.time() - 3 * 3600
        produce(settings, cohort(4, start))
        wait_for(lambda: readings_of(worker, "p-000") >= READINGS_PER_PATIENT, "first batch")
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            # patients first seen during the pause, and alerts raised during it
            late = [dict(d, patient_id=d["patient_id"].replace("p-", "q-"))
                    for d in cohort(4, start)]  # fmt: skip
            produce(settings, late)
            wait_for(lambda: worker.get("/health")[0] == 503, "health says degraded")
            time.sleep(20)  # the fault itself lasts 20 s; nothing is asserted on time
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        everyone = [f"{c}-{i:03d}" for c in "pq" for i in range(4)]
        wait_for(lambda: all(readings_of(worker, p) >= READINGS_PER_PATIENT for p in everyone),
                 "every reading folded", 120)  # fmt: skip
        assert {p: readings_of(worker, p) for p in everyone} == dict.fromkeys(
            everyone, READINGS_PER_PATIENT
        )
        messages = [v for _, v in read_topic(settings, "alerts", 4, timeout=10)]
        published = {m["alert_id"] for m in messages}
        sick = {m["patient_id"] for m in messages if m["kind"] == "deterioration"}
        assert sick == {"p-000", "p-002", "q-000", "q-002"}

        def stored() -> set[str]:
            status, body = worker.get("/api/alerts?status=open", token="view-tok")
            return {a["alert_id"] for a in json.loads(body)["alerts"]} if status == 200 else set()

        wait_for(lambda: stored() == published, "every alert in the store", 60)
        assert metric_sum(worker.metrics_text(), "vigil_alerts_total") == len(messages)
        assert "Agent crashed" not in worker.log_tail(100_000)
        assert "Traceback" not in worker.log_tail(100_000)
    finally:
        worker.stop()


def test_redis_restart_with_persistence_resets_no_patient(own_stack: LocalStack,
                                                          tmp_path: Path) -> None:  # fmt: skip
    """kill -9 of Redis and a restart: the append-only file brings every checkpoint back, so
    a new worker restores every patient instead of starting from zero."""
    settings = stack_settings(own_stack, tmp_path)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    ids = [f"p-{i:03d}" for i in range(6)]
    try:
        worker.wait_healthy()
        produce(settings, cohort(6, time.time() - 3 * 3600))
        wait_for(lambda: all(readings_of(worker, p) >= READINGS_PER_PATIENT for p in ids),
                 "every reading folded")  # fmt: skip
        wait_for(lambda: metric_sum(worker.metrics_text(), "vigil_checkpoint_seconds_count"),
                 "a checkpoint")  # fmt: skip
    finally:
        worker.stop()  # a graceful stop checkpoints everything
    own_stack.restart("redis")
    again = WorkerProcess(settings, tmp_path / "again.log")
    try:
        again.wait_healthy()
        assert {p: readings_of(again, p) for p in ids} == dict.fromkeys(ids, READINGS_PER_PATIENT)
    finally:
        again.stop()


def test_broker_restarted_empty_is_never_a_silent_stall(own_stack: LocalStack,
                                                        tmp_path: Path) -> None:  # fmt: skip
    """The embedded broker keeps topics in memory: a restart empties it. The worker notices,
    declares its topics again and exits with one clear line (code 75) for its supervisor; the
    next worker processes what arrives on the new log (offsets of the old one are ignored)."""
    settings = stack_settings(own_stack, tmp_path)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    start = time.time() - 3 * 3600
    worker.wait_healthy()
    produce(settings, cohort(3, start))
    wait_for(lambda: readings_of(worker, "p-000") >= READINGS_PER_PATIENT, "first batch")
    own_stack.restart("broker")
    wait_for(lambda: worker.proc.poll() is not None, "the worker exits", 120)
    assert worker.proc.returncode == 75
    lines = [ln for ln in worker.log_tail(100_000).splitlines() if "exiting (75)" in ln]
    assert len(lines) == 1 and "restarted empty" in lines[0]
    again = WorkerProcess(settings, tmp_path / "again.log")
    try:
        again.wait_healthy()
        later = [dict(d, ts=d["ts"] + 3600) for d in cohort(3, start)]
        produce(settings, later)
        wait_for(lambda: readings_of(again, "p-001") >= 2 * READINGS_PER_PATIENT,
                 "the new log processed")  # fmt: skip
        assert readings_of(again, "p-001") == 2 * READINGS_PER_PATIENT
    finally:
        again.stop()


def metric_sum(text: str, name: str) -> float:
    """The sum of every sample of one metric in a Prometheus text exposition (0 when absent)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))  # fmt: skip


def test_redis_that_lost_its_data_gets_every_held_state_again(own_stack: LocalStack,
                                                               tmp_path: Path) -> None:  # fmt: skip
    """Redis emptied under a running worker (a restart without persistence, a FLUSHALL): the
    next checkpoint notices, says so at ERROR, counts it and saves every held state again."""
    import redis

    settings = stack_settings(own_stack, tmp_path)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    ids = [f"p-{i:03d}" for i in range(3)]
    client = redis.Redis.from_url(settings.redis_url)
    try:
        worker.wait_healthy()
        produce(settings, cohort(3, time.time() - 3 * 3600))
        wait_for(lambda: all(readings_of(worker, p) == READINGS_PER_PATIENT for p in ids),
                 "every reading folded")  # fmt: skip
        done = metric_sum(worker.metrics_text(), "vigil_checkpoint_seconds_count")
        wait_for(lambda: metric_sum(worker.metrics_text(), "vigil_checkpoint_seconds_count")
                 > done, "a checkpoint of everything")  # fmt: skip
        assert all(client.exists(f"vigil:state:{p}") for p in ids)
        client.flushall()  # nothing changes after this: only the loss can trigger a save
        wait_for(lambda: metric_sum(worker.metrics_text(), "vigil_checkpoints_missing_total"),
                 "the loss noticed")  # fmt: skip
        wait_for(lambda: all(client.exists(f"vigil:state:{p}") for p in ids), "saved again", 60)
        assert metric_sum(worker.metrics_text(), "vigil_checkpoints_missing_total") == 1
        assert "Redis lost its data" in worker.log_tail(100_000)
    finally:
        worker.stop()
        client.close()
