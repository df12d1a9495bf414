"""The monitor's per-event and per-tick logic without a broker: what it folds, publishes and
acknowledges, and that an event is acknowledged only once a checkpoint holds its effect.

The Kafka and Redis sides are stand-ins here (a list of sent alerts, a dict of checkpoints);
the same behaviour against the real servers is in ``tests/integration/test_faults.py``.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from streams.metrics import Metrics
from streams.monitor import Monitor
from streams.watchdog import Progress
from streams.webhook import Pager
from tests.alerts.test_engine import CALM, SICK
from vigilstream.config import Settings

T0 = 1_800_000_000.0


class Checkpoints:
    """A ``StateStore`` in a dict, that can be told to fail."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.down = False
        self.loads = 0  # round trips that read checkpoints

    async def load(self, patient_id: str) -> bytes | None:
        return self.blobs.get(patient_id)

    async def load_many(self, patient_ids: list[str]) -> list[bytes | None]:
        self.loads += 1
        return [self.blobs.get(pid) for pid in patient_ids]

    async def save_many(self, blobs: dict[str, bytes]) -> None:
        if self.down:
            raise ConnectionError("store down")
        self.blobs.update(blobs)

    async def delete(self, patient_id: str) -> None:
        self.blobs.pop(patient_id, None)

    async def intact(self) -> bool:
        return True


class Event:
    """A ``vitals.clean`` event as the agent sees it."""

    def __init__(self, doc: dict[str, Any], offset: int, partition: int = 0) -> None:
        self.value = orjson.dumps(doc)
        self.message = SimpleNamespace(partition=partition, offset=offset)
        self.acked = False

    def ack(self) -> None:
        self.acked = True


class Topic:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, key: bytes, value: bytes) -> None:
        self.sent.append(orjson.loads(value))

    def get_topic_name(self) -> str:
        return "vitals.clean"


def application() -> Any:
    alerts = Topic()
    return SimpleNamespace(
        settings=Settings(), metrics=Metrics(), redis=None, pager=Pager([], 0.0),
        topics=SimpleNamespace(alerts=alerts, clean=Topic()), progress=Progress(),
        profiles=SimpleNamespace(get=lambda pid: None), layout_id=lambda topic: "log-1",
    )  # fmt: skip


def minute(patient: str, vitals: dict[str, Any], ts: float) -> dict[str, Any]:
    readings = [{"signal": s, "value": v, "ts": ts, "end_ts": None} for s, v in vitals.items()]
    return {"patient_id": patient, "readings": readings}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_an_event_is_folded_once_and_acknowledged_only_after_its_checkpoint() -> None:
    app, store = application(), Checkpoints()
    monitor = Monitor(app, store)
    events = [Event(minute("p-1", CALM, T0 + i * 60), offset=i) for i in range(5)]
    for event in events:
        run(monitor.handle(event))
    state = monitor.registry.states["p-1"]
    assert state.n_readings == 25
    assert not any(e.acked for e in events)  # applied, not yet saved
    run(monitor.handle(events[2]))  # redelivered: skipped by the offsets
    assert state.n_readings == 25
    store.down = True
    assert run(monitor.checkpoint()) is False
    assert not any(e.acked for e in events) and "p-1" not in store.blobs
    store.down = False
    assert run(monitor.checkpoint()) is True
    assert all(e.acked for e in events) and "p-1" in store.blobs
    assert store.blobs["p-1"] == state.to_bytes()


def test_a_crash_before_the_checkpoint_replays_to_the_same_state_and_alert() -> None:
    docs = [minute("p-1", CALM, T0 + i * 60) for i in range(10)]
    docs += [minute("p-1", SICK, T0 + (10 + i) * 60) for i in range(5)]
    first_app, store = application(), Checkpoints()
    first = Monitor(first_app, store)
    for offset, doc in enumerate(docs[:8]):
        run(first.handle(Event(doc, offset)))
    run(first.checkpoint())  # saved through offset 7
    for offset, doc in enumerate(docs[8:], start=8):
        run(first.handle(Event(doc, offset)))  # applied, then the process dies
    opened = [a for a in first_app.topics.alerts.sent if a["status"] == "open"]
    second_app = application()
    second = Monitor(second_app, store)
    for offset, doc in enumerate(docs):  # Kafka redelivers everything not committed
        run(second.handle(Event(doc, offset)))
    state = second.registry.states["p-1"]
    assert state.n_readings == 75
    again = [a for a in second_app.topics.alerts.sent if a["status"] == "open"]
    assert [a["alert_id"] for a in again] == [a["alert_id"] for a in opened]


@pytest.mark.parametrize("acked", [False, True])
def test_the_tick_escalates_an_unacknowledged_episode_once(acked: bool) -> None:
    app = application()
    monitor = Monitor(app, Checkpoints())
    for i in range(3):
        run(monitor.handle(Event(minute("p-1", SICK, T0 + i * 60), offset=i)))
    (opened,) = [a for a in app.topics.alerts.sent if a["status"] == "open"]
    if acked:
        feedback = {"alert_id": opened["alert_id"], "verdict": "actionable", "at": T0 + 300}
        run(monitor.handle(Event({"patient_id": "p-1", "feedback": feedback}, offset=3)))
    late = monitor.registry.states["p-1"].received_at + app.settings.escalate_after_s + 1
    run(monitor.tick(late))
    run(monitor.tick(late + 60))
    escalated = [a for a in app.topics.alerts.sent if a["status"] == "escalated"]
    assert len(escalated) == (0 if acked else 1)


def test_a_batch_restores_the_patients_it_meets_in_one_round_trip() -> None:
    """A takeover meets thousands of patients at once: one Redis call per patient was the
    largest single cost of the worker on 10,000 patients sending one reading a message."""
    store = Checkpoints()
    earlier = Monitor(application(), store)
    run(earlier.handle(Event(minute("p-1", CALM, T0), offset=0)))
    run(earlier.checkpoint())
    store.loads = 0
    monitor = Monitor(application(), store)
    events = [Event(minute(f"p-{i % 3}", CALM, T0 + 60 + i * 60), offset=1 + i)
              for i in range(6)]  # fmt: skip
    run(monitor.handle_many(events))
    assert store.loads == 1
    assert monitor.registry.states["p-1"].n_readings == 5 + 2 * 5  # restored, then two events
    assert monitor.registry.states["p-0"].n_readings == 2 * 5  # new


def test_events_of_a_partition_revoked_while_they_waited_are_left_to_its_new_owner() -> None:
    monitor = Monitor(application(), Checkpoints())
    events = [Event(minute("p-1", CALM, T0), offset=0, partition=0),
              Event(minute("p-2", CALM, T0), offset=0, partition=1)]  # fmt: skip
    run(monitor.handle_many(events, current=lambda event: event.message.partition == 0))
    assert monitor.registry.states["p-1"].n_readings == 5
    # not even restored: a full checkpoint would save it over its new owner's checkpoint
    assert "p-2" not in monitor.registry.states
    assert monitor.unacked == [events[0]]  # the other one is not acknowledged here


def test_forget_drops_the_state_held_in_memory() -> None:
    app, store = application(), Checkpoints()
    monitor = Monitor(app, store)
    run(monitor.handle(Event(minute("p-1", CALM, T0), offset=0)))
    run(monitor.checkpoint())

    async def erase(client: Any, prefix: str, patient_id: str) -> dict[str, int]:
        await store.delete(patient_id)
        return {"state": 1, "alerts": 0}

    import streams.identities

    original, streams.identities.erase = streams.identities.erase, erase
    try:
        run(monitor.handle(Event({"patient_id": "p-1", "forget": True}, offset=1)))
    finally:
        streams.identities.erase = original
    run(monitor.checkpoint())
    assert "p-1" not in monitor.registry.states and "p-1" not in store.blobs


class CountingCheckpoints(Checkpoints):
    """Records each write's size; fails from the ``fail_at``-th write on."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.fail_at = fail_at

    async def save_many(self, blobs: dict[str, bytes]) -> None:
        self.writes.append(len(blobs))
        if self.fail_at is not None and len(self.writes) >= self.fail_at:
            raise ConnectionError("store down")
        self.blobs.update(blobs)


def test_a_large_checkpoint_is_written_in_chunks_and_a_failure_keeps_the_rest_dirty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that took over thousands of patients once sent Redis a single pipeline of all of
    them, timed out, and retried ever larger ones (the 100,000-patient benchmark found it)."""
    from streams import registry as module
    from streams.registry import CHECKPOINT_CHUNK, PatientRegistry

    monkeypatch.setattr(module, "CHECKPOINT_SLICE_S", 3600.0)  # chunks by count only here

    n = 2 * CHECKPOINT_CHUNK + 3
    store = CountingCheckpoints()
    registry = PatientRegistry(store)
    for i in range(n):
        run(registry.get(f"p-{i}", 0))
        registry.touched(f"p-{i}")
    assert run(registry.checkpoint()) == n
    assert store.writes == [CHECKPOINT_CHUNK, CHECKPOINT_CHUNK, 3]
    assert registry.dirty == set() and len(store.blobs) == n

    failing = CountingCheckpoints(fail_at=2)
    registry.store = failing
    registry.touch_all()
    assert run(registry.checkpoint()) == -1
    assert len(failing.blobs) == CHECKPOINT_CHUNK  # the first chunk is saved ...
    assert len(registry.dirty) == n - CHECKPOINT_CHUNK  # ... the rest waits for the next one
    assert not set(failing.blobs) & registry.dirty


def test_a_checkpoint_slice_ends_when_its_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """An alert that arrives during a checkpoint waits for one slice, not the whole save."""
    from streams import registry as module
    from streams.registry import PatientRegistry

    monkeypatch.setattr(module, "CHECKPOINT_SLICE_S", 0.0)  # every state is a slice of its own
    store = CountingCheckpoints(fail_at=3)
    registry = PatientRegistry(store)
    for i in range(5):
        run(registry.get(f"p-{i}", 0))
        registry.touched(f"p-{i}")
    assert run(registry.checkpoint()) == -1
    assert store.writes[:2] == [1, 1] and len(store.blobs) == 2
    everyone = {f"p-{i}" for i in range(5)}
    assert registry.dirty == everyone - set(store.blobs)  # the failed slice and the rest


def test_the_heap_is_frozen_as_the_states_held_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full garbage collections walked every held state (80-220 ms pauses with 1,100 patients):
    the registry freezes the heap each time the states held grow by a quarter."""
    from streams import registry as module
    from streams.registry import PatientRegistry

    freezes: list[int] = []
    monkeypatch.setattr(module.gc, "freeze", lambda: freezes.append(len(registry.states)))
    monkeypatch.setattr(module, "FREEZE_FIRST", 8)
    registry = PatientRegistry(CountingCheckpoints())
    for i in range(20):
        run(registry.get(f"p-{i}", 0))
        run(registry.get(f"p-{i}", 0))  # a patient already held does not count again
    assert freezes == [8, 10, 13, 17]  # 8, then each time 1.25 x the last
