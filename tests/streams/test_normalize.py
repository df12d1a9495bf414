from __future__ import annotations

import json

from streams.normalize import clean_events, normalize
from vigilstream import messages

NOW = 1795767400.0
TS = "2026-11-27T08:15:00Z"


def _raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_native_reading_is_normalized_to_the_clean_schema() -> None:
    out = normalize(
        _raw({"patient_id": "p-1", "device_id": "w", "signal": "heart_rate", "value": 72,
              "ts": TS, "seq": 5}), received_at=NOW)  # fmt: skip
    assert out.rejections == []
    (reading,) = out.readings
    messages.validate("clean_reading", reading)
    assert reading["patient_id"] == "p-1"
    assert reading["ts"] == 1795767300.0
    assert reading["received_at"] == NOW
    assert reading["source_format"] == "native"
    assert reading["seq"] == 5


def test_batch_with_three_good_and_two_bad_keeps_the_good() -> None:
    batch = {"patient_id": "p-2", "device_id": "phone", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": "x", "ts": TS},
        {"signal": "spo2", "value": 97, "ts": TS},
        {"signal": "teleportation", "value": 1, "ts": TS},
        {"signal": "steps", "value": 40, "ts": TS, "end_ts": "2026-11-27T08:16:00Z"},
    ]}  # fmt: skip
    out = normalize(_raw(batch), received_at=NOW)
    assert [r["signal"] for r in out.readings] == ["heart_rate", "spo2", "steps"]
    assert {r["device_id"] for r in out.readings} == {"phone"}
    assert sorted(r.reason for r in out.rejections) == ["schema", "unknown_signal"]
    assert any(r.detail.startswith("readings[1]") for r in out.rejections)
    assert out.readings[2]["end_ts"] == 1795767360.0


def test_reason_codes_for_whole_message_failures() -> None:
    cases = {
        b"{nope": "invalid_json",
        b"[1, 2]": "schema",
        _raw({"hello": "world"}): "schema",
        _raw({"patient_id": "p 1", "signal": "heart_rate", "value": 1, "ts": TS}): "schema",
        _raw({"patient_id": "p1", "signal": "mood", "value": 1, "ts": TS}): "unknown_signal",
        b" " * 70_000: "too_large",
    }
    for raw, reason in cases.items():
        out = normalize(raw, received_at=NOW)
        assert out.readings == []
        assert [r.reason for r in out.rejections] == [reason], raw[:40]


def test_device_status() -> None:
    out = normalize(
        _raw({"patient_id": "p1", "device_id": "w", "signal": "device_status", "battery": 18,
              "worn": True, "ts": TS}), received_at=NOW)  # fmt: skip
    assert out.readings[0]["signal"] == "device_status"
    assert out.readings[0]["value"] == {"battery": 18.0, "worn": True}


def test_clean_events_group_by_patient() -> None:
    batch = {"patient_id": "p-3", "readings": [
        {"signal": "heart_rate", "value": 70, "ts": TS},
        {"signal": "heart_rate", "value": 71, "ts": 1795767360},
    ]}  # fmt: skip
    events = clean_events(normalize(_raw(batch), received_at=NOW).readings)
    assert len(events) == 1
    key, value = events[0]
    assert key == "p-3"
    messages.validate("clean_batch", value)
    assert [r["value"] for r in value["readings"]] == [70.0, 71.0]
    one = {**batch["readings"][0], "patient_id": "p-4"}
    ((key, value),) = clean_events(normalize(_raw(one), NOW).readings)
    assert key == "p-4" and "readings" not in value
