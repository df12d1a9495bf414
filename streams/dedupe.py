"""Duplicate filter for resent readings.

Devices and phone gateways resend after reconnecting, so the same (patient, signal, event time,
value) can arrive twice, minutes or hours apart. The filter remembers a 64-bit hash of each
reading's identity for a processing-time window and a bounded number of entries (oldest
forgotten first), so memory stays flat: about 100 bytes per entry, 25 MB at the default bound.
Time is a parameter; the filter never reads the clock.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class DuplicateFilter:
    """Remembers reading identities for ``window_s`` seconds, at most ``max_entries`` of them.

    >>> f = DuplicateFilter(window_s=60)
    >>> f.seen(("p1", "heart_rate", 100.0, 72.0), now=0.0)
    False
    >>> f.seen(("p1", "heart_rate", 100.0, 72.0), now=30.0)
    True
    >>> f.seen(("p1", "heart_rate", 100.0, 72.0), now=200.0)  # window passed: new again
    False
    """

    def __init__(self, window_s: float = 6 * 3600.0, max_entries: int = 250_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._first_seen: dict[int, float] = {}
        # Processing-time order of insertions; an entry whose time no longer matches the dict
        # was re-inserted later and is skipped. (Deleting from the front of a dict and asking
        # for its first key again is O(deleted slots) in CPython: it made ingest slow down as
        # the filter filled.)
        self._order: deque[tuple[int, float]] = deque()

    def __len__(self) -> int:
        return len(self._first_seen)

    def seen(self, identity: tuple[Any, ...], now: float) -> bool:
        """True when this identity was seen within the window; records it otherwise."""
        key = hash(identity)
        first = self._first_seen.get(key)
        if first is not None and now - first <= self.window_s:
            return True
        self._first_seen[key] = now
        order = self._order
        order.append((key, now))
        if now - order[0][1] > self.window_s or len(self._first_seen) > self.max_entries:
            self._expire(now)  # else the oldest entry is still in the window: nothing expires
        return False

    def _expire(self, now: float) -> None:
        entries, order = self._first_seen, self._order
        while order:
            key, at = order[0]
            if entries.get(key) != at:
                order.popleft()  # superseded by a later insertion of the same key
            elif len(entries) > self.max_entries or now - at > self.window_s:
                order.popleft()
                del entries[key]
            else:
                break


def identity(reading: dict[str, Any]) -> tuple[Any, ...]:
    """The identity of a normalized reading: patient, signal, event time(s) and value. An
    interval's end is part of it: a workout under way is sent again with the end so far."""
    value = reading["value"]
    if isinstance(value, dict):
        value = tuple(sorted(value.items()))
    elif isinstance(value, list):
        value = tuple(value)
    return (reading["patient_id"], reading["signal"], reading["ts"], reading.get("end_ts"), value)
