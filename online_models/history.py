"""Hourly means of the vitals a care team charts: the last 7 days, kept in the patient state.

The care-team board draws heart rate, respiratory rate and SpO2 over 24 h and 7 days against
the personal baseline band. Hourly means are what a bedside trend chart of a remote program
shows (the readings themselves are far too many to keep per patient), and 7 x 24 buckets per
signal stay small in a checkpoint. Each bucket keeps its sum and count, so late readings of an
hour still in the window land in the right place.
"""

from __future__ import annotations

from typing import Any

HOUR = 3600.0
KEEP_HOURS = 7 * 24
CHARTED = ("heart_rate", "respiratory_rate", "spo2")


class VitalsHistory:
    """Per charted signal: hour index -> [sum, count] for the last ``KEEP_HOURS`` hours.

    >>> h = VitalsHistory()
    >>> h.add("heart_rate", 60.0, 7200.0); h.add("heart_rate", 70.0, 7300.0)
    >>> h.series("heart_rate", since=0.0)
    [(7200.0, 65.0, 2)]
    >>> h.add("heart_rate", 80.0, 7200.0 + KEEP_HOURS * HOUR)   # a week later: the old hour goes
    >>> [t for t, _, _ in h.series("heart_rate", since=0.0)] == [7200.0 + KEEP_HOURS * HOUR]
    True
    """

    def __init__(self) -> None:
        self.hours: dict[str, dict[int, list[float]]] = {s: {} for s in CHARTED}

    def add(self, signal: str, value: float, ts: float) -> None:
        buckets = self.hours.get(signal)
        if buckets is None:
            return
        hour = int(ts // HOUR)
        bucket = buckets.get(hour)
        if bucket is None:
            newest = max(buckets, default=hour)
            if hour <= newest - KEEP_HOURS:
                return  # older than the window
            buckets[hour] = [value, 1]
            if hour > newest or len(buckets) > KEEP_HOURS:
                for old in [h for h in buckets if h <= max(hour, newest) - KEEP_HOURS]:
                    del buckets[old]
        else:
            bucket[0] += value
            bucket[1] += 1

    def series(self, signal: str, since: float) -> list[tuple[float, float, int]]:
        """(hour start, mean, readings) of the hours from ``since`` on, oldest first."""
        first = int(since // HOUR)
        buckets = sorted(self.hours.get(signal, {}).items())
        return [(h * HOUR, round(s / n, 1), int(n)) for h, (s, n) in buckets if h >= first]

    def to_dict(self) -> dict[str, Any]:
        return {s: [[h, round(total, 1), int(n)] for h, (total, n) in sorted(b.items())]
                for s, b in self.hours.items() if b}  # fmt: skip

    def load(self, doc: dict[str, Any]) -> None:
        for signal, rows in doc.items():
            if signal in self.hours:
                self.hours[signal] = {int(h): [float(total), int(n)] for h, total, n in rows}
