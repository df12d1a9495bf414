"""The patients this worker owns: their states in memory, checkpointed to a ``StateStore``.

Ownership follows the partitions of ``vitals.clean``: a patient's state is restored from its
checkpoint when the owner first meets the patient, checkpointed every few seconds (all changed
patients in one pipelined write; every held patient every ``full_every`` checkpoints) and when
its partition is revoked or the worker stops, and then dropped from memory. Each state remembers
the last ``vitals.clean`` offset it applied, so events redelivered after a failover or a crash
are skipped rather than counted twice; the monitor commits an event's offset only after the
checkpoint holding its effect was saved (``streams.monitor``), so a crash loses nothing either.

Patient states hold no reference cycles (each is freed by its reference count when dropped),
and a worker holds thousands: about 230 objects the cyclic garbage collector tracks per state.
Python's full collection walks every one of them, and while patients arrive (start-up, a
takeover, the benchmark's half load) one ran every few seconds and stopped the event loop for
80-220 ms with only 1,100 patients held, most of the latency tail. When the number of states
held has grown by a quarter since the last time, the registry moves every object alive to
the collector's permanent generation (``gc.freeze``, O(1); Python documents it for long-lived
objects), so later collections walk only what is newer. A frozen object that later becomes
cyclic garbage is never collected; the growth rule bounds how often that can happen (about
ten freezes from 100 to 1,000,000 states).

Offsets are only meaningful in the log they came from: a state records the topic id of
``vitals.clean`` (``log``) and a state restored into a different log (the broker lost its data
and the topic was declared anew) forgets its offsets instead of skipping new events.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from online_models.policy import ModelPolicy
from online_models.state import PatientState, pack
from streams.failure import retry_until_done
from streams.storage import StateStore

log = logging.getLogger(__name__)
CHECKPOINT_CHUNK = 100  # most states per pipelined write, the event loop free between writes
CHECKPOINT_SLICE_S = 0.005  # most serializing between two turns of the event loop (~15 states)
FULL_CHECKPOINT_EVERY = 6
CHECKPOINT_DUTY = 1 / 3  # most of the CPU a periodic checkpoint takes while it runs
FREEZE_GROWTH = 1.25  # freeze the heap when this many times the states of the last freeze
FREEZE_FIRST = 100  # ... and at least this many are held


class PatientRegistry:
    """In-memory patient states of one worker and their checkpoints."""

    def __init__(
        self,
        store: StateStore,
        metrics: Any = None,
        before_save: Callable[[PatientState], None] | None = None,
        log_id: str | None = None,
        full_every: int = FULL_CHECKPOINT_EVERY,
        policy: ModelPolicy | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.before_save = before_save
        self.log_id = log_id
        self.full_every = full_every
        self.policy = policy
        self.states: dict[str, PatientState] = {}
        self.partition_of: dict[str, int] = {}
        self.dirty: set[str] = set()
        self._checkpoints = 0
        self.frozen_at = 0  # states held at the last gc.freeze()

    async def get(self, patient_id: str, partition: int) -> PatientState:
        """The patient's state, restored from its checkpoint on first use (Redis retried until
        it answers: the event in hand is never dropped)."""
        if patient_id not in self.states:
            await self.restore({patient_id: partition})
        self.partition_of[patient_id] = partition
        return self.states[patient_id]

    async def restore(self, partitions: dict[str, int]) -> None:
        """Restore the patients not held yet (patient id -> partition) from their checkpoints in
        one round trip: a batch of events that meets hundreds of patients for the first time
        (start-up, a takeover) reads them together, not one Redis call each."""
        wanted = [pid for pid in partitions if pid not in self.states]
        if not wanted:
            return
        blobs = await retry_until_done(
            lambda: self.store.load_many(wanted), "redis", "loading patient checkpoints",
            self.metrics,
        )  # fmt: skip
        for patient_id, blob in zip(wanted, blobs, strict=True):
            self.states[patient_id] = self._rebuilt(patient_id, blob)
            self.partition_of[patient_id] = partitions[patient_id]
        self._freeze_if_grown()

    def _rebuilt(self, patient_id: str, blob: bytes | None) -> PatientState:
        """A patient's state from its checkpoint (or a new one), counted by how it was made."""
        if blob is None:
            state, how = PatientState(patient_id, policy=self.policy), "new"
        else:
            state, how = PatientState.from_bytes(blob, patient_id, self.policy)
        if self.metrics is not None:  # a rebuilt state must not go unnoticed
            self.metrics.state_restores.labels(how).inc()
        if self.log_id is not None and state.extras.get("log") != self.log_id:
            if state.offsets and "log" in state.extras:
                log.warning("a checkpoint from an earlier vitals.clean log: offsets reset")
            state.offsets.clear()
            state.extras["log"] = self.log_id
        return state

    def _freeze_if_grown(self) -> None:
        """``gc.freeze()`` once the states held have grown by ``FREEZE_GROWTH`` (module doc)."""
        held = len(self.states)
        if held >= max(FREEZE_FIRST, self.frozen_at * FREEZE_GROWTH):
            gc.freeze()
            self.frozen_at = held

    def forget(self, patient_id: str) -> None:
        """Drop a patient from memory without saving it (erasure)."""
        self.states.pop(patient_id, None)
        self.partition_of.pop(patient_id, None)
        self.dirty.discard(patient_id)

    def touched(self, patient_id: str) -> None:
        self.dirty.add(patient_id)

    def touch_all(self) -> None:
        """Mark every held state for the next checkpoint (periodic full save, lost store)."""
        self.dirty.update(self.states)

    async def checkpoint(self, patient_ids: Iterable[str] | None = None) -> int:
        """Save changed states; returns how many were saved, -1 on failure.

        States are serialized and written in slices of at most ``CHECKPOINT_CHUNK`` states and
        ``CHECKPOINT_SLICE_S`` of work (one pipelined round trip each), with the event loop free
        between slices: a worker that took over thousands of patients must not block its
        consumer for seconds, nor send Redis one huge pipeline, and an alert that arrives during
        a checkpoint waits milliseconds, not the whole checkpoint. A periodic checkpoint pauses
        twice as long as each slice took (``CHECKPOINT_DUTY``: a third of the CPU, so a worker
        at half load catches up while it saves; at half the CPU it only kept up, and the lag
        built during the save was the latency tail); saving a given set of patients (a revoked
        partition) does not pause. A slice's documents are compressed in a thread (zlib lets
        go of the GIL), so about half of a checkpoint's work is done on another core while the
        consumer runs on. Every state is serialized after the call began, so it holds
        the effect of every event applied before the call: a success covers exactly those
        (later ones are skipped on replay by the offsets each state keeps)."""
        if patient_ids is None:
            self._checkpoints += 1
            if self._checkpoints % self.full_every == 0:
                self.touch_all()
            try:
                if not await self.store.intact():
                    log.error("Redis lost its data (restarted without persistence?): saving all "
                              "%d patient states held here again; others restart empty",
                              len(self.states))  # fmt: skip
                    if self.metrics is not None:
                        self.metrics.checkpoints_missing.inc()
                    self.touch_all()
            except Exception as exc:
                log.warning("checkpoint store check failed: %s", type(exc).__name__)
        wanted = list(self.dirty if patient_ids is None else self.dirty & set(patient_ids))
        saved_total = 0
        start, pause = 0, 0.0
        while start < len(wanted):
            if start:  # let the consumer and the web server run
                await asyncio.sleep(pause if patient_ids is None else 0.0)
            documents, first, sliced_at = {}, start, time.perf_counter()
            for pid in wanted[start : start + CHECKPOINT_CHUNK]:
                start += 1
                state = self.states.get(pid)
                if state is not None:
                    if self.before_save is not None:
                        self.before_save(state)
                    documents[pid] = state.to_json()
                if time.perf_counter() - sliced_at > CHECKPOINT_SLICE_S:
                    break
            # A periodic checkpoint takes at most CHECKPOINT_DUTY of the CPU.
            pause = (time.perf_counter() - sliced_at) * (1 / CHECKPOINT_DUTY - 1)
            saved = set(documents)
            self.dirty -= saved  # changes made while saving mark them dirty again
            try:
                # zlib releases the GIL: the compression (half the work) runs beside the loop.
                blobs = await asyncio.to_thread(_pack_all, documents)
                await self.store.save_many(blobs)
            except Exception as exc:  # Redis down: keep them dirty, count, try again later
                log.warning("checkpoint of %d patients failed: %s", len(wanted) - saved_total,
                            type(exc).__name__)  # fmt: skip
                self.dirty |= set(wanted[first:]) & set(self.states)
                if self.metrics is not None:
                    self.metrics.checkpoint_failures.inc()
                return -1
            saved_total += len(blobs)
        return saved_total

    async def release(self, partitions: set[int]) -> int:
        """Checkpoint and forget the patients of revoked partitions."""
        leaving = [pid for pid, p in self.partition_of.items() if p in partitions]
        saved = await self.checkpoint(leaving)
        for pid in leaving:
            if pid not in self.dirty:  # never drop a state whose checkpoint failed
                self.states.pop(pid, None)
                self.partition_of.pop(pid, None)
        return saved


def _pack_all(documents: dict[str, bytes]) -> dict[str, bytes]:
    """The checkpoints of a slice's documents (``state.pack``), in a thread of the loop's pool."""
    return {pid: pack(document) for pid, document in documents.items()}
