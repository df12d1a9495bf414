"""The simulator's cohort through the real broker and worker: nothing but the deliberately
malformed share is dead-lettered, and every unique reading reaches ``vitals.clean`` once."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from kafka import KafkaProducer

from tests.helpers import WorkerProcess, read_topic
from vigilstream.config import Settings
from vigilstream.simulation import simulate
from vigilstream.simulation.recording import Cohort, produce

pytestmark = pytest.mark.integration


def cohort_with_malformed_messages() -> Cohort:
    """The first seed whose one-day, three-patient cohort holds a malformed message."""
    start = time.time() - 86400
    for seed in range(1, 50):
        cohort = simulate(seed, patients=3, days=1, start=start)
        if cohort.counts["malformed_total"]:
            return cohort
    raise AssertionError("no seed produced a malformed message")


def test_simulated_cohort_passes_ingest_unchanged(settings: Settings,
                                                   worker: WorkerProcess) -> None:  # fmt: skip
    cohort = cohort_with_malformed_messages()
    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
    names = {t: settings.topic(t) for t in ("vitals.raw", "patients", "outcomes")}
    try:
        sent = produce(cohort, producer, names, rate=None, progress=False)
    finally:
        producer.close()
    assert sent == len(cohort.messages)

    dead = read_topic(settings, "vitals.deadletter", cohort.counts["malformed_total"], 90)
    assert Counter(d["reason"] for _, d in dead) == Counter(cohort.counts["malformed"])

    expected = cohort.counts["readings"]
    clean = read_topic(settings, "vitals.clean", 1, 90)
    deadline = time.monotonic() + 90
    while True:
        readings = [r for _, v in clean if "outcome" not in v for r in v.get("readings", [v])]
        if len(readings) >= expected or time.monotonic() > deadline:
            break
        time.sleep(2)
        clean = read_topic(settings, "vitals.clean", len(clean) + 1, 10)
    assert len(readings) == expected  # resent copies were recognised, nothing doubled or lost
