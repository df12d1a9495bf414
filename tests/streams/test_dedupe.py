from __future__ import annotations

from streams.dedupe import DuplicateFilter, identity


def test_window_and_bound() -> None:
    f = DuplicateFilter(window_s=100, max_entries=3)
    for i in range(3):
        assert not f.seen(("p", i), now=float(i))
    assert f.seen(("p", 0), now=5.0)
    assert not f.seen(("p", 3), now=6.0)  # pushes the oldest out of the bound
    assert len(f) == 3
    assert not f.seen(("p", 0), now=7.0)  # ("p", 0) was the oldest: forgotten
    assert not f.seen(("p", 99), now=500.0)  # everything older than the window expired
    assert len(f) == 1


def test_identity_ignores_processing_fields() -> None:
    a = {"patient_id": "p", "signal": "blood_pressure", "ts": 1.0, "received_at": 5.0,
         "value": {"systolic": 120.0, "diastolic": 80.0}}  # fmt: skip
    b = {**a, "received_at": 9.0, "value": {"diastolic": 80.0, "systolic": 120.0}}
    assert identity(a) == identity(b)


def test_a_workout_reported_again_with_a_later_end_is_not_a_copy() -> None:
    """A workout under way is sent as it goes: the same start and activity, the end so far."""
    first = {"patient_id": "p", "signal": "exercise", "ts": 1.0, "end_ts": 301.0,
             "value": {"activity": "cycling"}}  # fmt: skip
    assert identity(first) != identity({**first, "end_ts": 601.0})
    assert identity(first) == identity({**first, "received_at": 9.0})
