from __future__ import annotations

import json

from streams.candidates import Rejection
from streams.outcomes import parse_outcome
from vigilstream import messages


def test_outcome_becomes_a_control_event_for_the_owner() -> None:
    raw = json.dumps({"patient_id": "p-1", "kind": "deterioration",
                      "ts": "2026-11-27T08:15:00Z", "onset_ts": 1795760000}).encode()  # fmt: skip
    patient_id, event = parse_outcome(raw)
    assert patient_id == "p-1"
    messages.validate("clean_outcome", event)
    assert event["outcome"] == {"kind": "deterioration", "ts": 1795767300.0,
                                "onset_ts": 1795760000.0}  # fmt: skip


def test_bad_outcomes_are_rejections() -> None:
    assert parse_outcome(b"{nope").reason == "invalid_json"
    bad = parse_outcome(b'{"patient_id": "p-1", "kind": "sneeze", "ts": 1}')
    assert isinstance(bad, Rejection) and bad.reason == "schema" and "kind" in bad.detail
