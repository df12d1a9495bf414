"""The broker half of ``vigilstream bench``: every contender on the same pre-produced topic.

For each workload the same messages are produced once per contender (each contender gets its
own topic prefix, so none reads another's output), then the contender's process is started and
its counter of handled readings is polled (``/metrics``). The rate is the readings handled
between 5 % and 95 % of the total divided by the time between those samples, so start-up,
group joins and the tail are not counted. CPU seconds of each process (and of the broker) over
the same window come from ``/proc`` (Linux).

Data are what a watch program sends: heart rate every 5 s and a step count per minute, event
times within the last day (the alerting horizon), keyed by patient.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vigilstream.config import Settings
from vigilstream.localstack import free_port, stop_child

HR_EVERY_S = 5.0
WORKER_COUNTER = "vigil_model_updates_total"
CONTENDER_COUNTER = "bench_readings_total"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Workload:
    """``messages`` raw messages of ``batch`` readings each, spread over ``patients``."""

    name: str
    patients: int
    messages: int
    batch: int

    @property
    def readings(self) -> int:
        return self.messages * self.batch


def readings_of_patient(rng: random.Random, start: float, count: int) -> list[dict[str, Any]]:
    """``count`` readings of one patient from ``start``: heart rate every 5 s, steps each minute."""
    out: list[dict[str, Any]] = []
    for k in range(count):
        ts = round(start + k * HR_EVERY_S, 3)
        if k % 12 == 11:  # the minute's step count
            out.append({"signal": "steps", "value": rng.choice((0, 0, 12, 40, 95)),
                        "ts": ts - 55.0, "end_ts": ts + 5.0})  # fmt: skip
        else:
            out.append({"signal": "heart_rate", "value": round(rng.gauss(68, 6), 1), "ts": ts})
    return out


def payloads(workload: Workload, now: float, seed: int = 13) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message of the workload, patient by patient in time order."""
    rng = random.Random(seed)
    per_patient = -(-workload.messages // workload.patients)  # messages of each patient
    span = per_patient * workload.batch * HR_EVERY_S
    start = now - span - 120.0
    messages: list[tuple[bytes, bytes]] = []
    for k in range(per_patient):
        for p in range(workload.patients):
            if len(messages) == workload.messages:
                break
            pid = f"bench-{p:06d}"
            first = start + k * workload.batch * HR_EVERY_S + (p % 5)  # not all in lockstep
            readings = readings_of_patient(rng, first, workload.batch)
            if workload.batch == 1:
                doc: dict[str, Any] = {"patient_id": pid, "device_id": "watch", **readings[0]}
            else:
                doc = {"patient_id": pid, "device_id": "watch", "readings": readings}
            messages.append((pid.encode(), orjson.dumps(doc)))
    return messages


def create_topics(settings: Settings, names: list[str], partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(**settings.kafka_client_options())
    try:
        admin.create_topics([NewTopic(settings.topic(n), partitions, 1) for n in names])
    finally:
        admin.close()


def produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=20,
                             batch_size=512 * 1024, max_request_size=8 * 1024 * 1024)  # fmt: skip
    topic = settings.topic("vitals.raw")
    for key, value in messages:
        producer.send(topic, value, key=key)
    producer.flush()
    producer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def read_counter(port: int, name: str) -> float | None:
    """The value of a counter on a ``/metrics`` page, None while the page does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class Contender:
    """A started contender process and where it reports its count."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    counter: str
    log: Any = None

    def count(self) -> float | None:
        return read_counter(self.port, self.counter)

    def stop(self) -> None:
        stop_child(self.proc)
        if self.log is not None:
            self.log.close()


COMMANDS: dict[str, tuple[list[str], str]] = {
    "raw": (["-m", "vigilstream.benchmark.contenders", "raw"], CONTENDER_COUNTER),
    "bare_one_hop": (["-m", "vigilstream.benchmark.contenders", "one-hop"], CONTENDER_COUNTER),
    "bare_two_hop": (["-m", "vigilstream.benchmark.contenders", "two-hop"], CONTENDER_COUNTER),
    "worker": (["-m", "vigilstream", "worker"], WORKER_COUNTER),
}


def environment(settings: Settings, port: int) -> dict[str, str]:
    """The worker's configuration, as a user would pass it, for a contender process."""
    return {**os.environ, "VIGIL_BROKER": settings.broker, "VIGIL_REDIS_URL": settings.redis_url,
            "VIGIL_TOPIC_PREFIX": settings.topic_prefix, "VIGIL_WEB_PORT": str(port),
            "VIGIL_STATE_DIR": str(settings.state_dir), "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_PARTITIONS": str(settings.partitions)}  # fmt: skip


def start(name: str, settings: Settings) -> Contender:
    command, counter = COMMANDS[name]
    port = free_port()
    log = open(settings.state_dir / f"bench-{name}.log", "ab")  # noqa: SIM115 - closed in stop()
    proc = subprocess.Popen([sys.executable, *command], env=environment(settings, port),
                            stdout=log, stderr=log)  # fmt: skip
    return Contender(name, proc, port, counter, log)


@dataclass
class Samples:
    """(monotonic time, total count, per-process counts, per-process CPU seconds) over a run."""

    rows: list[tuple[float, float, list[float], list[float]]] = field(default_factory=list)


def watch(contenders: list[Contender], expected: int, timeout: float,
          broker_pid: int | None = None) -> Samples:  # fmt: skip
    """Poll the counters until ``expected`` readings are handled (or the time is out)."""
    samples = Samples()
    deadline = time.monotonic() + timeout
    pids = [c.proc.pid for c in contenders] + ([broker_pid] if broker_pid else [])
    while time.monotonic() < deadline:
        counts = [c.count() for c in contenders]
        now = time.monotonic()
        if all(c is not None for c in counts):
            known = [float(c) for c in counts if c is not None]
            samples.rows.append((now, sum(known), known, [cpu_seconds(p) for p in pids]))
            if sum(known) >= expected:
                break
        if any(c.proc.poll() is not None for c in contenders):
            raise RuntimeError(f"{contenders[0].name} exited with {contenders[0].proc.returncode}"
                               f" (log: {contenders[0].log.name})")  # fmt: skip
        time.sleep(0.2)
    return samples


def rate(samples: Samples, expected: int, names: list[str]) -> dict[str, Any]:
    """Readings/s between 5 % and 95 % of ``expected`` (every process already counting), and
    each process's share of a core over that window."""
    rows = samples.rows
    done = rows[-1][1] if rows else 0.0
    window = [r for r in rows if 0.05 * expected <= r[1] <= 0.95 * expected and all(r[2])]
    if len(window) < 2:  # a very fast run: first and last sample with progress
        window = [r for r in rows if r[1] > 0]
    if len(window) < 2 or window[-1][0] <= window[0][0]:
        return {"readings": done, "readings_per_s": None, "complete": done >= expected}
    first, last = window[0], window[-1]
    seconds = last[0] - first[0]
    cpu = [round((b - a) / seconds, 2) for a, b in zip(first[3], last[3], strict=True)]
    return {
        "readings": int(done),
        "complete": done >= expected,
        "readings_per_s": round((last[1] - first[1]) / seconds),
        "window_s": round(seconds, 2),
        "cpu_cores": dict(zip(names, cpu, strict=False)),
    }


@contextmanager
def fresh(settings: Settings, label: str) -> Iterator[Settings]:
    """The settings of one benchmark run under a topic prefix of its own; when the run is over
    its topics and Redis keys are deleted, so runs do not pile up in the user's local stack (the
    embedded broker holds topics in memory: 21 latency runs had grown it to 2.4 GB)."""
    run = settings.model_copy(update={"topic_prefix": f"bench{label}{uuid.uuid4().hex[:6]}."})
    try:
        yield run
    finally:
        discard(run)


def discard(run: Settings) -> None:
    """Delete the topics and Redis keys of a finished run (best effort: a benchmark result is
    not lost because its clean-up failed)."""
    import redis
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(**run.kafka_client_options())
        try:
            mine = [t for t in admin.list_topics() if t.startswith(run.topic_prefix)]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
    except Exception as exc:
        print(f"bench: topics of {run.topic_prefix} not deleted ({type(exc).__name__})",
              file=sys.stderr)  # fmt: skip
    try:
        client = redis.Redis.from_url(run.redis_url)
        keys = list(client.scan_iter(match=f"{run.topic_prefix}*", count=5000))
        for start in range(0, len(keys), 5000):
            client.unlink(*keys[start : start + 5000])
        client.close()
    except Exception as exc:
        print(f"bench: Redis keys of {run.topic_prefix} not deleted ({type(exc).__name__})",
              file=sys.stderr)  # fmt: skip


def prepare(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    """The contract's topics (the worker's partitions) and the pre-produced input."""
    from streams.topics import declare_once

    declare_once(settings)
    create_topics(settings, ["bench.clean", "bench.raw.out"], settings.partitions)
    produce(settings, messages)


def run_contenders(settings: Settings, names: list[str], messages: list[tuple[bytes, bytes]],
                   expected: int, broker_pid: int | None,
                   processes: int = 1) -> dict[str, Any]:  # fmt: skip
    """Each named contender (``processes`` of it) on its own copy of the same input."""
    out: dict[str, Any] = {}
    for name in names:
        with fresh(settings, name.replace("_", "")) as run:
            prepare(run, messages)
            started = [start(name, run) for _ in range(processes)]
            try:
                samples = watch(started, expected, timeout=900, broker_pid=broker_pid)
            finally:
                for c in started:
                    c.stop()
        labels = [f"{name}#{i + 1}" for i in range(processes)] + ["broker"] * bool(broker_pid)
        out[name] = rate(samples, expected, labels)
    return out


# ------------------------------------------------------------------------------- latency
def sick_message(pid: str, ts: float) -> bytes:
    """One minute of vitals that scores NEWS2 >= 7 on its own (an alert opens at once)."""
    readings = [{"signal": s, "value": v, "ts": ts} for s, v in (
        ("heart_rate", 148.0), ("respiratory_rate", 31.0), ("spo2", 86.0),
        ("body_temperature", 39.6))]  # fmt: skip
    return orjson.dumps({"patient_id": pid, "device_id": "monitor", "readings": readings})


def latency(settings: Settings, readings_per_s: float, seconds: float = 20.0,
            alerts_per_s: float = 5.0, broker_pid: int | None = None,
            ) -> dict[str, Any]:  # fmt: skip
    """Event-to-alert latency with the stream at ``readings_per_s``: background batches of 60
    from 1,000 patients plus, ``alerts_per_s`` times a second, a new patient whose vitals open
    an alert; from the raw record's timestamp to the alert record's timestamp. Also the CPU
    the worker (and the broker) used while the stream was paced: how loaded "half load" is.
    A paced stream arrives a few records per fetch, so the framework's per-record cost is not
    shared by hundreds as on a pre-produced topic, and the same rate costs the worker more."""
    from streams.topics import declare_once

    with fresh(settings, "latency") as run:
        declare_once(run)
        worker = start("worker", run)
        try:
            paced = _paced(run, worker, readings_per_s, seconds, alerts_per_s, broker_pid)
            return asyncio.run(paced)
        finally:
            worker.stop()


async def _paced(settings: Settings, worker: Contender, readings_per_s: float, seconds: float,
                 alerts_per_s: float, broker_pid: int | None) -> dict[str, Any]:  # fmt: skip
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    options = settings.kafka_client_options()
    producer = AIOKafkaProducer(linger_ms=2, **options)
    alerts = AIOKafkaConsumer(settings.topic("alerts"), group_id=None,
                              auto_offset_reset="earliest", **options)  # fmt: skip
    await producer.start()
    await alerts.start()
    raw = settings.topic("vitals.raw")
    sent: dict[str, float] = {}
    latencies: list[float] = []
    try:
        # Warm up: the worker has joined its group once a first alert comes back.
        await _await_alert(producer, alerts, raw, "warm-up", sent, latencies, timeout=180)
        latencies.clear()
        needed = int(readings_per_s * seconds / 60) + 1000
        background = payloads(Workload("paced", 1000, needed, 60), time.time(), seed=17)
        batches: Iterator[tuple[bytes, bytes]] = iter(background)
        interval = 60.0 / readings_per_s  # one batch of 60 readings
        pids = [worker.proc.pid] + ([broker_pid] if broker_pid else [])
        cpu_before = [cpu_seconds(pid) for pid in pids]
        handled_before = worker.count()
        started = time.monotonic()
        next_batch = next_sick = started
        sick = 0
        while time.monotonic() - started < seconds:
            now = time.monotonic()
            while next_batch <= now:
                key, value = next(batches)
                await producer.send(raw, value, key=key)
                next_batch += interval
            if next_sick <= now:
                pid = f"sick-{sick:05d}"
                sick += 1
                record = await producer.send(raw, sick_message(pid, time.time()), key=pid.encode())
                sent[pid] = (await record).timestamp / 1000.0
                next_sick += 1.0 / alerts_per_s
            await _drain(alerts, sent, latencies)
            await asyncio.sleep(max(0.0, min(next_batch, next_sick) - time.monotonic()))
        paced_s = time.monotonic() - started
        busy = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        after = worker.count()  # None while the metrics page does not answer
        handled = after - handled_before if after is not None and handled_before is not None \
            else 0.0  # fmt: skip
        cores = [round(b / paced_s, 2) for b in busy]
        deadline = time.monotonic() + 60
        while len(latencies) < sick and time.monotonic() < deadline:
            await _drain(alerts, sent, latencies, timeout_ms=500)
    finally:
        await producer.stop()
        await alerts.stop()
    latencies.sort()
    if not latencies:
        return {"alerts": 0}
    return {
        "readings_per_s": round(readings_per_s),
        "alerts": len(latencies),
        "sent": sick,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "cpu_cores": dict(zip(["worker", "broker"], cores, strict=False)),
        # What one core of the worker handles on a live stream: readings per CPU-second.
        "paced_capacity": round(handled / busy[0]) if busy[0] > 0 and handled > 0 else None,
    }


async def _await_alert(producer: Any, alerts: Any, raw: str, pid: str, sent: dict[str, float],
                       latencies: list[float], timeout: float) -> None:  # fmt: skip
    record = await producer.send(raw, sick_message(pid, time.time()), key=pid.encode())
    sent[pid] = (await record).timestamp / 1000.0
    deadline = time.monotonic() + timeout
    while not latencies:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker raised no alert for the warm-up patient")
        await _drain(alerts, sent, latencies, timeout_ms=500)


async def _drain(alerts: Any, sent: dict[str, float], latencies: list[float],
                 timeout_ms: int = 0) -> None:  # fmt: skip
    batch = await alerts.getmany(timeout_ms=timeout_ms, max_records=1000)
    for records in batch.values():
        for r in records:
            alert = orjson.loads(r.value)
            opened = sent.pop(alert.get("patient_id", ""), None)
            if opened is not None and alert.get("status") == "open":
                latencies.append(max(0.0, r.timestamp / 1000.0 - opened))


# ------------------------------------------------------------------------------- memory
def memory(settings: Settings, patients: int, state_blob: Callable[[str], bytes],
           broker_pid: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Worker RSS and Redis bytes per active patient: ``patients`` checkpoints of a week of
    data are written to Redis, then one reading per patient makes the worker hold them all."""
    import redis

    from streams.topics import declare_once

    with fresh(settings, "memory") as run:
        client = redis.Redis.from_url(run.redis_url)
        redis_before = int(client.info("memory")["used_memory"])
        prefix = f"{run.topic_prefix}vigil:state:"
        pipe = client.pipeline(transaction=False)
        for p in range(patients):
            pid = f"bench-{p:06d}"
            pipe.set(prefix + pid, state_blob(pid))
            if p % 5000 == 4999:
                pipe.execute()
        pipe.execute()
        redis_after = int(client.info("memory")["used_memory"])
        declare_once(run)
        worker = start("worker", run)
        try:
            idle = _idle_rss(worker)
            messages = payloads(Workload("memory", patients, patients, 1), time.time(), seed=19)
            produce(run, messages)
            samples = watch([worker], patients, timeout=3600, broker_pid=broker_pid)
            held = rss_bytes(worker.proc.pid)
        finally:
            worker.stop()
    return {
        "patients": patients,
        "worker_rss_mb": round(held / 2**20, 1),
        "worker_rss_idle_mb": round(idle / 2**20, 1),
        "worker_bytes_per_patient": round((held - idle) / patients),
        "redis_bytes_per_patient": round((redis_after - redis_before) / patients),
        # each patient's first reading restores its checkpoint: a takeover's pace
        "restored_per_s": rate(samples, patients, ["worker"]).get("readings_per_s"),
    }


def _idle_rss(worker: Contender) -> int:
    """RSS once the worker answers on /metrics (started, nothing consumed yet)."""
    deadline = time.monotonic() + 120
    while worker.count() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return rss_bytes(worker.proc.pid)
