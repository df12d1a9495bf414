"""A simulated cohort: its messages in delivery order and its ground truth; JSONL and Kafka.

On disk a cohort is a JSONL file (docs/spec.md ``--out FILE``) with its ground truth beside it,
``cohort.jsonl`` + ``cohort.truth.json`` (or a directory with ``messages.jsonl`` and
``truth.json`` when the path does not end in ``.jsonl``). One envelope per line:
``{"at": delivery epoch s, "topic": "vitals.raw|patients|outcomes", "key": ..., "value": {...}}``,
or ``"raw": "..."`` instead of ``value`` for a deliberately malformed message) and
``truth.json`` (patients, episodes, benign surprises, counts).
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from vigilstream.progress import Progress
from vigilstream.simulation.cohort import Patient, make_patient
from vigilstream.simulation.device import deliver
from vigilstream.simulation.episodes import (
    DAY,
    HOUR,
    Episode,
    Surprise,
    plan_episodes,
    plan_surprises,
)
from vigilstream.simulation.oximetry import draw_skin_type
from vigilstream.simulation.physiology import simulate_physiology

DEFAULT_START = 1767571200.0  # 2026-01-05T00:00:00Z, a Monday; fixed so output is reproducible


@dataclass(frozen=True, order=True)
class Envelope:
    """One message to deliver: when, to which topic, with which key."""

    at: float
    seq: int
    topic: str
    key: str
    value: bytes


@dataclass
class Cohort:
    seed: int
    days: int
    start: float
    patients: list[Patient] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    surprises: list[Surprise] = field(default_factory=list)
    messages: list[Envelope] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def truth(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "start": self.start,
            "patients": [p.as_dict() for p in self.patients],
            "episodes": [e.as_dict() for e in self.episodes],
            "surprises": [s.as_dict() for s in self.surprises],
            "counts": self.counts,
        }

    # ---------------------------------------------------------------- files
    def write(self, path: Path) -> None:
        messages, truth = files_of(path)
        messages.parent.mkdir(parents=True, exist_ok=True)
        truth.write_bytes(orjson.dumps(self.truth(), option=orjson.OPT_INDENT_2))
        with messages.open("wb") as out:
            for m in self.messages:
                out.write(envelope_line(m))

    @classmethod
    def read(cls, path: Path) -> Cohort:
        messages, truth_file = files_of(path)
        truth = orjson.loads(truth_file.read_bytes())
        cohort = cls(truth["seed"], truth["days"], truth["start"])
        cohort.patients = [
            Patient(**{k: v for k, v in p.items() if k not in ("age_band", "skin_group")})
            for p in truth["patients"]
        ]
        cohort.episodes = [Episode(**e) for e in truth["episodes"]]
        cohort.surprises = [Surprise(**s) for s in truth["surprises"]]
        cohort.counts = truth["counts"]
        with messages.open("rb") as lines:
            for seq, line in enumerate(lines):
                doc = orjson.loads(line)
                value = doc["raw"].encode() if "raw" in doc else orjson.dumps(doc["value"])
                cohort.messages.append(Envelope(doc["at"], seq, doc["topic"], doc["key"], value))
        return cohort


def files_of(path: Path) -> tuple[Path, Path]:
    """(messages file, truth file) of a cohort path: ``x.jsonl`` + ``x.truth.json``, or a
    directory holding ``messages.jsonl`` + ``truth.json``."""
    if path.suffix == ".jsonl":
        return path, path.with_suffix(".truth.json")
    return path / "messages.jsonl", path / "truth.json"


def envelope_line(m: Envelope) -> bytes:
    head = orjson.dumps({"at": round(m.at, 3), "topic": m.topic, "key": m.key})[:-1]
    try:
        orjson.loads(m.value)
    except orjson.JSONDecodeError:
        return head + b',"raw":' + orjson.dumps(m.value.decode()) + b"}\n"
    return head + b',"value":' + m.value + b"}\n"


def _outcomes(
    rng: np.random.Generator, patient: Patient, episodes: list[Episode], start: float, days: int
) -> list[tuple[float, dict[str, Any]]]:
    """Outcome events: each episode's outcome at its critical point (reported within 2 h),
    ``recovered`` at its end, and a weekly ``no_event`` review for a quiet week."""
    pid = patient.patient_id
    out = []
    for e in episodes:
        out.append(
            (
                e.critical + rng.uniform(0.5, 2) * HOUR,
                {"patient_id": pid, "kind": e.outcome, "ts": e.critical},
            )
        )
        if e.end < start + days * DAY:
            out.append((e.end + HOUR, {"patient_id": pid, "kind": "recovered", "ts": e.end}))
    for week_end in np.arange(start + 7 * DAY, start + days * DAY + 1, 7 * DAY):
        if not any(e.onset < week_end and e.end > week_end - 7 * DAY for e in episodes):
            out.append(
                (
                    float(week_end) + HOUR,
                    {"patient_id": pid, "kind": "no_event", "ts": float(week_end)},
                )
            )
    return out


def simulate(
    seed: int, patients: int, days: int, start: float = DEFAULT_START, progress: bool | None = None
) -> Cohort:
    """The cohort of ``seed``: patient i is the same whatever the cohort size."""
    if patients < 1 or days < 1:
        raise ValueError("patients and days must be at least 1")
    start = float(start - start % 60)
    cohort = Cohort(seed, days, start)
    per_patient: list[list[Envelope]] = []
    counts: Counter[str] = Counter()
    malformed: Counter[str] = Counter()
    seq = 0
    with Progress(patients, "simulating", enabled=progress) as bar:
        for i in range(1, patients + 1):
            rng = np.random.default_rng([seed, i])
            sensor = np.random.default_rng([seed, i, 14])  # skin tone and sensor errors
            patient = replace(make_patient(rng, i), skin_type=draw_skin_type(sensor))
            episodes = plan_episodes(rng, patient, start, days)
            surprises = plan_surprises(rng, patient, start, days, episodes)
            body = simulate_physiology(rng, patient, start, days, episodes, surprises)
            delivery = deliver(rng, patient, body, sensor)
            pid = patient.patient_id
            batch = [(start - 60.0, "patients", orjson.dumps(patient.profile()))]
            batch += [(t, topic, v) for t, topic, v in delivery.messages]
            batch += [
                (t, "outcomes", orjson.dumps(o))
                for t, o in _outcomes(rng, patient, episodes, start, days)
            ]
            batch.sort(key=lambda m: m[0])
            envelopes = []
            for at, topic, value in batch:
                envelopes.append(Envelope(round(at, 3), seq, topic, pid, value))
                seq += 1
            per_patient.append(envelopes)
            cohort.patients.append(patient)
            cohort.episodes += episodes
            cohort.surprises += surprises
            counts["readings"] += delivery.readings
            counts["duplicate_readings"] += delivery.duplicates
            malformed.update(delivery.malformed)
            bar.update()
    cohort.messages = list(heapq.merge(*per_patient))
    by_topic = Counter(m.topic for m in cohort.messages)
    cohort.counts = {
        **counts,
        "messages": len(cohort.messages),
        "by_topic": dict(by_topic),
        "malformed": dict(sorted(malformed.items())),
        "malformed_total": sum(malformed.values()),
    }
    return cohort


def produce(
    cohort: Cohort,
    producer: Any,
    topic_names: dict[str, str],
    rate: float | None,
    progress: bool | None = None,
) -> int:
    """Send the cohort's messages in delivery order at ``rate`` messages/s (None: as fast as
    possible) with a kafka-python ``KafkaProducer``; returns how many were sent."""
    sent = 0
    began = time.monotonic()
    with Progress(len(cohort.messages), "producing", enabled=progress) as bar:
        for m in cohort.messages:
            producer.send(topic_names[m.topic], key=m.key.encode(), value=m.value)
            sent += 1
            bar.update()
            if rate:
                ahead = began + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    producer.flush()
    return sent
