"""``vigilstream demo``: the embedded stack, a worker, a few wearables, and a live view.

The demo starts the local stack (unless it already runs), starts a worker process against it,
plays three synthetic patients' watches and phones into ``vitals.raw`` (single readings, phone
sync batches, and now and then a malformed message), and shows what comes out on
``vitals.clean`` and ``vitals.deadletter``. It ends by checking that every message it sent is
accounted for, then stops what it started.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vigilstream.config import Settings
from vigilstream.localstack import LocalStack, Server, free_port, port_in_use

PATIENTS = ("demo-001", "demo-002", "demo-003")


@dataclass
class Tally:
    """What the demo sent and what it has seen come out."""

    sent_messages: int = 0
    expected_clean: int = 0
    expected_dead: int = 0
    clean: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    last: str = ""

    def line(self, elapsed: float) -> str:
        dead = ", ".join(f"{k} {v}" for k, v in sorted(self.dead.items())) or "none"
        return (
            f"t+{elapsed:5.1f}s  sent {self.sent_messages:4d} messages  "
            f"clean readings {self.clean:4d}/{self.expected_clean:<4d}  "
            f"dead letters {sum(self.dead.values())}/{self.expected_dead} ({dead})  {self.last}"
        )


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


class Wearables:
    """A few synthetic patients: a watch every second, a phone sync every 5 s, a glitch now
    and then. (The full cohort simulator is ``vigilstream simulate``.)"""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.resting_hr = {p: self.rng.uniform(58, 78) for p in PATIENTS}
        self.tick = 0

    def messages(self, now: float) -> list[tuple[bytes, int, int]]:
        """Messages for this second: (payload, valid readings in it, invalid readings in it)."""
        self.tick += 1
        out: list[tuple[bytes, int, int]] = []
        for i, patient in enumerate(PATIENTS):
            hr = self.resting_hr[patient] + 6 * math.sin(self.tick / 20 + i) + self.rng.gauss(0, 2)
            reading = {
                "patient_id": patient,
                "device_id": f"watch-{i}",
                "signal": "heart_rate",
                "value": round(hr, 1),
                "unit": "bpm",
                "ts": _iso(now),
                "seq": self.tick,
            }
            out.append((json.dumps(reading).encode(), 1, 0))
        if self.tick % 5 == 0:
            patient = PATIENTS[self.tick // 5 % len(PATIENTS)]
            batch = {"patient_id": patient, "device_id": "phone-1", "readings": [
                {"signal": "spo2", "value": round(self.rng.uniform(95, 99), 1), "ts": now - 4},
                {"signal": "respiratory_rate", "value": self.rng.randint(12, 18), "ts": now - 3},
                {"signal": "steps", "value": self.rng.randint(0, 90), "ts": now - 5, "end_ts": now},
            ]}  # fmt: skip
            out.append((json.dumps(batch).encode(), 3, 0))
        if self.tick % 7 == 0:
            out.append((b'{"patient_id": "demo-001", "signal": "heart_rate", "value": ', 0, 1))
        return out


def _wait_healthy(url: str, worker: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the worker was not healthy within {timeout:g} s ({url})")


def _consumer(settings: Settings, topics: list[str]) -> Any:
    """A consumer positioned at the end of the output topics (only this run's output counts)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**settings.kafka_client_options(), group_id=None)
    deadline = time.monotonic() + 60
    while not all(consumer.partitions_for_topic(t) for t in topics):  # the worker creates them
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics {topics} were not created by the worker")
        time.sleep(0.5)
        consumer._client.cluster.request_update()
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic))
    ]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)  # resolve the end offsets now, before anything is produced
    return consumer


def run_demo(settings: Settings, duration: float | None = None) -> int:
    """Run the demo; returns the process exit code (0 when every message is accounted for)."""
    from kafka import KafkaProducer

    stack = LocalStack(settings.state_dir)
    started_stack = not all(stack.status().values())
    servers: dict[str, Server] = stack.up()
    web_port = settings.web_port if not port_in_use(settings.web_port) else free_port()
    settings = settings.model_copy(
        update={"broker": servers["broker"].address, "redis_url": servers["redis"].address,
                "web_port": web_port}
    )  # fmt: skip
    token = secrets.token_urlsafe(16)
    env = {**os.environ, "VIGIL_BROKER": settings.broker, "VIGIL_REDIS_URL": settings.redis_url,
           "VIGIL_WEB_PORT": str(web_port), "VIGIL_STATE_DIR": str(settings.state_dir),
           "VIGIL_TOPIC_PREFIX": settings.topic_prefix,
           "VIGIL_API_TOKENS": f"{token}:viewer", "VIGIL_CHECKPOINT_INTERVAL_S": "2"}  # fmt: skip
    log_path = settings.state_dir / "demo-worker.log"
    print(f"stack: broker {settings.broker}  redis {settings.redis_url}")
    print(f"worker: starting (log {log_path}) ...")
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "vigilstream", "worker"], env=env, stdout=log, stderr=log
        )
    tally = Tally()
    try:
        _wait_healthy(f"http://{settings.web_host}:{web_port}/health", worker, timeout=90)
        print(f"worker: healthy; metrics at http://{settings.web_host}:{web_port}/metrics")
        clean_topic = settings.topic("vitals.clean")
        consumer = _consumer(settings, [clean_topic, settings.topic("vitals.deadletter")])
        producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
        wearables = Wearables()
        started = time.monotonic()
        next_tick = started
        stop_at = started + duration if duration is not None else math.inf
        while time.monotonic() < stop_at:
            if time.monotonic() >= next_tick:
                for payload, good, bad in wearables.messages(time.time()):
                    producer.send(settings.topic("vitals.raw"), payload)
                    tally.sent_messages += 1
                    tally.expected_clean += good
                    tally.expected_dead += bad
                producer.flush()
                next_tick += 1.0
                print(tally.line(time.monotonic() - started), flush=True)
            _drain(consumer, clean_topic, tally, timeout_ms=200)
        # Let the last messages come through before judging.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            tally.clean < tally.expected_clean or sum(tally.dead.values()) < tally.expected_dead
        ):
            _drain(consumer, clean_topic, tally, timeout_ms=500)
        print(tally.line(time.monotonic() - started))
        base = f"http://{settings.web_host}:{web_port}"
        for patient in PATIENTS:
            print(_patient_line(base, patient, token))
        consumer.close()
        producer.close()
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        if started_stack:
            stack.down()
            print("stack: stopped")
    ok = tally.clean == tally.expected_clean and sum(tally.dead.values()) == tally.expected_dead
    print("all messages accounted for" if ok else "MISMATCH: some messages were not accounted for")
    return 0 if ok else 1


def _patient_line(base: str, patient: str, token: str) -> str:
    """One line of the patient view (GET /api/patients/{id}) the care-team API serves."""
    request = urllib.request.Request(f"{base}/api/patients/{patient}")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            view = json.loads(resp.read())
    except OSError as exc:
        return f"{patient}: patient view unavailable ({exc})"
    news2 = view["news2"]
    hr = view["baselines"].get("heart_rate", {})
    return (
        f"{patient}: {view['readings']} readings  NEWS2 {news2['total']} ({news2['risk']}, "
        f"missing {', '.join(news2['missing']) or 'none'})  heart-rate baseline "
        f"{hr.get('mean')} ± {hr.get('sd')} bpm, n={hr.get('n')}, warm={hr.get('warm')}"
    )


def _drain(consumer: Any, clean_topic: str, tally: Tally, timeout_ms: int) -> None:
    for tp, records in consumer.poll(timeout_ms=timeout_ms).items():
        for record in records:
            doc = json.loads(record.value)
            if tp.topic == clean_topic:
                readings = doc.get("readings", [doc])
                tally.clean += len(readings)
                last = readings[-1]
                tally.last = f"last: {last['patient_id']} {last['signal']}={last['value']}"
            else:
                tally.dead[doc["reason"]] += 1
