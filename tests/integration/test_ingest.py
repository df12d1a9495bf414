"""Ingest through the real worker and broker: every input format, produced by clients that share
no code with Faust (librdkafka via confluent-kafka, and kafka-python), profiles and consent,
duplicates, and a property-based flood of malformed input."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Producer as RdKafkaProducer
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from kafka import KafkaProducer

from tests.helpers import WorkerProcess, read_topic, wait_for
from tests.streams.samples import EPOCH, VALID_INPUTS, iso, rounded
from vigilstream.config import Settings
from vigilstream.messages import SIGNALS

pytestmark = pytest.mark.integration


def rdkafka(settings: Settings) -> RdKafkaProducer:
    return RdKafkaProducer({"bootstrap.servers": ",".join(settings.bootstrap_servers)})


def readings_of(events: list[tuple[bytes, dict]]) -> list[dict]:
    return [r for _, value in events for r in value.get("readings", [value])]


def test_every_format_from_librdkafka_arrives_normalized(
    settings: Settings, worker: WorkerProcess
) -> None:
    producer = rdkafka(settings)
    for _, doc, _ in VALID_INPUTS:
        producer.produce(settings.topic("vitals.raw"), json.dumps(doc).encode())
    assert producer.flush(30) == 0
    expected = [(signal, value) for _, _, pairs in VALID_INPUTS for signal, value in pairs]
    events = read_topic(settings, "vitals.clean", expected=len(VALID_INPUTS) - 1)
    readings = readings_of(events)
    assert len(readings) == len(expected)
    got = Counter(
        (r["signal"], json.dumps(rounded(r["value"], 1), sort_keys=True)) for r in readings
    )
    want = Counter((s, json.dumps(rounded(v, 1), sort_keys=True)) for s, v in expected)
    assert got == want
    for key, value in events:  # keyed by patient, so one worker owns each patient downstream
        assert key.decode() == value["patient_id"]
    formats = Counter(r["source_format"] for r in readings)
    assert formats["fhir"] == 10 and formats["omh"] == 9 and formats["device_status"] == 1
    assert all(r["ts"] <= time.time() for r in readings)
    assert read_topic(settings, "vitals.deadletter", expected=0, timeout=2) == []


def test_compressed_batches_from_librdkafka_arrive(
    settings: Settings, worker: WorkerProcess
) -> None:
    """Producers compress their batches (Java clients and gateways often use lz4, snappy or
    zstd): the worker reads every codec Kafka defines, not only the gzip Python has built in.
    Without a codec library, aiokafka cannot decode such a batch at all."""
    codecs = ("gzip", "snappy", "lz4", "zstd")
    raw = settings.topic("vitals.raw")
    for codec in codecs:
        producer = RdKafkaProducer({"bootstrap.servers": ",".join(settings.bootstrap_servers),
                                    "compression.type": codec, "linger.ms": 100})  # fmt: skip
        for k in range(5):
            doc = {"patient_id": f"p-{codec}", "signal": "heart_rate", "value": 60 + k,
                   "ts": iso(k * 60.0)}  # fmt: skip
            producer.produce(raw, json.dumps(doc).encode())
        assert producer.flush(30) == 0

    def arrived() -> Counter[str] | None:
        events = read_topic(settings, "vitals.clean", expected=0, timeout=5)
        got = Counter(r["patient_id"] for r in readings_of(events))
        return got if all(got[f"p-{codec}"] == 5 for codec in codecs) else None

    got = wait_for(arrived, "five readings of every codec on vitals.clean", timeout=120)
    assert sum(got.values()) == 5 * len(codecs)
    assert read_topic(settings, "vitals.deadletter", expected=0, timeout=2) == []


def test_consent_profiles_and_duplicates(settings: Settings, worker: WorkerProcess) -> None:
    producer = KafkaProducer(**settings.kafka_client_options())
    patients = settings.topic("patients")
    producer.send(patients, key=b"p-refused", value=json.dumps(
        {"patient_id": "p-refused", "age": 80, "sex": "F", "consent": False}).encode())  # fmt: skip
    producer.send(patients, key=b"p-ok", value=json.dumps(
        {"patient_id": "p-ok", "age": 50, "consent": True}).encode())  # fmt: skip
    producer.send(patients, key=b"p-bad", value=b'{"patient_id": "p-bad", "age": 300}')
    producer.flush()
    raw = settings.topic("vitals.raw")

    def reading(patient: str, value: float, offset: float = 0.0) -> bytes:
        return json.dumps({"patient_id": patient, "signal": "heart_rate", "value": value,
                           "ts": iso(offset)}).encode()  # fmt: skip

    # Sent right after the profile, on another topic: the worker makes its profile directory
    # current as of the reading's producer timestamp before it judges consent.
    producer.send(raw, reading("p-refused", 70))
    producer.flush()

    def both_dead_lettered() -> list[dict] | None:
        dead = [d for _, d in read_topic(settings, "vitals.deadletter", 2, timeout=2)
                if d["reason"] == "no_consent" or d["source_topic"] == patients]  # fmt: skip
        return dead if len(dead) >= 2 else None

    dead = wait_for(both_dead_lettered, "the refusal and the bad profile dead-lettered", 60)
    refused = [d for d in dead if d["reason"] == "no_consent"]
    assert len(refused) == 1 and refused[0]["detail"] == "monitoring consent withdrawn or refused"
    profile_errors = [d for d in dead if d["source_topic"] == patients]
    assert [d["reason"] for d in profile_errors] == ["schema"]

    for _ in range(3):  # a device resending the same reading
        producer.send(raw, reading("p-ok", 81.0))
    producer.flush()
    clean = [r for r in readings_of(read_topic(settings, "vitals.clean", expected=1))
             if r["patient_id"] == "p-ok"]  # fmt: skip
    assert len(clean) == 1
    _, metrics = worker.get("/metrics")
    assert "vigil_readings_duplicate_total 2.0" in metrics.decode()
    assert 'vigil_readings_rejected_total{reason="no_consent"}' in metrics.decode()


# --------------------------------------------------------------------------- property test
_ts = itertools.count()


def _unique_ts() -> float:
    """Distinct event times for valid readings, so none is (rightly) dropped as a duplicate."""
    return EPOCH - 3600 + next(_ts)  # whole seconds: FHIR times below carry no fraction


PLAUSIBLE = {
    "heart_rate": st.floats(30, 220),
    "respiratory_rate": st.floats(6, 40),
    "spo2": st.floats(70, 100),
    "body_temperature": st.floats(34, 41),
    "hrv_rmssd": st.floats(5, 200),
}
patient_ids = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
signals = st.sampled_from(sorted(PLAUSIBLE))


@st.composite
def valid_native(draw: st.DrawFn) -> tuple[bytes, int, list[str]]:
    signal = draw(signals)
    doc = {"patient_id": draw(patient_ids), "signal": signal, "value": draw(PLAUSIBLE[signal]),
           "ts": _unique_ts()}  # fmt: skip
    return json.dumps(doc).encode(), 1, []


@st.composite
def valid_batch(draw: st.DrawFn) -> tuple[bytes, int, list[str]]:
    n = draw(st.integers(2, 6))
    items = []
    for _ in range(n):
        signal = draw(signals)
        items.append({"signal": signal, "value": draw(PLAUSIBLE[signal]), "ts": _unique_ts()})
    doc = {"patient_id": draw(patient_ids), "device_id": "phone", "readings": items}
    return json.dumps(doc).encode(), n, []


@st.composite
def valid_fhir(draw: st.DrawFn) -> tuple[bytes, int, list[str]]:
    ts = _unique_ts()
    doc = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
           "subject": {"reference": f"Patient/{draw(patient_ids)}"},
           "effectiveDateTime": iso(ts - EPOCH),
           "valueQuantity": {"value": draw(st.integers(30, 200)), "code": "/min"}}  # fmt: skip
    return json.dumps(doc).encode(), 1, []


def _reading(**overrides: Any) -> dict[str, Any]:
    return {"patient_id": "p-x", "signal": "heart_rate", "value": 70, "ts": _unique_ts(),
            **overrides}  # fmt: skip


@st.composite
def malformed(draw: st.DrawFn) -> tuple[bytes, int, list[str]]:
    kind = draw(st.sampled_from([
        "invalid_json", "binary", "extra_field", "wrong_type", "unknown_signal", "implausible",
        "future", "stale", "unit", "patient_id", "not_object", "no_format"]))  # fmt: skip
    letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyzQWERTY", min_size=1, max_size=12)
    if kind == "invalid_json":
        raw = b"{" + draw(st.text(max_size=60)).encode() + b","
        return raw, 0, ["invalid_json"]
    if kind == "binary":
        return b"\x00" + draw(st.binary(max_size=60)), 0, ["invalid_json"]
    if kind == "extra_field":
        doc = _reading(**{"x_" + draw(letters): draw(st.integers())})
        return json.dumps(doc).encode(), 0, ["schema"]
    if kind == "wrong_type":
        doc = _reading(value=draw(letters))
        return json.dumps(doc).encode(), 0, ["schema"]
    if kind == "unknown_signal":
        signal = draw(letters.filter(lambda s: s not in SIGNALS and s != "device_status"))
        return json.dumps(_reading(signal=signal)).encode(), 0, ["unknown_signal"]
    if kind == "implausible":
        value = draw(st.one_of(st.floats(301, 1e6), st.floats(-1e6, 19.9)))
        return json.dumps(_reading(value=value)).encode(), 0, ["implausible_value"]
    if kind == "future":
        ahead = draw(st.floats(3600, 3e7))
        return json.dumps(_reading(ts=time.time() + ahead)).encode(), 0, ["future_timestamp"]
    if kind == "stale":
        age = draw(st.floats(29 * 86400, 3e8))
        return json.dumps(_reading(ts=time.time() - age)).encode(), 0, ["stale_timestamp"]
    if kind == "unit":
        unit = draw(letters.filter(lambda u: u.lower() not in ("bpm", "count/min")))
        return json.dumps(_reading(unit=unit)).encode(), 0, ["unit"]
    if kind == "patient_id":
        bad = draw(st.text(min_size=1, max_size=70).filter(lambda p: not _valid_pid(p)))
        return json.dumps(_reading(patient_id=bad)).encode(), 0, ["schema"]
    if kind == "not_object":
        doc = draw(st.one_of(st.integers(), st.lists(st.integers(), max_size=3), st.text()))
        return json.dumps(doc).encode(), 0, ["schema"]
    return json.dumps({draw(letters): 1}).encode(), 0, ["schema"]


def _valid_pid(value: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value) is not None


def test_property_flood_nothing_lost_nothing_doubled(
    settings: Settings, worker: WorkerProcess
) -> None:
    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
    raw_topic = settings.topic("vitals.raw")
    sent: list[tuple[bytes, int, list[str]]] = []

    @hsettings(max_examples=25, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(st.one_of(valid_native(), valid_batch(), valid_fhir(), malformed(),
                              malformed()), min_size=40, max_size=60))  # fmt: skip
    def produce(payloads: list[tuple[bytes, int, list[str]]]) -> None:
        for payload in payloads:
            producer.send(raw_topic, payload[0])
        sent.extend(payloads)

    produce()
    producer.flush()
    assert len(sent) >= 1000
    want_clean = sum(n for _, n, _ in sent)
    want_dead = Counter(reason for _, _, reasons in sent for reason in reasons)
    assert want_clean > 300 and sum(want_dead.values()) > 300

    dead = read_topic(settings, "vitals.deadletter", expected=sum(want_dead.values()), timeout=120)
    clean = readings_of(read_topic(settings, "vitals.clean", expected=1, timeout=5))
    deadline = time.monotonic() + 60
    while len(clean) < want_clean and time.monotonic() < deadline:
        clean = readings_of(read_topic(settings, "vitals.clean", expected=1, timeout=3))
    assert Counter(d["reason"] for _, d in dead) == want_dead
    assert len(clean) == want_clean
    assert len({(r["patient_id"], r["ts"]) for r in clean}) == want_clean  # nothing doubled
    assert worker.proc.poll() is None  # the worker kept running
    status, _ = worker.get("/health")
    assert status == 200
