from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from streams.dedupe import DuplicateFilter
from streams.fold import clean_events
from streams.normalize import Ingestor, IngestPolicy, normalize
from streams.normalize import _plain_number as plain_number
from tests.streams.samples import EPOCH, INVALID_INPUTS, NOW, TS, VALID_INPUTS, iso, rounded
from vigilstream import messages


def _raw(doc: Any) -> bytes:
    return doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("name", "doc", "expected"), VALID_INPUTS, ids=[v[0] for v in VALID_INPUTS]
)
def test_every_format_normalizes(name: str, doc: dict, expected: list) -> None:
    out = normalize(_raw(doc), received_at=NOW)
    assert out.rejections == []
    assert [(r["signal"], rounded(r["value"])) for r in out.readings] == expected
    for reading in out.readings:
        messages.validate("clean_reading", reading)
        assert reading["received_at"] == NOW
        assert reading["ts"] <= NOW


@pytest.mark.parametrize(
    ("name", "doc", "reason"), INVALID_INPUTS, ids=[v[0] for v in INVALID_INPUTS]
)
def test_rejections_carry_the_right_reason(name: str, doc: Any, reason: str) -> None:
    out = normalize(_raw(doc), received_at=NOW)
    assert out.readings == []
    assert [r.reason for r in out.rejections] == [reason]
    assert out.rejections[0].detail and "\n" not in out.rejections[0].detail


def test_event_times_and_patients_of_other_formats() -> None:
    fhir_bp = next(d for n, d, _ in VALID_INPUTS if n == "fhir bp")
    (reading,) = normalize(_raw(fhir_bp), NOW).readings
    assert reading["patient_id"] == "p-fhir"  # absolute reference
    assert reading["device_id"] == "cuff-9"
    assert reading["ts"] == EPOCH  # written in +01:00
    steps = next(d for n, d, _ in VALID_INPUTS if n == "fhir steps")
    (reading,) = normalize(_raw(steps), NOW).readings
    assert (reading["ts"], reading["end_ts"]) == (EPOCH - 900, EPOCH)
    wrapped = next(d for n, d, _ in VALID_INPUTS if n == "omh wrapped")
    (reading,) = normalize(_raw(wrapped), NOW).readings
    assert reading["patient_id"] == "p-wrap" and reading["source_format"] == "omh"
    sleep = next(d for n, d, _ in VALID_INPUTS if n == "omh sleep")
    (reading,) = normalize(_raw(sleep), NOW).readings
    assert reading["end_ts"] - reading["ts"] == 7 * 3600


def test_omh_interval_from_duration() -> None:
    doc = next(d for n, d, _ in VALID_INPUTS if n == "omh steps")
    doc = json.loads(json.dumps(doc))
    doc["body"]["step_count"] = 540  # 5400 in 10 minutes would be implausible
    doc["body"]["effective_time_frame"]["time_interval"] = {
        "start_date_time": iso(-900),
        "duration": {"value": 10, "unit": "min"},
    }
    (reading,) = normalize(_raw(doc), NOW).readings
    assert reading["end_ts"] - reading["ts"] == 600


def test_batch_with_three_good_and_two_bad_keeps_the_good() -> None:
    batch = {"patient_id": "p-2", "device_id": "phone", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": "x", "ts": TS},
        {"signal": "spo2", "value": 97, "ts": TS},
        {"signal": "heart_rate", "value": 999, "ts": TS},
        {"signal": "steps", "value": 40, "ts": TS, "end_ts": iso(60)},
    ]}  # fmt: skip
    out = normalize(_raw(batch), received_at=NOW)
    assert [r["signal"] for r in out.readings] == ["heart_rate", "spo2", "steps"]
    assert sorted(r.reason for r in out.rejections) == ["implausible_value", "schema"]
    assert {r.detail.split(":")[0] for r in out.rejections} == {"readings[1]", "readings[3]"}


def test_fhir_bundle_keeps_good_entries() -> None:
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": VALID_INPUTS[6][1]}, {"resource": {"resourceType": "Patient"}},
        {"resource": INVALID_INPUTS[0][1]}]}  # fmt: skip
    out = normalize(_raw(bundle), NOW)
    assert len(out.readings) == 1
    assert [r.reason for r in out.rejections] == ["schema", "unknown_signal"]
    assert out.rejections[0].detail.startswith("entry[1]")


def test_whole_message_failures() -> None:
    assert normalize(b" " * 70_000, NOW).rejections[0].reason == "too_large"
    assert normalize(b"[1]", NOW).rejections[0].reason == "schema"
    assert normalize(_raw({"hello": 1}), NOW).rejections[0].reason == "schema"
    small = IngestPolicy(max_bytes=2048)
    assert normalize(b"{" + b" " * 3000 + b"}", NOW, small).rejections[0].reason == "too_large"


def test_duplicates_are_dropped_and_counted() -> None:
    ingestor = Ingestor(dedupe=DuplicateFilter(window_s=3600))
    raw = _raw({"patient_id": "p1", "signal": "heart_rate", "value": 70, "ts": TS})
    assert len(ingestor.ingest(raw, NOW).readings) == 1
    again = ingestor.ingest(raw, NOW + 30)
    assert again.readings == [] and again.duplicates == 1 and again.rejections == []
    other = _raw({"patient_id": "p1", "signal": "heart_rate", "value": 71, "ts": TS})
    assert len(ingestor.ingest(other, NOW + 31).readings) == 1  # different value: not a dup
    resent_batch = _raw({"patient_id": "p1", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": 72, "ts": EPOCH + 1}]})  # fmt: skip
    out = ingestor.ingest(resent_batch, NOW + 40)
    assert [r["value"] for r in out.readings] == [72.0] and out.duplicates == 1


def test_consent() -> None:
    profiles = {"p-yes": True, "p-no": False}
    ingestor = Ingestor(consent=profiles.get)
    for patient, accepted in (("p-yes", True), ("p-no", False), ("p-unknown", True)):
        out = ingestor.ingest(_raw({"patient_id": patient, "signal": "heart_rate", "value": 70,
                                    "ts": TS}), NOW)  # fmt: skip
        assert bool(out.readings) is accepted
        if not accepted:
            assert out.rejections[0].reason == "no_consent"
    strict = Ingestor(IngestPolicy(consent_required=True), consent=profiles.get)
    out = strict.ingest(_raw({"patient_id": "p-unknown", "signal": "heart_rate", "value": 70,
                              "ts": TS}), NOW)  # fmt: skip
    assert out.rejections[0].reason == "no_consent"


def test_clean_events_group_by_patient() -> None:
    batch = {"patient_id": "p-3", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": 71, "ts": EPOCH + 60}]}  # fmt: skip
    ((key, value),) = clean_events(normalize(_raw(batch), NOW).readings)
    assert key == "p-3"
    messages.validate("clean_batch", value)
    assert [r["value"] for r in value["readings"]] == [70.0, 71.0]
    one = {**batch["readings"][0], "patient_id": "p-4"}
    ((key, value),) = clean_events(normalize(_raw(one), NOW).readings)
    assert key == "p-4" and "readings" not in value


_ODD_VALUES = st.one_of(
    st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=3), st.none(), st.just([72]),
)  # fmt: skip
_ISO_TIMES = st.builds(
    lambda date, time, fraction, zone, sep: f"{date}{sep}{time}{fraction}{zone}",
    st.sampled_from(["2026-11-27", "2026-02-30", "0000-01-01", "0001-01-01", "9999-12-31",
                     "2026-13-01", "20261127"]),
    st.sampled_from(["08:15:00", "23:59:59", "24:00:00", "23:59:60", "08:15", "081500"]),
    st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ".", ",5"]),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+14:00", "+23:59", "+24:00", "-00:00",
                     "+0100", "+01", "", " Z", "+05:60"]),
    st.sampled_from(["T", " ", "t"]),
)  # fmt: skip
_ODD_TIMES = st.one_of(
    st.floats(-10.0, 3e10), st.integers(-10, 3 * 10**10), st.integers(0, 3 * 10**10).map(float),
    st.just(1795767300.0000005), st.just("2026-11-27T08:15:00Z"), _ISO_TIMES,
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.just(True), st.none(),
)  # fmt: skip


@hsettings(max_examples=1000, deadline=None)
@given(
    signal=st.sampled_from(["heart_rate", "spo2", "body_temperature", "steps", "hrv_rmssd"]),
    value=_ODD_VALUES, ts=_ODD_TIMES, end_ts=_ODD_TIMES,
    unit=st.sampled_from([None, "", "bpm", "%", "1", "[degF]", "x" * 17, "steps", "/min"]),
    seq=st.one_of(st.none(), st.integers(-2, 5), st.just(1.0)),
    extra=st.sampled_from([None, "end_ts", "note"]),
)  # fmt: skip
def test_the_hand_checked_fast_path_agrees_with_the_schema(
    signal: str, value: Any, ts: Any, end_ts: Any, unit: Any, seq: Any, extra: Any
) -> None:
    """Plain numeric readings skip pydantic (``_plain_number``); whatever a body holds, the
    reading or rejection must be exactly what the schema alone gives."""
    from streams import normalize as module

    body: dict[str, Any] = {"signal": signal, "value": value, "ts": ts}
    for key, field in (("unit", unit), ("seq", seq)):
        if field is not None:
            body[key] = field
    if signal == "steps" or extra == "end_ts":
        body["end_ts"] = end_ts
    if extra == "note":
        body["note"] = "x"
    item = module.Candidate("p-1", "watch", body)
    fast = module._validate(item, "native", NOW)
    try:
        module._plain_number = lambda signal, body: None  # the schema for every body
        slow = module._validate(item, "native", NOW)
    finally:
        module._plain_number = plain_number
    assert fast == slow


@hsettings(max_examples=2000, deadline=None)
@given(st.floats(0.0, 2e10, exclude_max=True) | st.integers(0, 2 * 10**9).map(lambda s: s + 0.5e-6))
def test_fractional_epoch_seconds_round_to_the_microsecond_as_datetime_does(ts: float) -> None:
    """Epoch seconds with a fraction are rounded to the microsecond by arithmetic, which must
    give the float that ``datetime.fromtimestamp(ts, UTC).timestamp()`` (and so the schema)
    gives, half-microseconds included."""
    from datetime import UTC, datetime

    from streams.normalize import _epoch

    assert _epoch(ts) == datetime.fromtimestamp(ts, UTC).timestamp()
