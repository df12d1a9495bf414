"""Sample inputs of every format of docs/spec.md, as a third-party client would send them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Event times are relative to the time the tests run (a whole minute, an hour ago), so the
# samples stay inside the stale horizon whenever the suite runs against a real worker.
EPOCH = float(int(time.time()) // 60 * 60 - 3600)
NOW = EPOCH + 60  # processing time used with these samples in unit tests


def iso(offset_s: float = 0.0, tz_hours: int = 0) -> str:
    """RFC 3339 time ``offset_s`` after EPOCH, written in a UTC offset of ``tz_hours``."""
    moment = datetime.fromtimestamp(EPOCH + offset_s, UTC)
    if tz_hours:
        return moment.astimezone(timezone(timedelta(hours=tz_hours))).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


TS = iso()


def fhir_obs(loinc: str, value: float, code: str, patient: str = "p-fhir", **extra: Any) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": TS,
        "valueQuantity": {"value": value, "unit": code, "system": "http://unitsofmeasure.org",
                          "code": code},
        **extra,
    }  # fmt: skip


FHIR_BP = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "subject": {"reference": "https://fhir.example.org/r4/Patient/p-fhir"},
    "device": {"reference": "Device/cuff-9"},
    "effectiveDateTime": iso(0, tz_hours=1),
    "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "valueQuantity": {"value": 128, "unit": "mmHg", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
         "valueQuantity": {"value": 84, "unit": "mmHg", "code": "mm[Hg]"}},
    ],
}  # fmt: skip

FHIR_STEPS = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "55423-8"}]},
    "subject": {"reference": "Patient/p-fhir"},
    "effectivePeriod": {"start": iso(-900), "end": TS},
    "valueQuantity": {"value": 1200, "unit": "steps", "code": "{steps}"},
}


def omh(name: str, body: dict, user: str = "p-omh") -> dict:
    return {
        "header": {
            "id": f"dp-{name}",
            "creation_date_time": TS,
            "schema_id": {"namespace": "omh", "name": name, "version": "2.0"},
            "acquisition_provenance": {"source_name": "acme-watch", "modality": "sensed"},
            "user_id": user,
        },
        "body": body,
    }


AT = {"effective_time_frame": {"date_time": TS}}
INTERVAL = {
    "effective_time_frame": {
        "time_interval": {
            "start_date_time": iso(-8 * 3600),
            "end_date_time": iso(-3600),
        }
    }
}

# (payload, expected normalized (signal, value) readings)
VALID_INPUTS: list[tuple[str, dict, list[tuple[str, Any]]]] = [
    ("native", {"patient_id": "p-nat", "device_id": "watch-17", "signal": "heart_rate",
                "value": 72, "unit": "bpm", "ts": TS, "seq": 1234}, [("heart_rate", 72.0)]),
    ("native degF", {"patient_id": "p-nat", "signal": "body_temperature", "value": 100.4,
                     "unit": "degF", "ts": TS}, [("body_temperature", 38.0)]),
    ("native fraction", {"patient_id": "p-nat", "signal": "spo2", "value": 0.95, "unit": "1",
                         "ts": TS}, [("spo2", 95.0)]),
    ("native kPa", {"patient_id": "p-nat", "signal": "blood_pressure", "unit": "kPa",
                    "value": {"systolic": 16, "diastolic": 10}, "ts": TS},
     [("blood_pressure", {"systolic": 120.01, "diastolic": 75.01})]),
    ("batch", {"patient_id": "p-bat", "device_id": "phone", "readings": [
        {"signal": "rr_intervals", "value": [810, 790, 805], "ts": TS},
        {"signal": "sleep", "value": {"stage": "deep"}, "ts": iso(-5 * 3600),
         "end_ts": iso(-5 * 3600 + 1800)},
        {"signal": "consciousness", "value": "A", "ts": TS},
        {"signal": "supplemental_o2", "value": False, "ts": TS}]},
     [("rr_intervals", [810.0, 790.0, 805.0]), ("sleep", {"stage": "deep"}),
      ("consciousness", "A"), ("supplemental_o2", False)]),
    ("device status", {"patient_id": "p-dev", "device_id": "watch-2", "signal": "device_status",
                       "battery": 15, "worn": True, "ts": TS},
     [("device_status", {"battery": 15.0, "worn": True})]),
    ("fhir hr", fhir_obs("8867-4", 88, "/min"), [("heart_rate", 88.0)]),
    ("fhir spo2", fhir_obs("59408-5", 94, "%"), [("spo2", 94.0)]),
    ("fhir sao2", fhir_obs("2708-6", 0.93, "1"), [("spo2", 93.0)]),
    ("fhir rr", fhir_obs("9279-1", 22, "/min"), [("respiratory_rate", 22.0)]),
    ("fhir temp", fhir_obs("8310-5", 101.3, "[degF]"), [("body_temperature", 38.5)]),
    ("fhir hrv", fhir_obs("80404-7", 42, "ms"), [("hrv_sdnn", 42.0)]),
    ("fhir bp", FHIR_BP, [("blood_pressure", {"systolic": 128.0, "diastolic": 84.0})]),
    ("fhir steps", FHIR_STEPS, [("steps", 1200)]),
    ("fhir bundle", {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": fhir_obs("8867-4", 90, "/min")},
        {"resource": fhir_obs("9279-1", 18, "/min", patient="p-fhir2")}]},
     [("heart_rate", 90.0), ("respiratory_rate", 18.0)]),
    ("omh hr", omh("heart-rate", {"heart_rate": {"value": 66, "unit": "beats/min"}, **AT}),
     [("heart_rate", 66.0)]),
    ("omh spo2", omh("oxygen-saturation", {"oxygen_saturation": {"value": 97, "unit": "%"}, **AT}),
     [("spo2", 97.0)]),
    ("omh rr", omh("respiratory-rate",
                   {"respiratory_rate": {"value": 15, "unit": "breaths/min"}, **AT}),
     [("respiratory_rate", 15.0)]),
    ("omh temp", omh("body-temperature", {"body_temperature": {"value": 37.2, "unit": "C"}, **AT}),
     [("body_temperature", 37.2)]),
    ("omh bp", omh("blood-pressure", {"systolic_blood_pressure": {"value": 118, "unit": "mmHg"},
                                      "diastolic_blood_pressure": {"value": 76, "unit": "mmHg"},
                                      **AT}),
     [("blood_pressure", {"systolic": 118.0, "diastolic": 76.0})]),
    ("omh steps", omh("step-count", {"step_count": 5400, **INTERVAL}), [("steps", 5400)]),
    ("omh sleep", omh("sleep-duration", {"sleep_duration": {"value": 6.5, "unit": "h"},
                                         **INTERVAL}),
     [("sleep", {"stage": "asleep", "minutes": 390.0})]),
    ("omh wrapped", {"patient_id": "p-wrap", "data_point": omh(
        "heart-rate", {"heart_rate": {"value": 70, "unit": "beats/min"}, **AT}, user="other")},
     [("heart_rate", 70.0)]),
    ("native spo2 fraction with %", {"patient_id": "p-nat", "signal": "spo2", "value": 0.97,
                                     "unit": "%", "ts": TS},
     [("spo2", 97.0)]),  # as Apple HealthKit exports write it
    ("native bare sleep stage", {"patient_id": "p-nat", "signal": "sleep", "value": " REM",
                                 "ts": iso(-3600), "end_ts": iso(-1800)},
     [("sleep", {"stage": "rem"})]),  # as a CSV export writes it
    ("native workout", {"patient_id": "p-nat", "signal": "exercise", "value": " Cycling",
                        "ts": iso(-3600), "end_ts": iso(-600)},
     [("exercise", {"activity": "cycling"})]),  # a bare activity, as an export writes it
    ("omh physical activity", omh("physical-activity", {"activity_name": "strength training",
                                                        **INTERVAL}),
     [("exercise", {"activity": "strength training"})]),
]  # fmt: skip

# (payload, reason)
INVALID_INPUTS: list[tuple[str, Any, str]] = [
    ("fhir unknown loinc", fhir_obs("1234-5", 1, "/min"), "unknown_signal"),
    ("fhir no subject", {**fhir_obs("8867-4", 80, "/min"), "subject": None}, "schema"),
    ("fhir group subject", {**fhir_obs("8867-4", 80, "/min"),
                            "subject": {"reference": "Group/g1"}}, "schema"),
    ("fhir no time", {k: v for k, v in fhir_obs("8867-4", 80, "/min").items()
                      if k != "effectiveDateTime"}, "schema"),
    ("fhir bad unit", fhir_obs("8867-4", 80, "km/h"), "unit"),
    ("fhir entered in error", {**fhir_obs("8867-4", 80, "/min"), "status": "entered-in-error"},
     "schema"),
    ("fhir patient", {"resourceType": "Patient", "id": "p1"}, "schema"),
    ("fhir bp one part", {**FHIR_BP, "component": FHIR_BP["component"][:1]}, "schema"),
    ("omh unknown", omh("blood-glucose", {"blood_glucose": {"value": 5, "unit": "mmol/L"}, **AT}),
     "unknown_signal"),
    ("omh no user", {"header": {"schema_id": {"name": "heart-rate"}},
                     "body": {"heart_rate": {"value": 60, "unit": "beats/min"}, **AT}}, "schema"),
    ("omh temp kelvin typo", omh("body-temperature",
                                 {"body_temperature": {"value": 310, "unit": "Kv"}, **AT}), "unit"),
    ("hr implausible", {"patient_id": "p1", "signal": "heart_rate", "value": 400, "ts": TS},
     "implausible_value"),
    ("spo2 fraction far too low", {"patient_id": "p1", "signal": "spo2", "value": 0.3, "ts": TS},
     "implausible_value"),  # a fraction (<= 1) is read as one: 30 %
    ("bp inverted", {"patient_id": "p1", "signal": "blood_pressure", "ts": TS,
                     "value": {"systolic": 70, "diastolic": 90}}, "implausible_value"),
    ("future", {"patient_id": "p1", "signal": "heart_rate", "value": 70,
                "ts": EPOCH + 60 + 301}, "future_timestamp"),
    ("stale", {"patient_id": "p1", "signal": "heart_rate", "value": 70,
               "ts": EPOCH - 29 * 86400}, "stale_timestamp"),
    ("unknown signal", {"patient_id": "p1", "signal": "glucose", "value": 5, "ts": TS},
     "unknown_signal"),
    ("not json", "{'single': 'quotes'}", "invalid_json"),
    # Wrong JSON types are schema errors, never coerced (a string is not a number).
    ("hr as string", {"patient_id": "p1", "signal": "heart_rate", "value": "72", "ts": TS},
     "schema"),
    ("hr as bool", {"patient_id": "p1", "signal": "heart_rate", "value": True, "ts": TS},
     "schema"),
    ("steps as string", {"patient_id": "p1", "signal": "steps", "value": "100", "ts": TS,
                         "end_ts": TS}, "schema"),
    ("o2 as string", {"patient_id": "p1", "signal": "supplemental_o2", "value": "true",
                      "ts": TS}, "schema"),
    ("bp part as string", {"patient_id": "p1", "signal": "blood_pressure", "ts": TS,
                           "value": {"systolic": "120", "diastolic": 80}}, "schema"),
    ("native unknown bare sleep stage", {"patient_id": "p-nat", "signal": "sleep", "value": "nap",
                                         "ts": TS, "end_ts": TS}, "schema"),
    ("workout without an end", {"patient_id": "p1", "signal": "exercise", "value": "run",
                                "ts": TS}, "schema"),
    ("workout of 30 hours", {"patient_id": "p1", "signal": "exercise", "value": "hike",
                             "ts": iso(-30 * 3600), "end_ts": TS}, "implausible_value"),
    ("omh activity without a name", omh("physical-activity", {**INTERVAL}), "schema"),
]  # fmt: skip


def rounded(value: Any, places: int = 2) -> Any:
    """A value with its floats rounded, for comparing converted units."""
    if isinstance(value, dict):
        return {k: rounded(v, places) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, places) for v in value]
    return round(value, places) if isinstance(value, float) else value
