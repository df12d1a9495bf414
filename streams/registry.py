"""The patients this worker owns: their states in memory, checkpointed to a ``StateStore``.

Ownership follows the partitions of ``vitals.clean``: a patient's state is restored from its
checkpoint when the owner first meets the patient, checkpointed every few seconds (all changed
patients in one pipelined write) and when its partition is revoked or the worker stops, and then
dropped from memory. Each state remembers the last ``vitals.clean`` offset it applied, so events
redelivered after a failover are skipped rather than counted twice.

Between two checkpoints a crash loses the updates of that interval (``VIGIL_CHECKPOINT_INTERVAL_S``)
for events whose offsets Faust had already committed; a graceful stop or rebalance loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from online_models.state import PatientState
from streams.storage import StateStore

log = logging.getLogger(__name__)


class PatientRegistry:
    """In-memory patient states of one worker and their checkpoints."""

    def __init__(
        self,
        store: StateStore,
        metrics: Any = None,
        before_save: Callable[[PatientState], None] | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.before_save = before_save
        self.states: dict[str, PatientState] = {}
        self.partition_of: dict[str, int] = {}
        self.dirty: set[str] = set()

    async def get(self, patient_id: str, partition: int) -> PatientState:
        """The patient's state, restored from its checkpoint on first use."""
        state = self.states.get(patient_id)
        if state is None:
            blob = await self.store.load(patient_id)
            if blob is None:
                state, how = PatientState(patient_id), "new"
            else:
                state, how = PatientState.from_bytes(blob, patient_id)
            if self.metrics is not None:  # a rebuilt state must not go unnoticed
                self.metrics.state_restores.labels(how).inc()
            self.states[patient_id] = state
        self.partition_of[patient_id] = partition
        return state

    def touched(self, patient_id: str) -> None:
        self.dirty.add(patient_id)

    async def checkpoint(self, patient_ids: Iterable[str] | None = None) -> int:
        """Save changed states in one round trip; returns how many were saved."""
        wanted = self.dirty if patient_ids is None else self.dirty & set(patient_ids)
        blobs = {}
        for pid in wanted:
            state = self.states.get(pid)
            if state is not None:
                if self.before_save is not None:
                    self.before_save(state)
                blobs[pid] = state.to_bytes()
        try:
            await self.store.save_many(blobs)
        except Exception as exc:  # Redis down: keep them dirty, count, try again later
            log.warning("checkpoint of %d patients failed: %s", len(blobs), type(exc).__name__)
            if self.metrics is not None:
                self.metrics.checkpoint_failures.inc()
            return 0
        self.dirty -= set(blobs)
        return len(blobs)

    async def release(self, partitions: set[int]) -> int:
        """Checkpoint and forget the patients of revoked partitions."""
        leaving = [pid for pid, p in self.partition_of.items() if p in partitions]
        saved = await self.checkpoint(leaving)
        for pid in leaving:
            if pid not in self.dirty:  # never drop a state whose checkpoint failed
                self.states.pop(pid, None)
                self.partition_of.pop(pid, None)
        return saved
