"""HL7 FHIR R4 ``Observation`` and ``Bundle`` to native readings.

Follows the FHIR R4 Observation resource (hl7.org/fhir/R4/observation.html) and the vital-signs
profile's LOINC codes. ``subject`` must reference a Patient (``Patient/<id>``, relative or
absolute); the event time is ``effectiveDateTime``, ``effectiveInstant`` or
``effectivePeriod``; the value is ``valueQuantity`` with a UCUM ``code`` (or ``unit``), or for
the blood-pressure panel the systolic and diastolic ``component`` quantities.

Each Observation becomes a native reading body that then passes through the same validation,
unit conversion and plausibility checks as every other format.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.candidates import Candidate, Rejection

LOINC = "http://loinc.org"
SIGNAL_BY_LOINC: dict[str, str] = {
    "8867-4": "heart_rate",
    "59408-5": "spo2",  # SpO2 by pulse oximetry
    "2708-6": "spo2",  # oxygen saturation in arterial blood
    "9279-1": "respiratory_rate",
    "8310-5": "body_temperature",
    "85354-9": "blood_pressure",  # panel: components 8480-6 systolic, 8462-4 diastolic
    "55423-8": "steps",  # number of steps, unspecified time (pedometer)
    "41950-7": "steps",  # number of steps in 24 hours
    "80404-7": "hrv_sdnn",  # R-R interval standard deviation (heart rate variability)
}
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
NOT_MEASUREMENTS = frozenset({"entered-in-error", "cancelled"})


def from_fhir(doc: dict[str, Any]) -> list[Candidate | Rejection]:
    """Readings (or rejections) from an Observation or a Bundle of them."""
    kind = doc.get("resourceType")
    if kind == "Observation":
        return [_observation(doc, "")]
    if kind == "Bundle":
        entries = doc.get("entry")
        if not isinstance(entries, list) or not entries:
            return [Rejection("schema", "Bundle without entries")]
        out: list[Candidate | Rejection] = []
        for i, entry in enumerate(entries):
            where = f"entry[{i}]: "
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                out.append(Rejection("schema", f"{where}no resource"))
            elif resource.get("resourceType") != "Observation":
                rtype = resource.get("resourceType")
                out.append(Rejection("schema", f"{where}{rtype!r} is not an Observation"[:200]))
            else:
                out.append(_observation(resource, where))
        return out
    return [Rejection("schema", f"unsupported FHIR resource {kind!r}; expected Observation"[:200])]


def _observation(obs: dict[str, Any], where: str) -> Candidate | Rejection:
    status = obs.get("status")
    if status in NOT_MEASUREMENTS:
        return Rejection("schema", f"{where}Observation status {status!r} is not a measurement")
    codes = _loinc_codes(obs.get("code"))
    if not codes:
        return Rejection("schema", f"{where}Observation.code has no LOINC coding")
    signal = next((SIGNAL_BY_LOINC[c] for c in codes if c in SIGNAL_BY_LOINC), None)
    if signal is None:
        return Rejection("unknown_signal", f"{where}LOINC code(s) {codes} not supported"[:200])
    patient_id = _patient_id(obs.get("subject"))
    if patient_id is None:
        return Rejection("schema", f"{where}subject must reference a Patient (Patient/<id>)")
    times = _effective(obs)
    if isinstance(times, Rejection):
        return Rejection(times.reason, where + times.detail)
    ts, end_ts = times
    body: dict[str, Any] = {"signal": signal, "ts": ts}
    if signal == "blood_pressure":
        parts = _bp_components(obs.get("component"))
        if isinstance(parts, Rejection):
            return Rejection(parts.reason, where + parts.detail)
        body["value"], body["unit"] = parts
    else:
        quantity = obs.get("valueQuantity")
        if not isinstance(quantity, dict) or "value" not in quantity:
            return Rejection("schema", f"{where}Observation without valueQuantity.value")
        body["value"] = quantity["value"]
        body["unit"] = _ucum(quantity)
    if signal == "steps":
        if end_ts is None and "41950-7" in codes and isinstance(ts, str):
            end_ts, ts = ts, _minus_hours(ts, 24) or ts  # a 24-hour count ending at the time
        body["end_ts"] = end_ts if end_ts is not None else ts
    return Candidate(patient_id, _device_id(obs.get("device")), body, where)


def _loinc_codes(code: Any) -> list[str]:
    if not isinstance(code, dict) or not isinstance(code.get("coding"), list):
        return []
    return [
        c["code"]
        for c in code["coding"]
        if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str)
    ]


def _reference_id(ref: Any, resource: str) -> str | None:
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None
    parts = ref["reference"].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource and parts[-1]:
        return parts[-1]
    return None


def _patient_id(subject: Any) -> str | None:
    return _reference_id(subject, "Patient")


def _device_id(device: Any) -> str | None:
    return _reference_id(device, "Device")


def _effective(obs: dict[str, Any]) -> tuple[Any, Any] | Rejection:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in obs:
            return obs[key], None
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        return period["start"], period.get("end")
    if isinstance(period, dict) and "end" in period:
        return period["end"], None
    return Rejection("schema", "Observation without effectiveDateTime/Instant/Period")


def _ucum(quantity: dict[str, Any]) -> str | None:
    code = quantity.get("code") or quantity.get("unit")
    return code if isinstance(code, str) else None


def _bp_components(components: Any) -> tuple[dict[str, Any], str | None] | Rejection:
    if not isinstance(components, list):
        return Rejection("schema", "blood-pressure panel without components")
    value: dict[str, Any] = {}
    units: set[str | None] = set()
    for comp in components:
        if not isinstance(comp, dict):
            continue
        codes = _loinc_codes(comp.get("code"))
        quantity = comp.get("valueQuantity")
        for code, part in ((SYSTOLIC, "systolic"), (DIASTOLIC, "diastolic")):
            if code in codes and isinstance(quantity, dict) and "value" in quantity:
                value[part] = quantity["value"]
                units.add(_ucum(quantity))
    if set(value) != {"systolic", "diastolic"}:
        return Rejection(
            "schema", "blood-pressure panel needs systolic 8480-6 and diastolic 8462-4"
        )
    if len(units) > 1:
        return Rejection(
            "unit", f"systolic and diastolic in different units {sorted(map(str, units))}"
        )
    return value, units.pop()


def _minus_hours(ts: str, hours: float) -> str | None:
    try:
        return (datetime.fromisoformat(ts) - timedelta(hours=hours)).isoformat()
    except ValueError:
        return None
