"""From wearable readings to the inputs of NEWS2 (``online_models.news2``).

NEWS2 (RCP 2017) is a score of *resting spot observations*; a wearable gives a stream. Per
parameter the feed uses the latest value within its validity window (``VALIDITY_S``); for heart
rate, respiration and SpO2 it is the median of the last three readings taken at rest or asleep
within ``SMOOTH_WINDOW_S`` (two: their mean), so one motion artefact or a brief nocturnal dip does
not score while a real change is seen in full by its second reading, at 1-minute and 5-minute
sampling alike — and at the hourly background SpO2 readings of consumer watches, whose
occasional low outlier would otherwise page on its own (the latest reading must still be within
its validity window). Readings taken while active are not fed (the caller decides; see
``online_models.state``).

The usual-red-flag rule: a single-parameter 3 from a wearable, or from the patient's own blood
pressure cuff, whose value lies within ``USUAL_Z`` SD of a warm personal baseline of the same
context is this patient's normal (e.g. a sleeping heart rate of 40 under beta-blockers, night
after night; a systolic pressure of 88-92 in a young adult whose readings sit there day after
day: constitutional hypotension, Owens PE et al., "Symptoms and constitutional hypotension",
QJM 2000;93:519-26); the alert engine does not page for it, aggregate bands always do. A fall
from the patient's own usual pressure (more than ``USUAL_Z`` SD) still scores and pages, and a
systolic of 220 or more is never usual: the low red band can be a person's constitution, the high
one is untreated severe hypertension (Williams B et al., "2018 ESC/ESH Guidelines for the
management of arterial hypertension", Eur Heart J 2018;39:3021-104: grade 3 from 180).
"""

from __future__ import annotations

from typing import Any

from online_models.baselines import Baselines
from online_models.news2 import News2Result

__all__ = ["SMOOTHED", "USUAL_Z", "VALIDITY_S", "News2Feed"]

VALIDITY_S: dict[str, float] = {
    "respiratory_rate": 900.0,
    "spo2": 900.0,
    "heart_rate": 900.0,
    "systolic_bp": 6 * 3600.0,
    "body_temperature": 6 * 3600.0,
    "consciousness": 12 * 3600.0,
    "supplemental_o2": 24 * 3600.0,
}
SMOOTHED = frozenset({"heart_rate", "respiratory_rate", "spo2"})
PERSONAL = SMOOTHED | {"systolic_bp"}  # the red parameters a personal baseline can call usual
SEVERE_HYPERTENSION = 220.0  # mmHg: NEWS2's upper red band for systolic pressure, never usual
SMOOTH_WINDOW_S = 3 * 3600.0  # long enough for three hourly readings
USUAL_Z = 2.0  # a red NEWS2 parameter this close to the patient's own baseline is their normal


class News2Feed:
    """The smoothed wearable parameters of one patient, and NEWS2 inputs from them.

    >>> feed = News2Feed()
    >>> for minute, hr in enumerate([70, 140, 72]):   # one artefact among resting readings
    ...     feed.add("heart_rate", hr, ts=minute * 60.0)
    >>> feed.smoothed("heart_rate", now=180.0)
    72
    >>> feed.inputs({"body_temperature": [38.4, 0.0]}, now=180.0)
    {'heart_rate': 72, 'body_temperature': 38.4}
    """

    def __init__(self) -> None:
        self.smooth: dict[str, list[list[float]]] = {}  # signal -> last 3 [value, ts]

    def add(self, signal: str, value: float, ts: float) -> None:
        """A resting reading of a smoothed parameter (in event-time order; late ones ignored)."""
        recent = self.smooth.setdefault(signal, [])
        if not recent or ts >= recent[-1][1]:
            recent.append([value, ts])
            if len(recent) > 3:
                del recent[0]
            while ts - recent[0][1] > SMOOTH_WINDOW_S:  # in time order: the old ones lead
                del recent[0]

    def forget(self, start: float, end: float) -> None:
        """Drop the readings taken from ``start`` to ``end``: they were not resting values after
        all (a step count that arrived after them says the patient was moving)."""
        for signal, recent in self.smooth.items():
            if any(start <= r[1] <= end for r in recent):
                self.smooth[signal] = [r for r in recent if not start <= r[1] <= end]

    def smoothed(self, signal: str, now: float) -> float | None:
        """Median of the signal's last readings, None when too old."""
        recent = self.smooth.get(signal)
        if not recent or now - recent[-1][1] > VALIDITY_S[signal]:
            return None
        n = len(recent)  # at most 3 (``add``): by comparisons, not a sort (every reading asks)
        if n == 1:
            return recent[0][0]
        if n == 2:
            return (recent[0][0] + recent[1][0]) / 2
        if n == 3:
            a, b, c = recent[0][0], recent[1][0], recent[2][0]
            if a > b:
                a, b = b, a
            return a if c <= a else c if c <= b else b  # the middle of a <= b and c
        values = sorted(r[0] for r in recent)
        middle = n // 2
        return values[middle] if n % 2 else (values[middle - 1] + values[middle]) / 2

    def inputs(self, latest: dict[str, list[Any]], now: float) -> dict[str, Any]:
        """NEWS2 inputs at ``now``: smoothed wearable values, else the latest valid value."""
        values: dict[str, Any] = {}
        for parameter, validity in VALIDITY_S.items():
            if parameter in SMOOTHED:
                value = self.smoothed(parameter, now)
                if value is not None:
                    values[parameter] = value
                continue
            entry = latest.get(parameter)
            if entry is not None and now - entry[1] <= validity:
                values[parameter] = entry[0]
        return values

    def unconfirmed(self, news2: News2Result) -> frozenset[str]:
        """The red-scoring (3) wearable parameters that rest on a single reading: the first after
        a gap, or an hourly background reading with none before it in ``SMOOTH_WINDOW_S``. They
        score (a nurse's spot check counts at once in an aggregate band), but a red flag of one
        reading does not page on its own until a second reading confirms it."""
        smooth = self.smooth
        return frozenset(p for p, sub in news2.subscores.items()
                         if sub == 3 and p in SMOOTHED and len(smooth.get(p, ())) == 1)  # fmt: skip

    def usual(self, news2: News2Result, baselines: Baselines, context: str, now: float,
              latest: dict[str, list[Any]] | None = None) -> frozenset[str]:  # fmt: skip
        """The red-scoring (3) personal parameters (``PERSONAL``) whose value is usual for this
        patient: within ``USUAL_Z`` SD of a warm personal baseline of the current context.
        ``latest``: the latest value of each signal, for the parameters not smoothed."""
        red = [p for p, sub in news2.subscores.items() if sub == 3 and p in PERSONAL]
        out = set()
        for parameter in red:
            if parameter in SMOOTHED:
                value = self.smoothed(parameter, now)
            else:
                entry = (latest or {}).get(parameter)
                value = entry[0] if entry is not None else None
                if value is not None and value >= SEVERE_HYPERTENSION:
                    continue  # a usual 220 is untreated severe hypertension, not a normal
            if value is None:
                continue
            z, ref = baselines.z(parameter, value, context)
            if ref.warm and abs(z) < USUAL_Z:
                out.add(parameter)
        return frozenset(out)

    def to_dict(self) -> dict[str, Any]:
        return {"smooth": self.smooth}

    def load(self, data: dict[str, Any]) -> None:
        self.smooth = data["smooth"]
