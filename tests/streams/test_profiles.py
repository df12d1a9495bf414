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
