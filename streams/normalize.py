"""Turn one raw message from ``vitals.raw`` into normalized readings and rejections.

Pure functions: no Faust, no Kafka, no clock (``received_at`` is a parameter). Every input ends
as normalized readings or as rejections with a reason code of SPEC.md ("Dead letter"); a batch
with some bad readings keeps the good ones.

Formats handled here: native reading, batch of native readings, device status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from vigilstream.messages import (
    MAX_BATCH_READINGS,
    SIGNALS,
    DeviceStatus,
    Owner,
    ReadingBody,
    describe_error,
)

DEFAULT_MAX_BYTES = 64 * 1024

_BODY = TypeAdapter(ReadingBody)
_KNOWN = frozenset((*SIGNALS, "device_status"))


@dataclass(slots=True)
class Rejection:
    """Why (part of) a message was rejected: a SPEC.md reason code and a readable detail."""

    reason: str
    detail: str


@dataclass(slots=True)
class Normalized:
    """What one raw message became."""

    readings: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    source_format: str | None = None


def normalize(raw: bytes, received_at: float, max_bytes: int = DEFAULT_MAX_BYTES) -> Normalized:
    """Parse, validate and normalize one raw message.

    >>> out = normalize(b'{"patient_id": "p-1", "signal": "heart_rate", "value": 72,'
    ...                 b' "ts": "2026-11-27T08:15:00Z"}', received_at=1.0)
    >>> out.readings[0]["signal"], out.readings[0]["value"], out.readings[0]["ts"]
    ('heart_rate', 72.0, 1795767300.0)
    """
    result = Normalized()
    if len(raw) > max_bytes:
        result.rejections.append(
            Rejection("too_large", f"message of {len(raw)} bytes exceeds the {max_bytes} limit")
        )
        return result
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        result.rejections.append(Rejection("invalid_json", f"not JSON: {exc}"[:300]))
        return result
    if not isinstance(data, dict):
        result.rejections.append(
            Rejection("schema", f"expected a JSON object, got {type(data).__name__}")
        )
        return result
    if "readings" in data:
        _batch(data, received_at, result)
    elif data.get("signal") == "device_status":
        _device_status(data, received_at, result)
    elif "signal" in data:
        _native(data, received_at, result)
    else:
        result.rejections.append(
            Rejection("schema", "unrecognised format: no 'signal', 'readings' or known envelope")
        )
    return result


def _native(data: dict[str, Any], received_at: float, out: Normalized) -> None:
    out.source_format = "native"
    body = dict(data)
    patient_id = body.pop("patient_id", None)
    device_id = body.pop("device_id", None)
    envelope = _envelope(patient_id, device_id, out)
    if envelope is not None:
        _reading(body, envelope, "native", received_at, out)


def _batch(data: dict[str, Any], received_at: float, out: Normalized) -> None:
    out.source_format = "batch"
    readings = data.get("readings")
    extra = set(data) - {"patient_id", "device_id", "readings"}
    if extra:
        out.rejections.append(Rejection("schema", f"unknown batch field(s): {sorted(extra)}"))
        return
    if not isinstance(readings, list) or not readings:
        out.rejections.append(Rejection("schema", "readings: must be a non-empty list"))
        return
    if len(readings) > MAX_BATCH_READINGS:
        out.rejections.append(Rejection("too_large", f"batch of {len(readings)} readings"))
        return
    envelope = _envelope(data.get("patient_id"), data.get("device_id"), out)
    if envelope is None:
        return
    for index, item in enumerate(readings):
        if not isinstance(item, dict):
            out.rejections.append(Rejection("schema", f"readings[{index}]: not an object"))
        else:
            _reading(item, envelope, "batch", received_at, out, where=f"readings[{index}]: ")


def _device_status(data: dict[str, Any], received_at: float, out: Normalized) -> None:
    out.source_format = "device_status"
    try:
        status = DeviceStatus.model_validate(data)
    except ValidationError as exc:
        out.rejections.append(Rejection("schema", describe_error(exc)))
        return
    value = {"battery": status.battery, "worn": status.worn}
    out.readings.append(
        _clean(status.patient_id, status.device_id, "device_status", value, status.ts.timestamp(),
               None, received_at, "device_status", status.seq)
    )  # fmt: skip


def _envelope(patient_id: Any, device_id: Any, out: Normalized) -> tuple[str, str | None] | None:
    """Validate the patient and device ids shared by a reading or a batch."""
    try:
        owned = Owner.model_validate({"patient_id": patient_id, "device_id": device_id})
    except ValidationError as exc:
        out.rejections.append(Rejection("schema", describe_error(exc)))
        return None
    return owned.patient_id, owned.device_id


def _reading(
    body: dict[str, Any],
    envelope: tuple[str, str | None],
    source_format: str,
    received_at: float,
    out: Normalized,
    where: str = "",
) -> None:
    signal = body.get("signal")
    if not isinstance(signal, str) or signal not in _KNOWN or signal == "device_status":
        out.rejections.append(
            Rejection("unknown_signal", f"{where}unknown signal {signal!r}"[:200])
        )
        return
    try:
        reading = _BODY.validate_python(body)
    except ValidationError as exc:
        out.rejections.append(Rejection("schema", where + describe_error(exc)))
        return
    value = reading.value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    end_ts = getattr(reading, "end_ts", None)
    out.readings.append(
        _clean(envelope[0], envelope[1], reading.signal, value, reading.ts.timestamp(),
               end_ts.timestamp() if end_ts is not None else None, received_at, source_format,
               reading.seq)
    )  # fmt: skip


def _clean(
    patient_id: str,
    device_id: str | None,
    signal: str,
    value: Any,
    ts: float,
    end_ts: float | None,
    received_at: float,
    source_format: str,
    seq: int | None,
) -> dict[str, Any]:
    """A normalized reading as a plain dict (the ``clean_reading`` schema)."""
    return {
        "patient_id": patient_id,
        "device_id": device_id,
        "signal": signal,
        "value": value,
        "ts": ts,
        "end_ts": end_ts,
        "received_at": received_at,
        "source_format": source_format,
        "seq": seq,
    }


def clean_events(readings: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Group normalized readings into ``vitals.clean`` events: (patient_id key, value).

    Readings of one patient that arrived together travel as one batch event, so the monitor
    pays the per-event cost of the stream once per sync rather than once per reading.
    """
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for reading in readings:
        by_patient.setdefault(reading["patient_id"], []).append(reading)
    events = []
    for patient_id, group in by_patient.items():
        if len(group) == 1:
            events.append((patient_id, group[0]))
        else:
            events.append((patient_id, {"patient_id": patient_id, "readings": group}))
    return events
