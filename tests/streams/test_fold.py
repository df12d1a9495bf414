"""The ingest's fold: readings of one patient cross ``vitals.clean`` together, bounded."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from streams.fold import CleanFold

T0 = 1_790_000_000.0


def _reading(pid: str, ts: float, value: float = 70.0) -> dict[str, Any]:
    return {"patient_id": pid, "signal": "heart_rate", "value": value, "ts": ts}


def _readings_of(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for key, value in events:
        group = value.get("readings", [value])
        assert all(r["patient_id"] == key for r in group)
        out += group
    return out


def test_a_patients_consecutive_readings_travel_as_one_batch() -> None:
    fold = CleanFold()
    assert fold.add([_reading("a", T0)]) == []
    assert fold.add([_reading("b", T0 + 1)]) == []
    assert fold.add([_reading("a", T0 + 5, 71.0)]) == []
    assert fold.pending == 3
    events = fold.drain()
    assert [key for key, _ in events] == ["a", "b"]
    assert [r["value"] for r in events[0][1]["readings"]] == [70.0, 71.0]
    assert events[1][1] == _reading("b", T0 + 1)  # a single reading stays a plain event
    assert fold.pending == 0 and fold.drain() == []


def test_a_fold_never_spans_more_than_its_event_time_window() -> None:
    fold = CleanFold(max_span_s=60.0)
    fold.add([_reading("a", T0 + 30)])
    assert fold.add([_reading("a", T0 + 90)]) == []  # 60 s apart: still one fold
    (ready,) = fold.add([_reading("a", T0 + 91)])  # would span 61 s: the first fold goes
    assert [r["ts"] for r in ready[1]["readings"]] == [T0 + 30, T0 + 90]
    (rest,) = fold.drain()
    assert rest[1]["ts"] == T0 + 91
    fold.add([_reading("b", T0 + 30)])
    (ready,) = fold.add([_reading("b", T0 - 31)])  # earlier readings count too
    assert ready[1]["ts"] == T0 + 30


def test_folds_are_bounded_per_patient_and_in_all() -> None:
    fold = CleanFold(max_readings=3, max_pending=6)
    assert fold.add([_reading("a", T0), _reading("a", T0 + 1)]) == []
    (ready,) = fold.add([_reading("a", T0 + 2), _reading("a", T0 + 3)])  # 4 > 3: the first goes
    assert [r["ts"] for r in ready[1]["readings"]] == [T0, T0 + 1]
    big = [_reading("b", T0 + i) for i in range(5)]
    (out,) = fold.add(big)  # one message's readings stay one event, whatever its size,
    assert out == ("b", {"patient_id": "b", "readings": big})  # and a full one goes at once
    assert fold.pending == 2
    fold.add([_reading("c", T0)])
    fold.add([_reading("d", T0)])
    assert fold.add([_reading("e", T0), _reading("e", T0 + 1)]) == [
        ("a", {"patient_id": "a", "readings": [_reading("a", T0 + 2), _reading("a", T0 + 3)]}),
        ("c", _reading("c", T0)),
        ("d", _reading("d", T0)),
        ("e", {"patient_id": "e", "readings": [_reading("e", T0), _reading("e", T0 + 1)]}),
    ]  # six pending: everything went
    assert fold.pending == 0


def test_span_zero_turns_folding_off() -> None:
    fold = CleanFold(max_span_s=0)
    out = fold.add([_reading("a", T0), _reading("a", T0 + 1), _reading("b", T0)])
    assert [key for key, _ in out] == ["a", "b"] and fold.pending == 0
    assert len(out[0][1]["readings"]) == 2  # one message's readings still go together


_ARRIVALS = st.lists(
    st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 300)), max_size=6), max_size=40
)


@given(_ARRIVALS, st.integers(1, 8), st.sampled_from([0.0, 10.0, 60.0]))
def test_every_reading_comes_out_once_in_order_and_with_its_message(
    arrivals: list[list[tuple[str, int]]], max_readings: int, span: float
) -> None:
    fold = CleanFold(max_readings=max_readings, max_span_s=span, max_pending=12)
    events: list[tuple[str, dict[str, Any]]] = []
    taken: list[dict[str, Any]] = []
    for i, message in enumerate(arrivals):
        readings = [_reading(pid, T0 + ts, float(n)) for n, (pid, ts) in enumerate(message)]
        for r in readings:
            r["seq"], r["message"] = len(taken), i
            taken.append(r)
        events += fold.add(readings)
        assert fold.pending == len(taken) - len(_readings_of(events)) < 12
        if i % 7 == 6:
            events += fold.drain()
    events += fold.drain()
    sent = _readings_of(events)
    assert sorted(r["seq"] for r in sent) == list(range(len(taken)))
    for pid in "abcd":
        seqs = [r["seq"] for r in sent if r["patient_id"] == pid]
        assert seqs == sorted(seqs)
    group_size = Counter((r["message"], r["patient_id"]) for r in taken)
    for key, value in events:
        in_event = Counter((r["message"], key) for r in _readings_of([(key, value)]))
        assert all(group_size[group] == n for group, n in in_event.items())


class _Flow:
    """The ingest's ``CleanFlow`` with what it touches of Faust: the clean topic's sends and the
    consumer's highwater of the partition (``more`` records after the last one read)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        from streams.ingest import CleanFlow

        self.sent: list[bytes] = []
        self.more = True

        async def send(key: bytes, value: bytes) -> None:
            self.sent.append(key)

        consumer = SimpleNamespace(highwater=lambda tp: 10**9 if self.more else 0)
        app = SimpleNamespace(topics=SimpleNamespace(clean=SimpleNamespace(send=send)),
                              faust=SimpleNamespace(consumer=consumer))  # fmt: skip
        self.flow = CleanFlow(app, CleanFold())  # type: ignore[arg-type]
        self.offset = 0

    def take(self, pid: str, read_at: float, late_s: float) -> None:
        import asyncio
        from types import SimpleNamespace

        self.offset += 1
        message = SimpleNamespace(timestamp=read_at - late_s, offset=self.offset, tp=0)
        event = SimpleNamespace(message=message, ack=lambda: None)
        reading = _reading(pid, T0 + self.offset)
        asyncio.run(self.flow.take(event, [reading], read_at, more_waiting=False))  # type: ignore[arg-type]

    def idle_check(self, now: float) -> None:
        import asyncio

        asyncio.run(self.flow.flush_if_idle(now))


def test_far_behind_a_fold_is_held_longer_so_a_patients_next_message_joins_it() -> None:
    """With many patients a patient's next message is a whole round of the others later: a
    worker 8 s behind holds its fold 8 s (``hold_limit``), not 1 s."""
    from streams.ingest import hold_limit

    flow = _Flow()
    flow.take("a", read_at=100.0, late_s=8.0)
    flow.take("b", read_at=102.0, late_s=8.0)
    flow.take("a", read_at=105.0, late_s=8.0)  # 5 s later: joins a's fold
    assert flow.sent == [] and flow.flow.fold.pending == 3
    flow.take("c", read_at=100.0 + hold_limit(8.0), late_s=8.0)  # the hold is over
    assert flow.sent == [b"a", b"b", b"c"]
    flow.take("a", read_at=200.0, late_s=0.1)  # read on time: never held
    assert flow.sent[-1] == b"a" and flow.flow.fold.pending == 0


def test_the_idle_timer_drains_a_quiet_stream_not_a_starved_one() -> None:
    """The ingest may miss a check only because the monitor held the event loop: with records
    of its partition still waiting and the hold not over, the fold stays; once the stream is
    quiet (nothing more on the broker) or the hold is over, it goes."""
    flow = _Flow()
    flow.take("a", read_at=100.0, late_s=8.0)
    flow.idle_check(100.1)  # the ingest took one since the last check: not idle
    flow.idle_check(100.2)  # idle, but records wait on the broker: starved, not quiet
    assert flow.sent == []
    flow.idle_check(108.5)  # held past its limit
    assert flow.sent == [b"a"]
    flow.take("b", read_at=110.0, late_s=8.0)
    flow.more = False
    flow.idle_check(110.1)
    flow.idle_check(110.2)  # quiet: nothing more to read
    assert flow.sent == [b"a", b"b"]
