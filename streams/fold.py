"""Readings on their way to ``vitals.clean``, folded per patient while the ingest is behind.

A watch that sends one reading per message costs the repartition hop and the monitor one
event, and one assessment, per reading. When the ingest is behind (a backlog after an outage,
a program's bulk upload, a burst), the consecutive readings of one patient are worth sending
as one ``vitals.clean`` batch event, exactly as a watch that syncs a batch would: the monitor
then folds them in one pass and assesses once. This is the micro-batching that Kafka Streams'
record caches do for the same reason (fewer downstream records under load, none held back when
caught up).

A fold is bounded so that what the monitor sees stays close to what it would see message by
message: the readings of one message stay one event, as they always were, and messages are
joined only up to ``max_readings`` readings spanning at most ``max_span_s`` seconds of event
time per patient (the assessment of a folded event is at its latest reading, so an alert's
event time moves by at most the span), and at most ``max_pending`` readings in all. The
caller drains the fold whenever it has caught up with its input, so a monitor that keeps up
sends every message on at once, as before. ``max_span_s = 0`` turns folding off.

Pure: no Faust, no clock; the ingest agent decides when to drain.
"""

from __future__ import annotations

from typing import Any

Reading = dict[str, Any]
CleanEvent = tuple[str, dict[str, Any]]
# Enough for two messages each of 50,000 patients (the backlog of a large program holds a
# patient's next message a whole round of the others later), about 25 MB of readings; at 20,000
# a worker of 10,000 patients folded 1.9 readings an event instead of 3.5.
MAX_PENDING = 100_000


def clean_event(patient_id: str, group: list[Reading]) -> CleanEvent:
    """The ``vitals.clean`` event of one patient's readings: the reading itself, or a batch."""
    if len(group) == 1:
        return patient_id, group[0]
    return patient_id, {"patient_id": patient_id, "readings": group}


class _PatientFold:
    __slots__ = ("first", "last", "readings")

    def __init__(self, group: list[Reading]) -> None:
        self.readings = group
        self.first = min(r["ts"] for r in group)
        self.last = max(r["ts"] for r in group)

    def add(self, group: list[Reading], max_readings: int, max_span_s: float) -> bool:
        """Take one message's readings if the fold stays within its bounds."""
        first = min(self.first, min(r["ts"] for r in group))
        last = max(self.last, max(r["ts"] for r in group))
        if len(self.readings) + len(group) > max_readings or last - first > max_span_s:
            return False
        self.readings.extend(group)
        self.first, self.last = first, last
        return True


class CleanFold:
    """Pending ``vitals.clean`` readings per patient (see the module doc)."""

    def __init__(self, max_readings: int = 60, max_span_s: float = 60.0,
                 max_pending: int = MAX_PENDING) -> None:  # fmt: skip
        self.max_readings = max_readings
        self.max_span_s = max_span_s
        self.max_pending = max_pending
        self.pending = 0
        self._folds: dict[str, _PatientFold] = {}

    def add(self, readings: list[Reading]) -> list[CleanEvent]:
        """Take one message's readings in; return the events that must go now: a patient's fold
        that cannot take them, or everything when the fold holds ``max_pending`` readings or is
        turned off. The readings of one patient in one message always travel together."""
        if self.max_span_s <= 0:
            return clean_events(readings)
        ready: list[CleanEvent] = []
        folds = self._folds
        for pid, group in _by_patient(readings).items():
            fold = folds.get(pid)
            if fold is not None and fold.add(group, self.max_readings, self.max_span_s):
                self.pending += len(group)
                continue
            if fold is not None:  # full: it goes first, the patient's order kept
                ready.append(clean_event(pid, folds.pop(pid).readings))
                self.pending -= len(fold.readings)
            if len(group) >= self.max_readings:  # a full batch already: nothing to wait for
                ready.append(clean_event(pid, group))
            else:
                folds[pid] = _PatientFold(group)
                self.pending += len(group)
        if self.pending >= self.max_pending:
            ready += self.drain()
        return ready

    def drain(self) -> list[CleanEvent]:
        """Every pending fold as its event, in the order the patients first came."""
        events = [clean_event(pid, fold.readings) for pid, fold in self._folds.items()]
        self._folds = {}
        self.pending = 0
        return events


def _by_patient(readings: list[Reading]) -> dict[str, list[Reading]]:
    groups: dict[str, list[Reading]] = {}
    for reading in readings:
        groups.setdefault(reading["patient_id"], []).append(reading)
    return groups


def clean_events(readings: list[Reading]) -> list[CleanEvent]:
    """Group normalized readings into ``vitals.clean`` events: (patient_id key, value).

    Readings of one patient that arrived together travel as one batch event, so the monitor
    pays the per-event cost of the stream once per sync rather than once per reading.
    """
    return [clean_event(pid, group) for pid, group in _by_patient(readings).items()]
