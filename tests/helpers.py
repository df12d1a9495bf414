"""Small helpers shared by the integration tests: a worker process, topic readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigilstream.config import Settings
from vigilstream.localstack import free_port, stop_child


class WorkerProcess:
    """``vigilstream worker`` as a real process, configured through the environment."""

    def __init__(self, settings: Settings, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.port = free_port()
        env = {
            **os.environ,
            "VIGIL_BROKER": settings.broker,
            "VIGIL_REDIS_URL": settings.redis_url,
            "VIGIL_TOPIC_PREFIX": settings.topic_prefix,
            "VIGIL_WEB_PORT": str(self.port),
            "VIGIL_STATE_DIR": str(settings.state_dir),
            "VIGIL_SESSION_TIMEOUT_S": str(settings.session_timeout_s),
            "VIGIL_REBALANCE_TIMEOUT_S": str(settings.rebalance_timeout_s),
            "VIGIL_PARTITIONS": str(settings.partitions),
            "VIGIL_CHECKPOINT_INTERVAL_S": str(settings.checkpoint_interval_s),
            "VIGIL_API_TOKENS": "view-tok:viewer,clin-tok:clinician",
            "VIGIL_ESCALATE_AFTER_S": str(settings.escalate_after_s),
            "VIGIL_OFFLINE_AFTER_S": str(settings.offline_after_s),
            "VIGIL_WEBHOOK_URLS": settings.webhook_urls,
            "VIGIL_WEBHOOK_SECRET": (
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
            ),
            "VIGIL_WEBHOOK_FIRST_BACKOFF_S": str(settings.webhook_first_backoff_s),
            "VIGIL_WEBHOOK_MAX_ATTEMPTS": str(settings.webhook_max_attempts),
            **(extra_env or {}),
        }
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vigilstream", "worker"], env=env, stdout=log, stderr=log
            )

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, token)

    def request(
        self, method: str, path: str, token: str | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method
        )
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_when_up(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        """GET a path as soon as the web server answers, whatever the status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited: {self.log_tail()}"
            try:
                return self.get(path)
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"worker web server not up in {timeout} s: {self.log_tail()}")

    def wait_healthy(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited: {self.log_tail()}"
            try:
                status, body = self.get("/health")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not healthy in {timeout} s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def metrics_text(self) -> str:
        status, body = self.get("/metrics")
        assert status == 200, body
        return body.decode()

    def stop(self) -> None:
        stop_child(self.proc)


READINGS_PER_PATIENT = 60  # 20 minutes of HR, RR and SpO2 at one-minute steps


def vitals(patient: str, n: int, start: float, sick: bool) -> list[dict]:
    """Resting vitals at one-minute steps; a sick patient's become NEWS2-high half way."""
    out = []
    for i in range(n):
        bad = sick and i >= n // 2
        signal_name, normal, abnormal = [("heart_rate", 64 + i % 5, 132),
                                         ("respiratory_rate", 14, 29),
                                         ("spo2", 97, 89)][i % 3]  # fmt: skip
        value = abnormal if bad else normal
        out.append({"patient_id": patient, "device_id": "w1", "signal": signal_name,
                    "value": value, "ts": start + (i // 3) * 60.0})  # fmt: skip
    return out


def produce(settings: Settings, docs: list[dict]) -> None:
    """Native readings to ``vitals.raw`` with kafka-python (a client other than the worker's)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
    for doc in docs:
        producer.send(settings.topic("vitals.raw"), json.dumps(doc).encode(),
                      key=doc["patient_id"].encode())  # fmt: skip
    producer.flush()
    producer.close()


def cohort(n_patients: int, start: float) -> list[dict]:
    """Patients interleaved minute by minute, as many gateways would send them."""
    per = [vitals(f"p-{i:03d}", READINGS_PER_PATIENT, start, sick=i % 2 == 0)
           for i in range(n_patients)]  # fmt: skip
    return [doc for step in zip(*per, strict=True) for doc in step]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    """Poll ``condition`` until it is truthy; fail with ``what`` after ``timeout`` seconds.

    The timeout only bounds a failing test: passing tests wait for the condition, never for
    a time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def read_topic(settings: Settings, topic: str, expected: int, timeout: float = 60) -> list[Any]:
    """Read records from the start of a topic until ``expected`` arrived or time is up.

    Returns (key, decoded JSON value) pairs; waits a little longer after reaching the count so
    that an extra (doubled) record would be seen too.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        settings.topic(topic),
        **settings.kafka_client_options(),
        group_id=None,
        auto_offset_reset="earliest",
    )
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    settle_until = None
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                out.extend((r.key, None if r.value is None else json.loads(r.value))
                           for r in records)  # fmt: skip
            if len(out) >= expected:
                settle_until = settle_until or time.monotonic() + 1.5
                if time.monotonic() >= settle_until:
                    break
    finally:
        consumer.close()
    return out
