from __future__ import annotations

from streams.candidates import Rejection
from streams.profiles import parse_profile


def test_profiles_tombstones_and_errors() -> None:
    pid, profile = parse_profile(b"p-1", b'{"patient_id": "p-1", "age": 70, "consent": false}')
    assert pid == "p-1" and profile["consent"] is False and profile["age"] == 70
    assert parse_profile(b"p-1", None) == ("p-1", None)  # tombstone: delete
    assert parse_profile(None, None).reason == "schema"
    mismatch = parse_profile(b"p-2", b'{"patient_id": "p-1"}')
    assert isinstance(mismatch, Rejection) and "differ" in mismatch.detail
    assert parse_profile(b"p-1", b"{oops").reason == "invalid_json"


def test_time_zone_and_suggestion_fields() -> None:
    _, profile = parse_profile(
        b"p-1",
        b'{"patient_id": "p-1", "tz": "America/Los_Angeles", "decision_times": ["08:30"],'
        b' "hr_max": 150, "exercise_restricted": true}',
    )
    assert profile["tz"] == "America/Los_Angeles" and profile["decision_times"] == ["08:30"]
    assert parse_profile(b"p-1", b'{"patient_id": "p-1"}')[1]["tz"] == "UTC"  # the default
    unknown = parse_profile(b"p-1", b'{"patient_id": "p-1", "tz": "Mars/Olympus_Mons"}')
    assert isinstance(unknown, Rejection) and unknown.reason == "schema"
    assert "unknown time zone" in unknown.detail
    late = parse_profile(b"p-1", b'{"patient_id": "p-1", "decision_times": ["24:10"]}')
    assert isinstance(late, Rejection) and late.reason == "schema"
