"""How a wearable and its phone gateway deliver a patient's physiology.

Sampling: heart rate, respiration, SpO2 and skin temperature every 5 minutes while worn (a
medical-grade wrist device), steps per 5-minute block, HRV (RMSSD) hourly at rest, sleep stages
after waking, device status hourly, blood pressure and temperature spot checks morning and
evening from a cuff and a thermometer (FHIR Observations, or Open mHealth data points for
patients whose programme uses an Open mHealth gateway).

Device reality: motion artefacts (cadence lock of the optical heart-rate sensor, SpO2 drops
during movement; Bent B et al., npj Digit Med 2020;3:18), spikes at rest, missed samples,
daily charging (not worn, battery back to 100 %), forgotten charging (battery low, then dead),
off-wrist periods, phone syncs every 15 minutes with offline gaps (30 min to 4 h on a third of
days) after which the backlog
arrives at once in out-of-order chunks, resent duplicates, and a small share of malformed
messages from a buggy client (each with the dead-letter reason it must get).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from vigilstream.simulation.cohort import Patient
from vigilstream.simulation.oximetry import motion_sd, oximeter_reading
from vigilstream.simulation.physiology import Physiology

SAMPLE_MIN = 5
SYNC_S = 15 * 60.0
CHUNK = 300  # readings per message when a backlog is delivered
MALFORMED_SHARE = 0.002
DUPLICATE_SHARE = 0.01
MALFORMED_KINDS = ("invalid_json", "unit", "implausible_value", "schema", "unknown_signal")


@dataclass
class Delivery:
    """Everything one patient's devices send, with delivery times (epoch seconds)."""

    messages: list[tuple[float, str, bytes]] = field(default_factory=list)  # (at, topic, value)
    readings: int = 0
    duplicates: int = 0  # readings sent twice
    malformed: Counter[str] = field(default_factory=Counter)

    def send(self, at: float, topic: str, value: dict[str, Any] | bytes) -> None:
        body = value if isinstance(value, bytes) else orjson.dumps(value)
        self.messages.append((at, topic, body))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _wear(rng: np.random.Generator, n: int, start_ts: float) -> tuple[np.ndarray, np.ndarray]:
    """Worn mask and battery level per minute: daily charging, sometimes forgotten, and
    off-wrist periods."""
    worn = np.ones(n, dtype=bool)
    battery = np.empty(n)
    level, day_charge = 100.0, {}
    for day in range(n // 1440 + 1):
        if rng.random() < 0.92:
            begin = day * 1440 + int(rng.uniform(18.5 * 60, 21 * 60))
            day_charge[begin] = int(rng.uniform(45, 90))
        if rng.random() < 0.3:
            begin = day * 1440 + int(rng.uniform(9 * 60, 17 * 60))
            worn[begin : begin + int(rng.uniform(30, 180))] = False
    charging_until = -1
    for m in range(n):
        if m in day_charge:
            charging_until = m + day_charge[m]
        if m < charging_until:
            level = min(100.0, level + 1.5)
            worn[m] = False
        else:
            level = max(0.0, level - 3.4 / 60.0)
            if level <= 0.0:
                worn[m] = False  # dead: no data until the next charge
        battery[m] = level
    return worn, battery


def _samples(
    rng: np.random.Generator,
    patient: Patient,
    body: Physiology,
    worn: np.ndarray,
    sensor: np.random.Generator | None = None,
) -> list[dict[str, Any]]:
    n = len(body.ts)
    out: list[dict[str, Any]] = []
    minutes = np.arange(patient.phase_min, n, SAMPLE_MIN)
    minutes = minutes[worn[minutes]]
    moving = body.cadence[minutes] > 60
    hr = np.round(body.hr[minutes] + rng.normal(0, 1, len(minutes)))
    lock = moving & (rng.random(len(minutes)) < 0.05)
    hr[lock] = np.round(body.cadence[minutes][lock])
    spike = ~moving & (rng.random(len(minutes)) < 0.003)
    hr[spike] += np.round(
        rng.choice([-1, 1], int(spike.sum())) * rng.uniform(25, 40, int(spike.sum()))
    )
    sao2 = body.spo2[minutes]
    noise = rng.normal(0, 0.5, len(minutes))
    if sensor is not None:  # skin tone and motion (``oximetry``), from their own generator
        sao2 = oximeter_reading(sensor, sao2, patient.skin_type)
        hr = hr + np.round(sensor.normal(0.0, 1.0, len(minutes)) * motion_sd(
            body.cadence[minutes]))  # fmt: skip
    spo2 = np.round(np.minimum(sao2 + noise, 100))
    drop = moving & (rng.random(len(minutes)) < 0.05)
    spo2[drop] -= np.round(rng.uniform(5, 12, int(drop.sum())))
    rr = np.round(body.rr[minutes])
    skin = np.round(body.skin[minutes], 1)
    missing = rng.random((4, len(minutes))) < 0.03
    for i, m in enumerate(minutes.tolist()):
        ts = float(body.ts[m])
        if not missing[0, i]:
            out.append({"signal": "heart_rate", "value": int(np.clip(hr[i], 30, 220)), "ts": ts})
        if not missing[1, i]:
            out.append(
                {"signal": "respiratory_rate", "value": int(np.clip(rr[i], 4, 60)), "ts": ts}
            )
        if not missing[2, i]:
            out.append({"signal": "spo2", "value": int(np.clip(spo2[i], 60, 100)), "ts": ts})
        if not missing[3, i]:
            out.append({"signal": "skin_temperature", "value": float(skin[i]), "ts": ts})
    for block in range(0, n - SAMPLE_MIN + 1, SAMPLE_MIN):
        if not worn[block]:
            continue
        steps = int(body.cadence[block : block + SAMPLE_MIN].sum())
        if steps > 0:
            out.append(
                {
                    "signal": "steps",
                    "value": steps,
                    "ts": float(body.ts[block]),
                    "end_ts": float(body.ts[block]) + SAMPLE_MIN * 60.0,
                }
            )
    for m in range(patient.phase_min + 30, n, 60):
        if worn[m] and body.cadence[max(0, m - 10) : m + 1].max(initial=0) < 40:
            out.append(
                {
                    "signal": "hrv_rmssd",
                    "value": round(float(body.rmssd[m]), 1),
                    "ts": float(body.ts[m]),
                }
            )
    return out


def _spot_checks(
    rng: np.random.Generator, patient: Patient, body: Physiology, omh: bool
) -> list[tuple[float, dict[str, Any]]]:
    out = []
    pid = patient.patient_id
    for day in range(len(body.ts) // 1440):
        for hour in (8.0, 20.0):
            m = day * 1440 + int((hour + rng.uniform(-0.7, 0.7)) * 60)
            if m >= len(body.ts) or body.asleep[m]:
                continue
            ts = float(body.ts[m])
            at = ts + rng.uniform(30, 300)
            if rng.random() < 0.8:
                sys_ = round(float(body.sbp[m] + rng.normal(0, 7)))
                dia = round(0.6 * sys_ + 8 + float(rng.normal(0, 4)))
                out.append((at, _bp(pid, ts, sys_, dia, omh)))
            if rng.random() < 0.75:
                temp = round(float(body.temp[m] + rng.normal(0, 0.12)), 1)
                out.append((at + 5, _temperature(pid, ts, temp, omh)))
    return out


def _omh_point(pid: str, schema: str, version: str, body: dict[str, Any],
               ts: float) -> dict[str, Any]:  # fmt: skip
    """An Open mHealth data point of ``schema`` for the patient, taken at ``ts``."""
    schema_id = {"namespace": "omh", "name": schema, "version": version}
    return {"header": {"schema_id": schema_id, "user_id": pid},
            "body": {**body, "effective_time_frame": {"date_time": _iso(ts)}}}  # fmt: skip


def _bp(pid: str, ts: float, systolic: int, diastolic: int, omh: bool) -> dict[str, Any]:
    if omh:
        body = {
            "systolic_blood_pressure": {"value": systolic, "unit": "mmHg"},
            "diastolic_blood_pressure": {"value": diastolic, "unit": "mmHg"},
        }
        return _omh_point(pid, "blood-pressure", "3.1", body, ts)
    loinc = "http://loinc.org"
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _iso(ts),
        "component": [
            {
                "code": {"coding": [{"system": loinc, "code": "8480-6"}]},
                "valueQuantity": {"value": systolic, "unit": "mmHg", "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": loinc, "code": "8462-4"}]},
                "valueQuantity": {"value": diastolic, "unit": "mmHg", "code": "mm[Hg]"},
            },
        ],
    }


def _temperature(pid: str, ts: float, celsius: float, omh: bool) -> dict[str, Any]:
    if omh:
        body = {"body_temperature": {"value": celsius, "unit": "C"}}
        return _omh_point(pid, "body-temperature", "4.0", body, ts)
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _iso(ts),
        "valueQuantity": {"value": celsius, "unit": "°C", "code": "Cel"},
    }


def _malformed(rng: np.random.Generator, pid: str, ts: float) -> tuple[str, bytes]:
    kind = str(rng.choice(MALFORMED_KINDS))
    reading = {
        "patient_id": pid,
        "device_id": "legacy-app",
        "signal": "heart_rate",
        "value": 70,
        "unit": "bpm",
        "ts": ts,
    }
    if kind == "invalid_json":
        return kind, orjson.dumps(reading)[:-7]
    if kind == "unit":
        reading["unit"] = "beats/fortnight"
    elif kind == "implausible_value":
        reading["value"] = 420
    elif kind == "schema":
        del reading["patient_id"]
    else:
        reading["signal"] = "blood_glucose_ratio"
    return kind, orjson.dumps(reading)


def deliver(rng: np.random.Generator, patient: Patient, body: Physiology,
            sensor: np.random.Generator | None = None) -> Delivery:  # fmt: skip
    """The patient's messages on ``vitals.raw`` with their delivery times."""
    n = len(body.ts)
    start = float(body.ts[0])
    pid, device = patient.patient_id, f"watch-{patient.patient_id}"
    out = Delivery()
    worn, battery = _wear(rng, n, start)
    readings = _samples(rng, patient, body, worn, sensor)
    segments_by_wake: list[tuple[float, list[dict[str, Any]]]] = []
    night: list[dict[str, Any]] = []
    for i, (a, b, stage) in enumerate(body.sleep_segments):
        m = int((a - start) // 60)
        if worn[min(m, n - 1)]:
            night.append({"signal": "sleep", "value": {"stage": stage}, "ts": a, "end_ts": b})
        last = i + 1 == len(body.sleep_segments) or body.sleep_segments[i + 1][0] - b > 3600
        if last and night:
            segments_by_wake.append((b + rng.uniform(300, 3600), night))
            night = []
    # Phone syncs: every 15 minutes, except during offline gaps.
    offline = np.zeros(int(n * 60 / SYNC_S) + 2, dtype=bool)
    for day in range(n // 1440):
        if rng.random() < 0.35:
            first = int((day * 86400 + rng.uniform(0, 86400)) / SYNC_S)
            offline[first : first + int(rng.uniform(2, 16))] = True
    readings.sort(key=lambda r: r["ts"])
    sync_of = [int(r.get("end_ts", r["ts"]) // SYNC_S - start // SYNC_S) + 1 for r in readings]
    pending: list[dict[str, Any]] = []
    i = 0
    for k in range(1, len(offline)):
        while i < len(readings) and sync_of[i] <= k:
            pending.append(readings[i])
            i += 1
        if offline[k] or not pending:
            continue
        at = start + k * SYNC_S + rng.uniform(5, 90)
        chunks = [pending[j : j + CHUNK] for j in range(0, len(pending), CHUNK)]
        order = rng.permutation(len(chunks)) if len(chunks) > 1 else [0]
        for position, c in enumerate(order):
            message = {"patient_id": pid, "device_id": device, "readings": chunks[c]}
            out.send(at + position * 0.5, "vitals.raw", message)
            out.readings += len(chunks[c])
            if rng.random() < DUPLICATE_SHARE:
                out.send(at + rng.uniform(60, 600), "vitals.raw", message)
                out.duplicates += len(chunks[c])
        pending = []
    for at, night_readings in segments_by_wake:
        out.send(
            at, "vitals.raw", {"patient_id": pid, "device_id": device, "readings": night_readings}
        )
        out.readings += len(night_readings)
    # Device status hourly, and whenever the watch comes off or goes back on.
    changes = np.flatnonzero(np.diff(worn.astype(int))) + 1
    for m in sorted({*range(0, n, 60), *changes.tolist()}):
        if battery[m] <= 0 and not worn[m] and m not in changes:
            continue
        ts = float(body.ts[m])
        out.send(
            ts + rng.uniform(2, 30),
            "vitals.raw",
            {
                "patient_id": pid,
                "device_id": device,
                "signal": "device_status",
                "battery": round(float(battery[m])),
                "worn": bool(worn[m]),
                "ts": ts,
            },
        )
        out.readings += 1
    omh = int(pid.rsplit("-", 1)[-1]) % 7 == 0  # one programme in seven uses Open mHealth
    for at, message in _spot_checks(rng, patient, body, omh):
        out.send(at, "vitals.raw", message)
        out.readings += 1
    for _ in range(rng.poisson(MALFORMED_SHARE * len(out.messages))):
        ts = float(rng.uniform(start, start + n * 60.0))
        kind, raw = _malformed(rng, pid, ts)
        out.send(ts + 60.0, "vitals.raw", raw)
        out.malformed[kind] += 1
    return out
