"""``vigilstream demo``: the product in a minute — a simulated cohort through a real worker.

The demo starts the embedded stack (unless it already runs), starts a worker process against
it, and plays a simulated cohort (``vigilstream.simulation``: 12 patients, 12 days of watch and
phone data by default, with the malformed and resent messages real devices send) into
``vitals.raw`` in *accelerated event time*: the cohort's days ending now are delivered in about
three quarters of ``--duration`` seconds, in the order the phones delivered them. The worker
sees a history long enough for warm personal baselines, so deteriorations (hours) and drifts
(days) open alerts and the suggestion policy sends suggestions. The live view
(``vigilstream.demo_view``) shows throughput, dead letters, each clinical alert as it opens
(kind, severity, the one sentence a nurse gets) and the suggestions as they are sent.

At the end every message is accounted for: each valid reading came out on ``vitals.clean``,
each resent one was counted as a duplicate by the worker, each malformed message was
dead-lettered with its reason. Each run uses its own topic and key prefix, so runs never see
each other's patients. Ctrl-C stops everything the demo started.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from vigilstream.config import Settings
from vigilstream.localstack import LocalStack, Server, free_port, port_in_use, stop_child

DAY = 86400.0
PLAY_SHARE = 0.75  # of --duration spent delivering the cohort; the rest lets the worker finish
DEFAULT_SEED = 16  # its 12 patients hold hours-scale deteriorations and a days-scale decline


@dataclass
class Tally:
    """What the demo sent and what it has seen come out of the worker."""

    expected_readings: int = 0
    expected_duplicates: int = 0
    expected_dead: Counter[str] = field(default_factory=Counter)
    sent_messages: int = 0
    clean: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    alerts_opened: Counter[str] = field(default_factory=Counter)  # kind -> episodes opened
    alert_changes: int = 0
    suggestions: Counter[str] = field(default_factory=Counter)
    event_time: float = 0.0  # the cohort's clock: event time of the latest delivered message

    @property
    def accounted(self) -> bool:
        return (self.clean == self.expected_readings
                and self.duplicates == self.expected_duplicates
                and self.dead == self.expected_dead)  # fmt: skip


@dataclass(frozen=True)
class Shown:
    """One line of the live view: an alert as it opens or escalates, or a suggestion sent."""

    what: str  # "alert" or "suggestion"
    event_time: float
    patient_id: str
    kind: str
    severity: str
    text: str


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


class Outputs:
    """Reads the worker's output topics into the tally and the lines to show."""

    CLINICAL_SHOWN = ("open", "escalated")

    def __init__(self, settings: Settings, tally: Tally) -> None:
        self.names = {name: settings.topic(name) for name in
                      ("vitals.clean", "vitals.deadletter", "alerts", "suggestions")}  # fmt: skip
        self.kind_of = {v: k for k, v in self.names.items()}
        self.consumer = _consumer(settings, list(self.names.values()))
        self.tally = tally

    def drain(self, timeout_ms: int) -> list[Shown]:
        shown: list[Shown] = []
        for tp, records in self.consumer.poll(timeout_ms=timeout_ms, max_records=5000).items():
            topic = self.kind_of[tp.topic]
            for record in records:
                doc = orjson.loads(record.value)
                line = self._take(topic, doc)
                if line is not None:
                    shown.append(line)
        return shown

    def _take(self, topic: str, doc: dict[str, Any]) -> Shown | None:
        tally = self.tally
        if topic == "vitals.clean":
            tally.clean += sum(1 for r in doc.get("readings", [doc]) if "signal" in r)
        elif topic == "vitals.deadletter":
            tally.dead[doc["reason"]] += 1
        elif topic == "alerts":
            tally.alert_changes += 1
            if doc["status"] == "open":
                tally.alerts_opened[doc["kind"]] += 1
            if doc["status"] in self.CLINICAL_SHOWN and doc["kind"] not in TECHNICAL_KINDS:
                return Shown("alert", _epoch(doc["event_time"]), doc["patient_id"], doc["kind"],
                             f"{doc['severity']}{' ↑' if doc['status'] == 'escalated' else ''}",
                             doc["summary"])  # fmt: skip
        elif topic == "suggestions":
            tally.suggestions[doc["kind"]] += 1
            return Shown("suggestion", _epoch(doc["decided_at"]), doc["patient_id"],
                         doc["kind"], "", doc["text"])  # fmt: skip
        return None


TECHNICAL_KINDS = ("device_offline", "battery_low", "not_worn")


def _epoch(value: Any) -> float:
    from vigilstream.evaluation.recordings import epoch

    return epoch(value, "worker output")


def duplicates_counted(metrics_url: str) -> int:
    """``vigil_readings_duplicate_total`` summed over its labels, from the worker's /metrics."""
    with urllib.request.urlopen(metrics_url, timeout=5) as resp:
        text = resp.read().decode()
    pattern = re.compile(r"^vigil_readings_duplicate_total(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)
    return int(sum(float(v) for v in pattern.findall(text)))


def plan_cohort(seed: int, patients: int, days: int, now: float) -> Any:
    """The cohort the demo plays: ``days`` ending (a few minutes before) now."""
    from vigilstream.simulation import simulate

    return simulate(seed, patients, days, start=now - days * DAY - 600, progress=False)


def expected_outcome(cohort: Any, tally: Tally) -> None:
    """What the worker must produce for the cohort (the simulator knows what it broke)."""
    tally.expected_readings = int(cohort.counts["readings"])
    tally.expected_duplicates = int(cohort.counts["duplicate_readings"])
    tally.expected_dead = Counter(cohort.counts["malformed"])


def worker_environment(settings: Settings, web_port: int, tokens: dict[str, str],
                       days: int, prefix: str) -> dict[str, str]:  # fmt: skip
    """The demo worker's configuration: this run's prefix, tokens for both roles, and horizons
    (stale readings, alerting, suggestions) that treat the cohort's accelerated history as
    live."""
    return {**os.environ, "VIGIL_BROKER": settings.broker, "VIGIL_REDIS_URL": settings.redis_url,
            "VIGIL_WEB_PORT": str(web_port), "VIGIL_STATE_DIR": str(settings.state_dir),
            "VIGIL_TOPIC_PREFIX": prefix,
            "VIGIL_API_TOKENS": ",".join(f"{t}:{role}" for role, t in tokens.items()),
            "VIGIL_STALE_HORIZON_H": str(days * 24 + 24),
            "VIGIL_ALERT_HORIZON_H": str(days * 24 + 24),
            "VIGIL_SUGGESTION_STALE_AFTER_S": str((days + 1) * DAY),
            "VIGIL_CHECKPOINT_INTERVAL_S": "5"}  # fmt: skip


def run_demo(settings: Settings, duration: float | None = None, patients: int = 12,
             days: int = 12, seed: int = DEFAULT_SEED, keep: bool = False) -> int:  # fmt: skip
    """Run the demo; returns the process exit code (0 when every message is accounted for).

    ``duration`` None plays the cohort over 75 s; ``keep`` leaves the worker and stack running
    after the summary until Ctrl-C, to look around the care-team board.
    """
    from kafka import KafkaProducer

    from vigilstream.demo_view import DemoView

    duration = 75.0 if duration is None else duration
    if duration < 10 or patients < 1 or days < 2:
        raise ValueError("--duration must be at least 10 s, --patients 1 or more, --days 2 or more")
    stack = LocalStack(settings.state_dir)
    started_stack = not all(stack.status().values())
    servers: dict[str, Server] = stack.up()
    web_port = settings.web_port if not port_in_use(settings.web_port) else free_port()
    prefix = f"{settings.topic_prefix}demo-{secrets.token_hex(3)}-"
    settings = settings.model_copy(
        update={"broker": servers["broker"].address, "redis_url": servers["redis"].address,
                "web_port": web_port, "topic_prefix": prefix}
    )  # fmt: skip
    tokens = {"viewer": secrets.token_urlsafe(12), "clinician": secrets.token_urlsafe(12)}
    base = f"http://{settings.web_host}:{web_port}"
    view = DemoView(base, tokens, duration)
    view.note(f"stack: broker {settings.broker}  redis {settings.redis_url}  prefix {prefix}")
    cohort = plan_cohort(seed, patients, days, time.time())
    tally = Tally()
    expected_outcome(cohort, tally)
    log_path = settings.state_dir / "demo-worker.log"
    view.note(f"worker: starting (log {log_path}) ...")
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "vigilstream", "worker"],
            env=worker_environment(settings, web_port, tokens, days, prefix),
            stdout=log, stderr=log,
        )  # fmt: skip
    interrupted = False
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C
    try:
        _wait_healthy(f"{base}/health", worker, timeout=120)
        view.started(cohort, tally)
        outputs = Outputs(settings, tally)
        producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
        with view.live():
            play(cohort, settings, producer, outputs, view, duration)
            deadline = time.monotonic() + max(30.0, duration * (1 - PLAY_SHARE))
            while time.monotonic() < deadline:
                view.show(outputs.drain(timeout_ms=300))
                tally.duplicates = duplicates_counted(f"{base}/metrics")
                if tally.accounted:
                    break
        producer.close()
        outputs.consumer.close()
        view.summary(tally)
        if keep:
            view.note("the worker keeps running: open the board above; Ctrl-C stops everything")
            while worker.poll() is None:
                time.sleep(1)
    except KeyboardInterrupt:
        interrupted = True
        view.note("interrupted: stopping what the demo started")
    finally:
        stop_child(worker)
        if started_stack:
            stack.down()
            view.note("stack: stopped")
    if interrupted:
        return 130
    return 0 if tally.accounted else 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def play(cohort: Any, settings: Settings, producer: Any, outputs: Outputs, view: Any,
         duration: float) -> None:  # fmt: skip
    """Deliver the cohort's messages in delivery order, its days squeezed into the play time."""
    messages = cohort.messages
    first, last = messages[0].at, messages[-1].at
    speed = max(1.0, (last - first) / (duration * PLAY_SHARE))
    names = {t: settings.topic(t) for t in ("vitals.raw", "patients", "outcomes")}
    began = time.monotonic()
    tally = outputs.tally
    for m in messages:
        due = began + (m.at - first) / speed
        while (wait := due - time.monotonic()) > 0.05:
            producer.flush()
            view.show(outputs.drain(timeout_ms=int(min(wait, 0.25) * 1000)))
        producer.send(names[m.topic], key=m.key.encode(), value=m.value)
        tally.sent_messages += 1
        tally.event_time = m.at
    producer.flush()
