"""Slow personal drift: recent days' resting vitals against the same patient's earlier days.

An exponentially weighted baseline (``online_models.baselines``) with a 7-day memory follows a
change that builds over 4-7 days almost as fast as it comes, so heart-failure decompensation,
which shows in resting heart rate, respiration and SpO2 days before admission (Stehlik J et al.,
LINK-HF, Circ Heart Fail 2020;13:e006513), would never look far from "usual". Here each day's
mean of the resting (not active) readings of heart rate, respiration and SpO2 is kept; the
*recent* level (the current day, once it holds ``MIN_READINGS``) is compared with a *reference*
made of earlier days only (days -9 .. -2), so the drift of the last two days cannot hide
itself. The scale is the day-to-day standard deviation of the reference
days' means, floored (``SD_FLOOR``) because a week of days is a small sample.

The drift is *corroborated* when at least two signals are beyond ``Z_DRIFT`` in their
concerning direction (heart rate and respiration up, SpO2 down) — the multi-parameter logic of
early-warning scores, on personal day-level rather than minute-level values.

>>> d = DailyDrift()
>>> for day in range(8):
...     for k in range(60):
...         ts = day * 86400.0 + k * 600
...         d.learn_one("heart_rate", 60 + (day % 2), ts)
...         d.learn_one("respiratory_rate", 14.0, ts)
...         d.learn_one("spo2", 97.0, ts)
>>> d.result(8 * 86400.0 - 1).corroborated
False
>>> for k in range(60):
...     ts = 8 * 86400.0 + k * 600
...     d.learn_one("heart_rate", 68.0, ts)
...     d.learn_one("respiratory_rate", 19.0, ts)
...     d.learn_one("spo2", 94.0, ts)
>>> r = d.result(8 * 86400.0 + 36000)
>>> r.corroborated, [s["signal"] for s in r.signals]
(True, ['respiratory_rate', 'spo2', 'heart_rate'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from online_models.context import DAY_S

SIGNALS = ("heart_rate", "respiratory_rate", "spo2")
DIRECTION = {"heart_rate": 1.0, "respiratory_rate": 1.0, "spo2": -1.0}  # concerning sign
SD_FLOOR = {"heart_rate": 2.0, "respiratory_rate": 0.7, "spo2": 0.7}
Z_DRIFT = 3.0
MIN_READINGS = 36  # a day (or the current part of one) counts with at least 3 h at 5-min rate
MIN_REFERENCE_DAYS = 4
REFERENCE = (2, 9)  # reference days: from 9 to 2 days before the current one
KEEP_DAYS = 12


@dataclass(frozen=True)
class DriftResult:
    score: float  # the second-largest concerning z when corroborated, else 0
    corroborated: bool
    signals: list[dict[str, Any]] = field(default_factory=list)


class DailyDrift:
    """Per-day sums of resting vitals and their drift against earlier days."""

    def __init__(self) -> None:
        self.days: dict[int, dict[str, list[float]]] = {}  # day -> signal -> [sum, n]
        self._cache: tuple[int, int, DriftResult] | None = None
        # The reference of each signal for one current day: it changes only when that day
        # changes or a reading lands on an earlier day (late data), not with today's readings.
        self._references: tuple[int, dict[str, tuple[float, float, int] | None]] | None = None

    def learn_one(self, signal: str, value: float, ts: float) -> None:
        if signal not in DIRECTION:
            return
        day = int(ts // DAY_S)
        sums = self.days.get(day)
        if sums is None:
            if self.days and day < min(self.days):
                return  # older than anything kept: too late to matter
            sums = self.days[day] = {}
            for old in [d for d in self.days if d <= day - KEEP_DAYS]:
                del self.days[old]
        entry = sums.setdefault(signal, [0.0, 0])
        entry[0] += value
        entry[1] += 1
        self._cache = None
        if self._references is not None and self._references[0] != day:
            self._references = None

    def _recent(self, signal: str, today: int) -> float | None:
        current = self.days.get(today, {}).get(signal)
        if current is None or current[1] < MIN_READINGS:
            return None
        return current[0] / current[1]

    def _reference(self, signal: str, today: int) -> tuple[float, float, int] | None:
        """Mean, SD (floored) and number of the valid reference days of ``signal``."""
        if self._references is None or self._references[0] != today:
            self._references = (today, {})
        known = self._references[1]
        if signal in known:
            return known[signal]
        means = [e[0] / e[1] for d in range(today - REFERENCE[1], today - REFERENCE[0] + 1)
                 if (e := self.days.get(d, {}).get(signal)) is not None
                 and e[1] >= MIN_READINGS]  # fmt: skip
        reference = None
        if len(means) >= MIN_REFERENCE_DAYS:
            mean = sum(means) / len(means)
            sd = math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1))
            reference = (mean, max(sd, SD_FLOOR[signal]), len(means))
        known[signal] = reference
        return reference

    def result(self, now: float) -> DriftResult:
        today = int(now // DAY_S)
        readings = sum(int(e[1]) for e in self.days.get(today, {}).values())
        if self._cache is not None and self._cache[:2] == (today, readings):
            return self._cache[2]
        found = []
        for signal in SIGNALS:
            recent = self._recent(signal, today)
            if recent is None:
                continue
            reference = self._reference(signal, today)
            if reference is None:
                continue
            mean, sd, n = reference
            z = DIRECTION[signal] * (recent - mean) / sd
            if z >= Z_DRIFT:
                found.append((z, signal, recent, mean, sd, n))
        found.sort(reverse=True)
        corroborated = len(found) >= 2
        result = DriftResult(
            round(found[1][0], 2) if corroborated else 0.0,
            corroborated,
            [{"signal": s, "value": round(v, 1), "baseline_mean": round(m, 2),
              "baseline_sd": round(sd, 2), "z": round(DIRECTION[s] * z, 2), "n": n}
             for z, s, v, m, sd, n in found],
        )  # fmt: skip
        self._cache = (today, readings, result)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {str(day): sums for day, sums in self.days.items()}

    def load(self, data: dict[str, Any]) -> None:
        self.days = {int(day): sums for day, sums in data.items()}
        self._cache = self._references = None
