"""Decision points and reward windows of one patient, in event time.

HeartSteps (Klasnja et al., Ann Behav Med 2019) decides at five points of the patient's *local*
day; here the points are ``decision_times`` of the profile, else 08:30, 12:00, 15:00, 18:00 and
20:30 in the profile's ``tz``. A point is reached when the patient's event time crosses it, so
a replay of the same data decides exactly as the live worker did. No decision is made while
the patient is asleep, inside quiet hours, or already active (the caller says which), and at
most ``daily_cap`` suggestions are *sent* per local day; every decision, sent or not, is
logged with its propensity and the reason it was not sent.

The proximal reward of a decision is the steps of the 30 minutes after it minus the 30 minutes
before (event time), computed once the window has closed in event time, and fed back to the
patient's bandit (``online_models.suggestions.bandit``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["DecisionPoints", "StepLog", "reward"]

DEFAULT_TIMES = ("08:30", "12:00", "15:00", "18:00", "20:30")
WINDOW_S = 1800.0
PRUNE_SLACK_S = 300.0  # the step log keeps up to this much more than a reward window needs


class DecisionPoints:
    """The decision instants a patient's event time crosses.

    >>> from datetime import UTC
    >>> points = DecisionPoints()
    >>> t0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC).timestamp()
    >>> points.crossed(t0, "UTC")                       # the first event only sets the clock
    []
    >>> later = points.crossed(t0 + 4 * 3600, "UTC")
    >>> [datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in later]
    ['08:30', '12:00']
    >>> la = DecisionPoints()                            # the same instants in Los Angeles
    >>> _ = la.crossed(t0, "America/Los_Angeles")
    >>> la.crossed(t0 + 4 * 3600, "America/Los_Angeles")  # 00:00-04:00 there: none
    []
    """

    def __init__(self) -> None:
        self.last_ts: float | None = None
        self._quiet_until = -1.0  # no decision instant before this (a cache, not persisted)
        self._cache_key: tuple[str, tuple[str, ...]] | None = None

    def crossed(
        self, event_ts: float, tz: str, times: tuple[str, ...] | list[str] = ()
    ) -> list[float]:
        """Decision instants in (last event time, this event time]; late events cross none."""
        last, self.last_ts = self.last_ts, max(event_ts, self.last_ts or event_ts)
        wanted = tuple(times) or DEFAULT_TIMES
        cached = self._cache_key == (tz, wanted) and event_ts < self._quiet_until
        if last is None or event_ts <= last or cached:
            return []
        zone = ZoneInfo(tz)
        out = []
        day = datetime.fromtimestamp(last, zone).date()
        end_day = datetime.fromtimestamp(event_ts, zone).date()
        while day <= end_day:
            out += [ts for ts in _instants(day, zone, wanted) if last < ts <= event_ts]
            day += timedelta(days=1)
        # Most events cross nothing: remember a lower bound of the next instant (the next local
        # day's start is safe whatever the times), so they return before any time-zone work.
        upcoming = _instants(end_day, zone, wanted) + _instants(
            end_day + timedelta(days=1), zone, wanted
        )
        self._quiet_until = min((t for t in upcoming if t > event_ts), default=event_ts)
        self._cache_key = (tz, wanted)
        return sorted(out)

    def next_instant(self) -> float:
        """The first decision instant after the latest event time ``crossed`` looked at, as
        far as it worked out (-1 before it has: unknown)."""
        return self._quiet_until

    def later_today(
        self, ts: float, tz: str, times: tuple[str, ...] | list[str] = ()
    ) -> list[float]:
        """The scheduled instants after ``ts`` on the same local day.

        >>> from datetime import UTC
        >>> noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()
        >>> len(DecisionPoints().later_today(noon, "UTC"))        # 15:00, 18:00, 20:30
        3
        """
        zone = ZoneInfo(tz)
        today = datetime.fromtimestamp(ts, zone).date()
        return sorted(t for t in _instants(today, zone, tuple(times) or DEFAULT_TIMES) if t > ts)

    def to_dict(self) -> dict[str, Any]:
        return {"last": self.last_ts}

    def load(self, data: dict[str, Any]) -> None:
        self.last_ts = data["last"]


def _instants(day: date, zone: ZoneInfo, times: tuple[str, ...]) -> list[float]:
    """The epoch seconds of the local ``HH:MM`` times on local ``day`` in ``zone``."""
    out = []
    for hhmm in times:
        hour, minute = (int(x) for x in hhmm.split(":"))
        out.append(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp())
    return out


@dataclass
class StepLog:
    """Step counts of the recent event time: (start, end, steps). The owner prunes what no
    reward window can need any more (``prune``), so the log holds about an hour. Tuples of
    floats, not lists: the garbage collector stops tracking them."""

    blocks: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, steps: float, ts: float, end_ts: float | None) -> None:
        """O(1) (the hot path: every step count)."""
        end = end_ts if end_ts is not None and end_ts > ts else ts + 60.0
        self.blocks.append((ts, end, float(steps)))

    def prune(self, horizon: float) -> None:
        """Forget the blocks that ended before ``horizon``, ``PRUNE_SLACK_S`` at a time: the
        caller asks on every event, and rebuilding the list for each minute that passed was
        a third of the suggester's cost per event.

        >>> log = StepLog()
        >>> for minute in range(20):
        ...     log.add(10, ts=minute * 60.0, end_ts=None)
        >>> log.prune(350.0); len(log.blocks)     # less than PRUNE_SLACK_S behind: kept
        20
        >>> log.prune(1000.0); len(log.blocks)    # blocks ending before 1000 s are gone
        4
        """
        if self.blocks and self.blocks[0][1] < horizon - PRUNE_SLACK_S:
            self.blocks = [b for b in self.blocks if b[1] >= horizon]

    def between(self, start: float, end: float) -> float:
        """Steps in [start, end), prorated over the blocks that overlap it.

        >>> log = StepLog(); log.add(600, ts=0.0, end_ts=600.0)
        >>> log.between(300.0, 900.0)
        300.0
        """
        total = 0.0
        for a, b, steps in self.blocks:
            overlap = min(b, end) - max(a, start)
            if overlap > 0:
                total += steps * overlap / (b - a)
        return total

    def to_dict(self) -> dict[str, Any]:
        """Compact: seconds from the first block's start, duration, steps (all integers)."""
        if not self.blocks:
            return {"base": 0, "b": []}
        base = int(min(b[0] for b in self.blocks))
        flat = [int(x) for a, e, n in self.blocks for x in (round(a - base), round(e - a), n)]
        return {"base": base, "b": flat}

    def load(self, data: dict[str, Any]) -> None:
        if "blocks" in data:  # checkpoints before 0.4
            self.blocks = [(b[0], b[1], b[2]) for b in data["blocks"]]
            return
        base, flat = data["base"], data["b"]
        self.blocks = [(base + flat[i], base + flat[i] + flat[i + 1], float(flat[i + 2]))
                       for i in range(0, len(flat), 3)]  # fmt: skip


def reward(
    log: StepLog, decided_at: float, window_s: float = WINDOW_S
) -> tuple[float, float, float]:
    """(reward, steps before, steps after) of a decision: after minus before, 30 minutes each.

    >>> log = StepLog()
    >>> log.add(100, ts=0.0, end_ts=1800.0); log.add(900, ts=1800.0, end_ts=3600.0)
    >>> reward(log, decided_at=1800.0)
    (800.0, 100.0, 900.0)
    """
    before = log.between(decided_at - window_s, decided_at)
    after = log.between(decided_at, decided_at + window_s)
    return after - before, before, after


def decision_id(patient_id: str, decided_at: float) -> str:
    """Deterministic id of a decision (replays publish the same id).

    >>> decision_id("p-1", 1800000000.0)
    'd-11563b41b549b520bc8f'
    """
    digest = hashlib.sha256(f"{patient_id}|{decided_at:.3f}".encode()).hexdigest()
    return f"d-{digest[:20]}"
