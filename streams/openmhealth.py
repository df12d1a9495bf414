"""Open mHealth data points (header + body) to native readings.

Follows the Open mHealth schemas (openmhealth.org/documentation/#/schema-docs/schema-library):
``omh:heart-rate``, ``oxygen-saturation``, ``respiratory-rate``, ``body-temperature``,
``blood-pressure``, ``step-count``, ``sleep-duration`` and ``physical-activity``. The patient is
``header.user_id``, or the data point comes wrapped as ``{"patient_id": ..., "data_point":
{...}}``. The schema is named by ``header.schema_id.name`` (or, in older data points,
``header.schema_id`` as a string). Times come from ``body.effective_time_frame``: a
``date_time``, or a ``time_interval`` with start, end or a duration.

``sleep-duration`` has no stages: it becomes a ``sleep`` reading with stage ``asleep`` and the
minutes slept within the interval (``{"stage": "asleep", "minutes": m}``), an extension of
docs/spec.md's sleep value. ``physical-activity`` (a logged workout: ``activity_name`` over a
``time_interval``) becomes an ``exercise`` reading.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.candidates import Candidate, Rejection

# schema name -> (signal, body field holding the value)
SIMPLE: dict[str, tuple[str, str]] = {
    "heart-rate": ("heart_rate", "heart_rate"),
    "oxygen-saturation": ("spo2", "oxygen_saturation"),
    "respiratory-rate": ("respiratory_rate", "respiratory_rate"),
    "body-temperature": ("body_temperature", "body_temperature"),
}
DURATION_S = {"ms": 0.001, "sec": 1, "s": 1, "min": 60, "h": 3600, "d": 86400, "wk": 604800}


def from_omh(doc: dict[str, Any]) -> list[Candidate | Rejection]:
    """One reading (or a rejection) from an Open mHealth data point, wrapped or not."""
    patient_id = None
    if "data_point" in doc:
        patient_id = doc.get("patient_id")
        doc = doc["data_point"]
        if not isinstance(doc, dict):
            return [Rejection("schema", "data_point is not an object")]
    header, body = doc.get("header"), doc.get("body")
    if not isinstance(header, dict) or not isinstance(body, dict):
        return [Rejection("schema", "Open mHealth data point needs header and body objects")]
    patient_id = patient_id if patient_id is not None else header.get("user_id")
    if patient_id is None:
        return [Rejection("schema", "Open mHealth data point without header.user_id")]
    name = _schema_name(header.get("schema_id"))
    times = _time_frame(body.get("effective_time_frame"))
    if isinstance(times, Rejection):
        return [times]
    ts, end_ts = times
    device_id = _device(header)
    if name in SIMPLE:
        signal, field = SIMPLE[name]
        quantity = body.get(field)
        if not isinstance(quantity, dict) or "value" not in quantity:
            return [Rejection("schema", f"{name}: body.{field} needs value and unit")]
        reading = {"signal": signal, "value": quantity["value"], "unit": quantity.get("unit"),
                   "ts": ts}  # fmt: skip
        return [Candidate(patient_id, device_id, reading)]
    if name == "blood-pressure":
        sys_q, dia_q = body.get("systolic_blood_pressure"), body.get("diastolic_blood_pressure")
        if not (isinstance(sys_q, dict) and isinstance(dia_q, dict)):
            return [Rejection("schema", "blood-pressure: needs systolic and diastolic")]
        if sys_q.get("unit") != dia_q.get("unit"):
            return [Rejection("unit", "blood-pressure: systolic and diastolic in different units")]
        value = {"systolic": sys_q.get("value"), "diastolic": dia_q.get("value")}
        reading = {"signal": "blood_pressure", "value": value, "unit": sys_q.get("unit"), "ts": ts}
        return [Candidate(patient_id, device_id, reading)]
    if name == "step-count":
        count = body.get("step_count")
        if isinstance(count, dict):  # step-count 3.0: {"value": n, "unit": "steps"}
            count = count.get("value")
        reading = {"signal": "steps", "value": count, "ts": ts, "end_ts": end_ts or ts}
        return [Candidate(patient_id, device_id, reading)]
    if name == "sleep-duration":
        return [_sleep(body, patient_id, device_id, ts, end_ts)]
    if name == "physical-activity":
        if end_ts is None:
            return [Rejection("schema", "physical-activity needs a time_interval")]
        reading = {"signal": "exercise", "value": body.get("activity_name"), "ts": ts,
                   "end_ts": end_ts}  # fmt: skip
        return [Candidate(patient_id, device_id, reading)]
    return [Rejection("unknown_signal", f"Open mHealth schema {name!r} not supported"[:200])]


def _sleep(body: dict[str, Any], patient_id: Any, device_id: Any, ts: Any, end_ts: Any):
    quantity = body.get("sleep_duration")
    if not isinstance(quantity, dict) or "value" not in quantity:
        return Rejection("schema", "sleep-duration: body.sleep_duration needs value and unit")
    factor = DURATION_S.get(str(quantity.get("unit")))
    if factor is None:
        return Rejection("unit", f"sleep-duration unit {quantity.get('unit')!r} not a duration")
    if end_ts is None:
        return Rejection("schema", "sleep-duration needs a time_interval")
    try:
        minutes = float(quantity["value"]) * factor / 60.0
    except (TypeError, ValueError):
        return Rejection("schema", "sleep-duration: value is not a number")
    reading = {"signal": "sleep", "value": {"stage": "asleep", "minutes": round(minutes, 2)},
               "ts": ts, "end_ts": end_ts}  # fmt: skip
    return Candidate(patient_id, device_id, reading)


def _schema_name(schema_id: Any) -> str | None:
    if isinstance(schema_id, dict):
        return schema_id.get("name")
    if isinstance(schema_id, str):  # "omh:heart-rate:1.0"
        parts = schema_id.split(":")
        return parts[1] if len(parts) >= 2 else schema_id
    return None


def _device(header: dict[str, Any]) -> str | None:
    provenance = header.get("acquisition_provenance")
    if isinstance(provenance, dict) and isinstance(provenance.get("source_name"), str):
        return provenance["source_name"][:128]
    return None


def _time_frame(frame: Any) -> tuple[Any, Any] | Rejection:
    if not isinstance(frame, dict):
        return Rejection("schema", "body.effective_time_frame is missing")
    if "date_time" in frame:
        return frame["date_time"], None
    interval = frame.get("time_interval")
    if not isinstance(interval, dict):
        return Rejection("schema", "effective_time_frame needs date_time or time_interval")
    start, end = interval.get("start_date_time"), interval.get("end_date_time")
    duration = interval.get("duration")
    if start is not None and end is not None:
        return start, end
    if isinstance(duration, dict) and (start is not None or end is not None):
        seconds = _seconds(duration)
        if seconds is None:
            return Rejection("unit", f"time_interval duration unit {duration.get('unit')!r}")
        if start is not None:
            return start, _shift(start, seconds)
        return _shift(end, -seconds), end
    return Rejection("schema", "time_interval needs start and end, or one of them and a duration")


def _seconds(duration: dict[str, Any]) -> float | None:
    factor = DURATION_S.get(str(duration.get("unit")))
    try:
        return float(duration["value"]) * factor if factor is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def _shift(ts: Any, seconds: float) -> Any:
    """An RFC 3339 time moved by some seconds; unparseable input is left for validation."""
    try:
        return (datetime.fromisoformat(str(ts)) + timedelta(seconds=seconds)).isoformat()
    except ValueError:
        return ts
