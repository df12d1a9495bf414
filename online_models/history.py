"""Hourly means of the vitals a care team charts: the last 7 days, kept in the patient state.

The care-team board draws heart rate, respiratory rate and SpO2 over 24 h and 7 days against
the personal baseline band. Hourly means are what a bedside trend chart of a remote program
shows (the readings themselves are far too many to keep per patient), and 7 x 24 buckets per
signal stay small in a checkpoint. Each bucket keeps its sum and count, so late readings of an
hour still in the window land in the right place. In memory each signal is a ring of
``KEEP_HOURS`` slots in three typed arrays (about 4 KB), not a dict of lists (about 30 KB): a
worker holds thousands of patients. A checkpoint writes every bucket, but only the current
hour's changes between two checkpoints: the JSON of the hours before it is kept once made
(``_Ring.checkpoint``, ~3.5 KB a signal; kept as lists it cost ~30 KB a patient), since
making it took half the serializing time of a week-old state.
"""

from __future__ import annotations

from array import array
from typing import Any

import orjson

HOUR = 3600.0
KEEP_HOURS = 7 * 24
CHARTED = ("heart_rate", "respiratory_rate", "spo2")


class _Ring:
    """The hourly buckets of one signal: slot ``hour % KEEP_HOURS`` holds that hour's sum and
    count while ``hour`` is within ``KEEP_HOURS`` of the newest hour seen."""

    __slots__ = ("_closed", "count", "hour", "newest", "total")

    def __init__(self) -> None:
        self.hour = array("q", [-1]) * KEEP_HOURS
        self.total = array("d", [0.0]) * KEEP_HOURS
        self.count = array("q", [0]) * KEEP_HOURS
        self.newest = -1
        self._closed: bytes | None = None  # JSON rows of the hours before the newest

    def add(self, hour: int, value: float, n: int = 1) -> None:
        if hour == self.newest:  # the common case: the current hour, already in its slot
            slot = hour % KEEP_HOURS
            self.total[slot] += value
            self.count[slot] += n
            return
        if self.newest >= 0 and hour <= self.newest - KEEP_HOURS:
            return  # older than the window
        self._closed = None  # an earlier hour changed, or the newest moved on
        slot = hour % KEEP_HOURS
        if self.hour[slot] != hour:
            self.hour[slot], self.total[slot], self.count[slot] = hour, 0.0, 0
        self.total[slot] += value
        self.count[slot] += n
        self.newest = max(self.newest, hour)

    def buckets(self) -> list[tuple[int, float, int]]:
        """(hour, sum, count) of the hours in the window, oldest first."""
        oldest = self.newest - KEEP_HOURS
        return sorted((h, t, n) for h, t, n in zip(self.hour, self.total, self.count, strict=True)
                      if h > oldest and n)  # fmt: skip

    def rows(self) -> list[list[Any]]:
        """[hour, sum, count] of the hours in the window, oldest first (the checkpoint's form)."""
        return [[h, round(t, 1), n] for h, t, n in self.buckets()]

    def checkpoint(self) -> orjson.Fragment:
        """``rows`` as JSON; that of the hours before the newest is made once and kept until
        one of them changes."""
        if self._closed is None:
            closed = [[h, round(t, 1), n] for h, t, n in self.buckets() if h != self.newest]
            self._closed = orjson.dumps(closed)[1:-1] + (b"," if closed else b"")
        slot = self.newest % KEEP_HOURS
        newest = orjson.dumps([self.newest, round(self.total[slot], 1), self.count[slot]])
        return orjson.Fragment(b"[" + self._closed + newest + b"]")


class VitalsHistory:
    """Per charted signal: the sum and count of each of the last ``KEEP_HOURS`` hours.

    >>> h = VitalsHistory()
    >>> h.add("heart_rate", 60.0, 7200.0); h.add("heart_rate", 70.0, 7300.0)
    >>> h.series("heart_rate", since=0.0)
    [(7200.0, 65.0, 2)]
    >>> h.add("heart_rate", 80.0, 7200.0 + KEEP_HOURS * HOUR)   # a week later: the old hour goes
    >>> [t for t, _, _ in h.series("heart_rate", since=0.0)] == [7200.0 + KEEP_HOURS * HOUR]
    True
    """

    def __init__(self) -> None:
        self.rings: dict[str, _Ring] = {}

    def add(self, signal: str, value: float, ts: float) -> None:
        ring = self.rings.get(signal)
        if ring is None:
            if signal not in CHARTED:
                return
            ring = self.rings[signal] = _Ring()
        ring.add(int(ts // HOUR), value)

    def series(self, signal: str, since: float) -> list[tuple[float, float, int]]:
        """(hour start, mean, readings) of the hours from ``since`` on, oldest first."""
        ring = self.rings.get(signal)
        if ring is None:
            return []
        first = int(since // HOUR)
        return [(h * HOUR, round(t / n, 1), n) for h, t, n in ring.buckets() if h >= first]

    def to_dict(self) -> dict[str, Any]:
        return {s: ring.rows() for s, ring in self.rings.items() if ring.newest >= 0}

    def checkpoint(self) -> dict[str, orjson.Fragment]:
        """``to_dict`` as a checkpoint writes it (``orjson.dumps`` of either is the same)."""
        return {s: ring.checkpoint() for s, ring in self.rings.items() if ring.newest >= 0}

    def load(self, doc: dict[str, Any]) -> None:
        for signal, rows in doc.items():
            if signal in CHARTED:
                ring = self.rings[signal] = _Ring()
                for h, total, n in sorted(rows):
                    ring.add(int(h), float(total), int(n))
