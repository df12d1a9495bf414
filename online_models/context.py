"""Context of a reading: is the patient asleep, active or at rest?

Baselines are kept per context (a sleeping heart rate is not a resting one), NEWS2 scores only
resting values, and vigorous exercise is not scored at all, so every reading is first placed
in one of three contexts:

- ``asleep`` inside a sleep interval the device reported, or inside the patient's habitual
  sleep window (median of their last nights) after ``habitual_quiet_s`` without walking: sleep
  intervals usually arrive after the night (a morning sync), so the habitual window is what
  keeps tonight's readings out of the resting baseline (but not after a reported night that
  already ended: the patient woke early);
- ``active`` within ``active_hold_s`` of a step count averaging ``active_cadence`` steps/min or
  more over its block (two walking minutes in five at ~100 steps/min; Tudor-Locke C et al.,
  "How many steps/day are enough? for adults", IJBNPA 2011;8:79);
- ``rest`` otherwise.

A running cadence (``exercise_cadence``, 130 steps/min) marks vigorous exercise until
``active_hold_s`` after it. So does a logged workout (the ``exercise`` signal: HealthKit
workouts, Fitbit exercise logs, Open mHealth ``physical-activity``), from its start until
``workout_hold_s`` after its end: a ride or a gym session counts few or no steps, and without
its log a heart rate of 130 for an hour is indistinguishable from a tachycardia at rest. The
hold covers the recovery: heart rate falls fastest in the first minute after exercise but stays
above resting for tens of minutes as sympathetic drive withdraws, longer after long or hard
sessions (Imai K et al., "Vagally mediated heart rate recovery after exercise...", J Am Coll
Cardiol 1994;24:1529-35).

Whether the context is *known* at all: a device that sends heart rate but no step counts
(a chest strap, a PPG-only recording) leaves every moment looking like ``rest``, and a run
looks like a tachycardia; so does a watch whose heart rate streams live while its step counts
come with a phone sync 15 or 60 minutes later. ``knows`` says whether a step count reaches to
within ``steps_current_s`` (5 minutes, a step block) of a moment. Many devices send nothing
for a block without steps, so a moment no step count has reached is rest *or* not yet known:
the alert engine waits longer before paging for what exercise alone explains there
(``alerts.engine``), except while the patient sleeps. ``counts_steps`` says whether the stream
counted any steps in the last 12 hours (a device that counts steps at all). Pure: time is a
parameter.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

__all__ = ["DAY_S", "HALF_DAY_S", "Activity", "ContextPolicy", "habitual_window"]

DAY_S, HALF_DAY_S = 86400.0, 43200.0


@dataclass(frozen=True)
class ContextPolicy:
    """Hyperparameters of context detection (see the module doc for their sources)."""

    active_cadence: float = 40.0  # steps/min averaged over a step block
    active_hold_s: float = 600.0  # active (or exercising) this long after such a block
    exercise_cadence: float = 130.0  # steps/min: running
    night_gap_s: float = 3600.0  # sleep segments closer than this belong to the same night
    nights_kept: int = 10
    habitual_quiet_s: float = 1800.0  # no walking this long inside the usual window: asleep
    habitual_nights: int = 3  # nights of 3 h or more needed for a habitual window
    steps_current_s: float = 300.0  # a step count this close to a moment: the context is known
    steps_stream_s: float = 12 * 3600.0  # none this long: the device does not count steps
    workout_hold_s: float = 1800.0  # exercising this long after a logged workout ends
    workouts_kept: int = 16


def habitual_window(nights: list[list[float]], needed: int = 3) -> tuple[float, float] | None:
    """The patient's usual sleep window from their last nights (at least ``needed`` of 3 h or
    more): median start and end as seconds after noon UTC, so a night does not wrap around
    midnight.

    >>> night = lambda d, s, e: [d * DAY_S + s * 3600, d * DAY_S + e * 3600]
    >>> w = habitual_window([night(0, 23, 31), night(1, 22.5, 30), night(2, 23.5, 30.5)])
    >>> [round(x / 3600, 1) for x in w]   # hours after noon: 23:00 to 06:30
    [11.0, 18.5]
    """
    long_ones = [(a, b) for a, b in nights if b - a >= 3 * 3600][-7:]
    if len(long_ones) < needed:
        return None
    starts = [(a + HALF_DAY_S) % DAY_S for a, _ in long_ones]
    lengths = [b - a for a, b in long_ones]
    start = statistics.median(starts)
    return start, start + statistics.median(lengths)


class Activity:
    """What the patient is doing, from their step counts and sleep reports.

    >>> a = Activity()
    >>> a.note_steps(300, ts=0.0, end_ts=300.0)     # 60 steps/min over five minutes
    True
    >>> a.of(600.0), a.of(2000.0), a.exercising(600.0)
    ('active', 'rest', False)
    >>> a.note_sleep(10_000.0, 30_000.0)
    >>> a.of(20_000.0)
    'asleep'
    """

    def __init__(self, policy: ContextPolicy | None = None) -> None:
        self.policy = policy or ContextPolicy()
        self.sleep_spans: list[list[float]] = []  # recent nights, [start, end] asleep
        self.habitual: tuple[float, float] | None = None  # from sleep_spans
        self.slept_between = (math.inf, -math.inf)  # earliest start, latest end of sleep_spans
        self.active_until = -math.inf
        self.exercise_until = -math.inf  # vigorous exercise (running) and a while after
        self.steps_until = -math.inf  # the end of the latest step count, whatever its cadence
        self.workouts: list[list[float]] = []  # recent logged workouts, [start, end + hold]
        self.worked_between = (math.inf, -math.inf)  # earliest start, latest end of workouts

    def of(self, ts: float) -> str:
        """``asleep``, ``active`` or ``rest`` at event time ``ts``."""
        if self.slept_between[0] <= ts <= self.slept_between[1] and any(
            start <= ts <= end for start, end in self.sleep_spans
        ):
            return "asleep"
        if ts <= self.active_until or self.in_workout(ts):
            return "active"
        window = self.habitual
        if window is not None and ts - self.active_until > self.policy.habitual_quiet_s:
            # A reported night that ended within one night's length before ``ts``: the patient
            # woke up (early, or in the night) and lies awake; the habit is not tonight's.
            woke = 0.0 < ts - self.slept_between[1] <= window[1] - window[0]
            # Seconds after noon UTC; a night that spans noon UTC (a patient in New Zealand or
            # Hawaii) ends past DAY_S, so tomorrow's side of noon is looked up one day on.
            tod = (ts + HALF_DAY_S) % DAY_S
            if (window[0] <= tod <= window[1] or tod + DAY_S <= window[1]) and not woke:
                return "asleep"
        return "rest"

    def exercising(self, ts: float) -> bool:
        """Vigorous exercise at ``ts``: a running cadence, or a logged workout (module doc)."""
        return ts <= self.exercise_until or self.in_workout(ts)

    def in_workout(self, ts: float) -> bool:
        """Whether ``ts`` falls in a logged workout or its recovery hold.

        >>> a = Activity()
        >>> a.note_workout(3600.0, 7200.0)
        >>> a.in_workout(3000.0), a.in_workout(5000.0), a.in_workout(8900.0), a.of(9100.0)
        (False, True, True, 'rest')
        """
        return self.worked_between[0] <= ts <= self.worked_between[1] and any(
            start <= ts <= end for start, end in self.workouts
        )

    def note_workout(self, start: float, end: float) -> None:
        """A logged workout over ``start``..``end``. One under way may be sent again as it
        goes (the same start, a later end): overlapping reports merge."""
        until = end + self.policy.workout_hold_s
        spans = [s for s in self.workouts if s[1] < start or s[0] > until]
        for s in self.workouts:
            if not (s[1] < start or s[0] > until):
                start, until = min(start, s[0]), max(until, s[1])
        spans.append([start, until])
        spans.sort()
        self._set_workouts(spans[-self.policy.workouts_kept :])

    def _set_workouts(self, spans: list[list[float]]) -> None:
        self.workouts = spans
        self.worked_between = (min((s for s, _ in spans), default=math.inf),
                               max((e for _, e in spans), default=-math.inf))  # fmt: skip

    def knows(self, ts: float) -> bool:
        """Whether a step count reaches to within ``steps_current_s`` of ``ts`` (module doc).

        >>> a = Activity()
        >>> a.knows(0.0)
        False
        >>> _ = a.note_steps(12, ts=0.0, end_ts=300.0)
        >>> a.knows(300.0), a.knows(600.0), a.knows(601.0)
        (True, True, False)
        """
        return ts - self.steps_until <= self.policy.steps_current_s

    def counts_steps(self, ts: float) -> bool:
        """Whether the patient's stream counted steps within ``steps_stream_s`` (12 h) before
        ``ts``: a device that sends step counts at all (a night has none for 8 hours)."""
        return ts - self.steps_until <= self.policy.steps_stream_s

    def note_steps(self, steps: float, ts: float, end_ts: float | None) -> bool:
        """A step count over ``ts``..``end_ts``: walking or running sets the context. True when
        the block was active."""
        policy = self.policy
        minutes = max(((end_ts or ts) - ts) / 60.0, 1.0)
        self.steps_until = max(self.steps_until, end_ts or ts)
        if steps / minutes >= policy.exercise_cadence:
            self.exercise_until = max(self.exercise_until, (end_ts or ts) + policy.active_hold_s)
        if steps / minutes >= policy.active_cadence:
            self.active_until = max(self.active_until, (end_ts or ts) + policy.active_hold_s)
            return True
        return False

    def note_sleep(self, start: float, end: float) -> None:
        """Merge a reported sleep segment into nights and update the habitual sleep window."""
        spans = self.sleep_spans
        if spans and start - spans[-1][1] <= self.policy.night_gap_s and end >= spans[-1][0]:
            spans[-1] = [min(spans[-1][0], start), max(spans[-1][1], end)]
        else:
            spans.append([start, end])
            spans.sort()
        self._set_spans(spans[-self.policy.nights_kept :])

    def _set_spans(self, spans: list[list[float]]) -> None:
        self.sleep_spans = spans
        self.habitual = habitual_window(spans, self.policy.habitual_nights)
        # Most readings fall outside every night: one comparison then says so.
        starts, ends = [s for s, _ in spans], [e for _, e in spans]
        self.slept_between = (min(starts, default=math.inf), max(ends, default=-math.inf))

    def to_dict(self) -> dict[str, Any]:
        return {
            "sleep": self.sleep_spans,
            "active": self.active_until if math.isfinite(self.active_until) else None,
            "exercise": self.exercise_until if math.isfinite(self.exercise_until) else None,
            "steps_until": self.steps_until if math.isfinite(self.steps_until) else None,
            **({"workouts": self.workouts} if self.workouts else {}),
        }

    def load(self, data: dict[str, Any]) -> None:
        self._set_spans(data["sleep"])
        active, exercise = data.get("active"), data.get("exercise")
        self.active_until = active if active is not None else -math.inf
        self.exercise_until = exercise if exercise is not None else -math.inf
        steps = data.get("steps_until")  # absent in checkpoints written before it
        self.steps_until = steps if steps is not None else -math.inf
        self._set_workouts([list(w) for w in data.get("workouts", [])])
