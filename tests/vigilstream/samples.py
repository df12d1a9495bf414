"""Valid and invalid samples of every message type of docs/spec.md (shared by several tests)."""

from __future__ import annotations

from typing import Any

TS = "2026-11-27T08:15:00Z"
EPOCH = 1795767300
ALERT = {
    "alert_id": "a-3f2c", "patient_id": "p-0001", "kind": "deterioration", "severity": "high",
    "status": "open", "opened_at": TS, "updated_at": TS, "event_time": TS,
    "summary": "NEWS2 12: call the rapid response team.",
    "explanation": {
        "news2": {"total": 12, "subscores": {"respiratory_rate": 3, "spo2": 3},
                  "missing": ["consciousness"], "scale": 1},
        "signals": [{"signal": "heart_rate", "value": 118, "baseline_mean": 66.0,
                     "baseline_sd": 5.1, "z": 10.2, "n": 4210}],
        "risk": {"probability": 0.81, "model_version": "lr-1", "top_features": ["hr_z"]},
    },
}  # fmt: skip

VALID: dict[str, list[dict[str, Any]]] = {
    "reading": [
        {"patient_id": "p-0001", "device_id": "watch-17", "signal": "heart_rate", "value": 72,
         "unit": "bpm", "ts": TS, "seq": 1234},
        {"patient_id": "p.1_A-b", "signal": "spo2", "value": 0.97, "ts": EPOCH},
        {"patient_id": "p1", "signal": "rr_intervals", "value": [812, 790.5, 805], "ts": TS},
        {"patient_id": "p1", "signal": "blood_pressure",
         "value": {"systolic": 120, "diastolic": 80}, "ts": TS},
        {"patient_id": "p1", "signal": "steps", "value": 230, "ts": TS,
         "end_ts": "2026-11-27T08:20:00Z"},
        {"patient_id": "p1", "signal": "sleep", "value": {"stage": "rem"}, "ts": TS,
         "end_ts": "2026-11-27T09:45:00+01:00"},
        {"patient_id": "p1", "signal": "consciousness", "value": "A", "ts": TS},
        {"patient_id": "p1", "signal": "supplemental_o2", "value": True, "ts": TS},
        {"patient_id": "p1", "signal": "body_temperature", "value": 98.6, "unit": "degF",
         "ts": TS},
    ],
    "batch": [
        {"patient_id": "p1", "device_id": "phone", "readings": [
            {"signal": "heart_rate", "value": 70, "ts": TS},
            {"signal": "steps", "value": 12, "ts": TS, "end_ts": TS}]},
    ],
    "device_status": [
        {"patient_id": "p1", "device_id": "w", "signal": "device_status", "battery": 42,
         "worn": True, "ts": TS},
        {"patient_id": "p1", "signal": "device_status", "worn": False, "ts": EPOCH},
    ],
    "clean_reading": [
        {"patient_id": "p1", "signal": "heart_rate", "value": 72.0, "ts": EPOCH,
         "received_at": EPOCH + 3, "source_format": "native"},
    ],
    "clean_batch": [
        {"patient_id": "p1", "readings": [
            {"patient_id": "p1", "signal": "spo2", "value": 97.0, "ts": EPOCH,
             "received_at": EPOCH, "source_format": "batch"}]},
    ],
    "clean_outcome": [
        {"patient_id": "p1", "outcome": {"kind": "deterioration", "ts": EPOCH, "onset_ts": None}},
    ],
    "patient": [
        {"patient_id": "p1", "age": 71, "sex": "F", "conditions": ["copd"],
         "beta_blocker": True, "spo2_scale": 2,
         "activity_goals": {"steps_per_day": 6000}, "consent": True},
        {"patient_id": "p2"},
    ],
    "outcome": [
        {"patient_id": "p1", "kind": "deterioration", "ts": TS, "onset_ts": EPOCH},
    ],
    "feedback": [
        {"alert_id": "a-3f2c", "verdict": "not_actionable", "note": "known AF", "at": TS},
    ],
    "alert": [ALERT],
    "suggestion": [
        {"suggestion_id": "s-1", "patient_id": "p1", "kind": "walk",
         "text": "A 15-minute walk at an easy pace would help you reach today's goal.",
         "target": {"hr_zone_bpm": [95, 115], "steps": 1500, "minutes": 15},
         "rationale": "2,100 steps below the goal by 16:00; heart rate normal.",
         "policy": {"arm": "walk-15", "propensity": 0.4}, "decided_at": TS},
    ],
    "suggestion_decision": [
        {"decision_id": "d-1", "patient_id": "p1", "decided_at": TS, "arm": "none",
         "propensity": 0.31, "sent": False, "suppressed": None, "context": {"block": "midday"}},
        {"decision_id": "d-2", "patient_id": "p1", "decided_at": TS, "arm": "rest",
         "propensity": 0.5, "sent": True, "suppressed": "fever", "context": {}},
    ],
    "suggestion_outcome": [
        {"decision_id": "d-1", "patient_id": "p1", "reward": -120.0, "steps_before": 300,
         "steps_after": 180},
    ],
    "suggestion_feedback": [
        {"suggestion_id": "d-1", "patient_id": "p1", "response": "not_for_me", "at": TS},
        {"suggestion_id": "d-1", "response": "done", "at": TS},
    ],
    "deadletter": [
        {"reason": "invalid_json", "detail": "not JSON", "payload": "{", "source_topic":
         "vitals.raw", "partition": 0, "offset": 17, "received_at": TS},
    ],
}  # fmt: skip

# (sample, a piece of the expected error message)
INVALID: dict[str, list[tuple[dict[str, Any], str]]] = {
    "reading": [
        ({"patient_id": "p 1", "signal": "heart_rate", "value": 72, "ts": TS}, "patient_id"),
        ({"patient_id": "p1", "signal": "heart_rate", "value": "fast", "ts": TS}, "value"),
        ({"patient_id": "p1", "signal": "heart_rate", "value": 72}, "ts"),
        ({"patient_id": "p1", "signal": "heart_rate", "value": 72, "ts": "2026-11-27T08:15:00"},
         "timezone"),
        ({"patient_id": "p1", "signal": "pulse", "value": 72, "ts": TS}, "signal"),
        ({"patient_id": "p1", "signal": "steps", "value": -3, "ts": TS, "end_ts": TS}, "value"),
        ({"patient_id": "p1", "signal": "steps", "value": 3, "ts": TS}, "end_ts"),
        ({"patient_id": "p1", "signal": "sleep", "value": {"stage": "dozing"}, "ts": TS,
          "end_ts": TS}, "stage"),
        ({"patient_id": "p1", "signal": "consciousness", "value": "X", "ts": TS}, "value"),
        ({"patient_id": "p1", "signal": "heart_rate", "value": 72, "ts": TS, "hr": 1}, "hr"),
        ({"patient_id": "p1", "signal": "blood_pressure", "value": {"systolic": 120}, "ts": TS},
         "diastolic"),
    ],
    "batch": [
        ({"patient_id": "p1", "readings": []}, "readings"),
        ({"readings": [{"signal": "heart_rate", "value": 70, "ts": TS}]}, "patient_id"),
    ],
    "device_status": [
        ({"patient_id": "p1", "signal": "device_status", "battery": 140, "ts": TS}, "battery"),
        ({"patient_id": "p1", "signal": "device_status", "ts": TS}, "battery or worn"),
    ],
    "clean_reading": [
        ({"patient_id": "p1", "signal": "heart_rate", "value": 1, "ts": EPOCH,
          "received_at": EPOCH, "source_format": "carrier-pigeon"}, "source_format"),
    ],
    "clean_batch": [({"patient_id": "p1", "readings": []}, "readings")],
    "clean_outcome": [({"patient_id": "p1", "outcome": {"kind": "flu", "ts": EPOCH}}, "kind")],
    "patient": [
        ({"patient_id": "p1", "age": 200}, "age"),
        ({"patient_id": "p1", "sex": "female"}, "sex"),
        ({"patient_id": "p1", "spo2_scale": 3}, "spo2_scale"),
    ],
    "outcome": [({"patient_id": "p1", "kind": "felt_bad", "ts": TS}, "kind")],
    "feedback": [({"alert_id": "a", "verdict": "maybe", "at": TS}, "verdict")],
    "alert": [
        ({**ALERT, "severity": "critical"}, "severity"),
        ({**ALERT, "explanation": {"news2": {**ALERT["explanation"]["news2"], "scale": 3}}},
         "scale"),
    ],
    "suggestion": [
        ({**VALID["suggestion"][0], "policy": {"arm": "x", "propensity": 1.5}}, "propensity"),
    ],
    "suggestion_decision": [
        ({**VALID["suggestion_decision"][0], "suppressed": "bored"}, "suppressed"),
        ({**VALID["suggestion_decision"][0], "arm": "run"}, "arm"),
    ],
    "suggestion_outcome": [
        ({**VALID["suggestion_outcome"][0], "steps_after": -1}, "steps_after"),
    ],
    "suggestion_feedback": [
        ({**VALID["suggestion_feedback"][0], "response": "meh"}, "response"),
    ],
    "deadletter": [
        ({**VALID["deadletter"][0], "reason": "because"}, "reason"),
    ],
}  # fmt: skip
