"""Personal deviation: how far each signal is from the patient's own baseline, and whether
the deviation is corroborated.

Per signal, the z-score against the personal reference (``online_models.baselines``) is
smoothed in event time (exponential, ``tau`` = 10 min), so a single motion artefact does not
count. Only the clinically concerning direction counts for one-sided signals (low SpO2, low
HRV); heart rate, respiration and temperature count both ways.

Skin temperature counts only from 3 SD and never on its own (``CONTEXTUAL``). A deviation is
*corroborated* when two or more signals are beyond ``Z_CORROBORATE`` (2.5 SD) at
the same time, or one signal is beyond it while the multivariate anomaly score of the vitals
(``online_models.anomaly``) is at least ``ANOMALY_CORROBORATE``, or one signal is beyond
``Z_SUSTAINED`` (4 SD) over at least 30 minutes of its readings against the patient's own warm
baseline, and not for a walk's heart rate, breathing or HRV, whose effort varies (a single
reading, however far out, is never sustained: think of a watch's hourly SpO2 outlier; against a
population prior, on a patient's first day, one signal is what NEWS2 already judges, and a heart
rate of 110 for a gym session is no change from a baseline nobody has yet measured; a hike
uphill at 135 bpm against a walking baseline of 90 is effort): one noisy sensor is not an
emergency (the multi-parameter logic of early-warning scores, applied to personal rather than
population limits). Heart rate and its variability are one witness (``WITNESS``): together they
corroborate only with a third signal, as an evening of alcohol raises the one and lowers the
other in the same beats (development seeds 3/5/7: false clinical alerts per patient-day
0.033/0.029/0.035 -> 0.029/0.026/0.029, every episode still detected at the same time).

The first reading of heart rate, respiration or HRV after a gap of more than ``stale_s`` does not
count as strong until a second reading follows (``EXERTIONAL``): a watch put back on in the
middle of a run, or a phone whose sync sends live heart rate ahead of the step block that says
"running", shows a heart rate of 130 at "rest" for one reading, and one reading is not a
sustained change (development seeds 3/5/7: false clinical alerts per patient-day
0.029/0.026/0.029 -> 0.024/0.019/0.023, recall unchanged; 5 of 154 episodes detected 10-60
minutes later, where the reading after the gap was the strongest of a sparse stream).

The combined score is the second-largest concerning z when two signals (witnesses) agree,
else the single signal's z once corroborated by the anomaly score or sustained, else 0.

Patterns (``PATTERNS``): some signals move together in one physiological process, and their
agreement is evidence before any one of them is far out. Hypoxaemia drives the breathing
(falling SpO2 with a rising respiratory rate: the respiratory compensation of COPD
exacerbations and pneumonia; cf. Cretikos MA et al., Med J Aust 2008;188:657-659 on respiratory
rate as the earliest sign), and a fever raises skin temperature, heart rate (about 10 bpm per
°C; Karjalainen J, Viitasalo M, Acta Med Scand 1986;220:161-164) and respiration together. A
pattern corroborates once every one of its signals has stood beyond the pattern's own, lower,
bar in its direction for ``PATTERN_SUSTAIN_S`` of readings (each has one that late into the
run): an artefact does not move two sensors the same way for 20 minutes. Its score is its
weakest member's z, measured against the pattern's bar (``DeviationResult.bar``), so a care
team's "not actionable" margin raises both tiers alike.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

TAU_S = 600.0
Z_CORROBORATE = 2.5
Z_SUSTAINED = 4.0
ANOMALY_CORROBORATE = 0.75  # Half-Space Trees score; normal vitals stay below ~0.45 (p99)
SUSTAIN_S = 30 * 60.0
STALE_S = 30 * 60.0
ONE_SIDED_LOW = frozenset({"spo2", "hrv_rmssd", "hrv_sdnn"})
# Wrist skin temperature follows the room and the weather as much as the body (a hot day moves
# it by 1-2 °C): it corroborates another signal only from ``Z_CONTEXTUAL``, and never on its own.
CONTEXTUAL = frozenset({"skin_temperature"})
Z_CONTEXTUAL = 3.0
# What exercise alone moves far: heart rate and respiration up (into NEWS2's red band at >= 131
# and >= 25), heart-rate variability down; a low SpO2, a fever, a low blood pressure are not what
# a walk or a run does. Their first reading after a gap may be taken mid-run, before the step
# count that says so arrives (a watch put back on during a run, a phone whose sync sends heart
# rate ahead of the step block), so it waits for a second reading before it counts as strong;
# the alert engine holds conditions these alone explain where steps are unknown.
EXERTIONAL = frozenset({"heart_rate", "respiratory_rate", "hrv_rmssd", "hrv_sdnn"})
# Signals that are one witness, not two: heart rate variability is computed from the same beats
# of the same optical sensor as heart rate, and one autonomic change (an evening of alcohol, a
# bad night, stress) moves both, rate up and variability down (Shaffer F, Ginsberg JP, "An
# overview of heart rate variability metrics and norms", Front Public Health 2017;5:258).
WITNESS = {"hrv_rmssd": "heart_rate", "hrv_sdnn": "heart_rate"}
# How old a change is: the time since each signal named was last calm (concern under
# ``CALM_Z``; ``DeviationResult.calm_until``). A bike ride or a sauna sends heart rate from calm
# to far out within minutes; the heart-rate rise of a fever or a sepsis builds over hours and is
# long past calm when it corroborates (the alert engine's ``confirm_sudden_s``). An irregular
# rhythm says the opposite of exercise: exercise lowers heart-rate variability (Shaffer &
# Ginsberg 2017, above), while the irregular R-R intervals of atrial fibrillation raise RMSSD
# far above the patient's own (``IRREGULAR_Z``, one HRV reading in the last ``IRREGULAR_S``).
CALM_Z = 1.0
IRREGULAR_Z = 2.0
IRREGULAR_S = 3600.0
PATTERNS_KEY = "~patterns"  # in the checkpoint, beside the signals: runs of patterns under way
PATTERN_SUSTAIN_S = 20 * 60.0  # with the engine's 10-minute delay for low alerts: 30 minutes


@dataclass(frozen=True)
class Pattern:
    """Signals that one physiological process moves together, each in its direction (+1 up,
    -1 down), and the z each must reach for the agreement to count."""

    name: str
    signals: tuple[tuple[str, int], ...]
    z: float


PATTERNS = (
    Pattern("hypoxaemia", (("spo2", -1), ("respiratory_rate", 1)), 1.5),
    Pattern("febrile", (("skin_temperature", 1), ("heart_rate", 1), ("respiratory_rate", 1)), 2.0),
)


def patterns_of(patterns: tuple[Pattern, ...]) -> dict[str, tuple[tuple[Pattern, int], ...]]:
    """Per signal, the patterns it belongs to and its direction in each (asked once per
    reading: a lookup, not a scan)."""
    out: dict[str, tuple[tuple[Pattern, int], ...]] = {}
    for pattern in patterns:
        for name, direction in pattern.signals:
            out[name] = (*out.get(name, ()), (pattern, direction))
    return out


@dataclass(frozen=True)
class DeviationPolicy:
    """Hyperparameters of corroborated personal deviation (see the module doc)."""

    tau_s: float = TAU_S  # smoothing of each signal's z, event time
    z_corroborate: float = Z_CORROBORATE
    z_sustained: float = Z_SUSTAINED
    anomaly_corroborate: float = ANOMALY_CORROBORATE
    sustain_s: float = SUSTAIN_S
    stale_s: float = STALE_S
    z_contextual: float = Z_CONTEXTUAL
    patterns: tuple[Pattern, ...] = PATTERNS
    pattern_sustain_s: float = PATTERN_SUSTAIN_S

    @functools.cached_property
    def lowest_z(self) -> float:
        """The smallest concern any tier counts: a signal below it corroborates nothing."""
        return min(self.z_corroborate, self.z_contextual, self.z_sustained)

    @functools.cached_property
    def patterns_by_signal(self) -> dict[str, tuple[tuple[Pattern, int], ...]]:
        """``patterns_of(self.patterns)``, worked out once per policy (asked every reading)."""
        return patterns_of(self.patterns)


@dataclass(slots=True)
class SignalDeviation:
    """Smoothed z of one signal and what it was computed from (for the explanation)."""

    zs: float
    ts: float
    above_since: float | None
    value: float
    mean: float
    sd: float
    n: int
    since: float = 0.0  # event time of the first reading after a gap (> ``stale_s``); 0: none
    calm: float = 0.0  # event time of its latest reading with concern under ``CALM_Z``

    def concern(self) -> float:
        return -self.zs if self.zs < 0 else self.zs

    def latest_z(self) -> float:
        """The z of its latest reading alone, both sides (``zs`` is smoothed, and one-sided
        for HRV and SpO2); 0 without a spread."""
        return (self.value - self.mean) / self.sd if self.sd > 0 else 0.0

    def to_list(self) -> list[Any]:
        return [round(self.zs, 3), self.ts, self.above_since, self.value, round(self.mean, 3),
                round(self.sd, 3), self.n, self.since, self.calm]  # fmt: skip


@dataclass(frozen=True)
class DeviationResult:
    score: float
    corroborated: bool
    signals: list[dict[str, Any]] = field(default_factory=list)
    bar: float = Z_CORROBORATE  # the z the corroborating tier asks of ``score``
    pattern: str | None = None  # the physiological pattern that corroborated, if one did
    # Event time since which every signal named has been away from calm (``CALM_Z``), and
    # whether an HRV reading says the rhythm is irregular (``IRREGULAR_Z``): how the alert
    # engine tells a sudden bout of unlogged exercise from a tachycardia (``alerts.engine``).
    calm_until: float | None = None
    irregular: bool = False
    # Whether the latest reading of every signal named is back under ``CALM_Z`` (its raw z):
    # a bout that has ended, whose smoothed z is still on its way down.
    settled: bool = False


class Deviation:
    """Smoothed personal z-scores and their corroboration.

    >>> d = Deviation()
    >>> for minute in range(40):
    ...     d.learn_one("heart_rate", z=5.0, value=110, mean=62, sd=5, n=400, ts=minute * 60.0)
    >>> d.score(now=39 * 60.0).corroborated   # one signal, sustained 39 min
    True
    >>> d2 = Deviation()
    >>> d2.learn_one("heart_rate", z=6.0, value=120, mean=62, sd=5, n=400, ts=0.0)
    >>> d2.score(now=0.0).corroborated        # a single spike
    False
    """

    def __init__(self, policy: DeviationPolicy | None = None) -> None:
        self.policy = policy or DeviationPolicy()
        self.signals: dict[str, SignalDeviation] = {}
        self.patterns_since: dict[str, float] = {}  # pattern name -> event time it began
        # The signals whose concern is at least ``policy.lowest_z``, stale or not: kept at every
        # change, so ``corroborated`` (asked every reading) looks at those few, not at all.
        self.high: set[str] = set()

    def learn_one(self, signal: str, z: float, value: float, mean: float, sd: float, n: int,
                  ts: float, sustains: bool = True) -> None:  # fmt: skip
        """Fold one reading's z in; ``sustains``: it may extend the signal's run beyond
        ``z_sustained`` (measured against the patient's own warm baseline, not a population
        prior, and not a walk's heart rate or breathing, whose effort varies)."""
        if signal in ONE_SIDED_LOW:
            z = min(z, 0.0)
        current = self.signals.get(signal)
        if current is None:
            current = self.signals[signal] = SignalDeviation(z, ts, None, value, mean, sd, n, ts,
                                                             ts)  # fmt: skip
        elif ts >= current.ts:
            if ts - current.ts > self.policy.stale_s:
                current.since = ts  # the first reading after a gap
            tau_s = self.policy.tau_s
            alpha = 1.0 - math.exp(-(ts - current.ts) / tau_s) if ts > current.ts else 0.2
            current.zs += alpha * (z - current.zs)
            current.ts = ts
            current.value, current.mean, current.sd, current.n = value, mean, sd, n
        else:
            return  # a late reading does not rewrite the present
        concern = current.concern()
        if concern < CALM_Z:
            current.calm = ts
        if concern >= self.policy.z_sustained and sustains:
            if current.above_since is None:
                current.above_since = ts
        else:
            current.above_since = None
        if concern >= self.policy.lowest_z:
            self.high.add(signal)
        else:
            self.high.discard(signal)
        for pattern, direction in self.policy.patterns_by_signal.get(signal, ()):
            if direction * current.zs >= pattern.z:
                self._follow(pattern, ts)  # this member agrees: do the others?
            elif self.patterns_since:
                self.patterns_since.pop(pattern.name, None)  # it no longer does: a run ends

    def forget(self, signals: frozenset[str], start: float, end: float) -> None:
        """Forget the signals last updated from ``start`` to ``end``: their z compared a moving
        patient with their resting baseline before the step count that said so arrived."""
        for name in signals:
            s = self.signals.get(name)
            if s is not None and start <= s.ts <= end:
                del self.signals[name]
                self.high.discard(name)
                for pattern, _ in self.policy.patterns_by_signal.get(name, ()):
                    self.patterns_since.pop(pattern.name, None)

    def _follow(self, pattern: Pattern, ts: float) -> None:
        """Start or end the pattern's run after a reading of one of its signals."""
        stale_s = self.policy.stale_s
        for name, direction in pattern.signals:
            s = self.signals.get(name)
            if s is None or ts - s.ts > stale_s or direction * s.zs < pattern.z:
                self.patterns_since.pop(pattern.name, None)
                return
        self.patterns_since.setdefault(pattern.name, ts)

    def _sustained_pattern(self, now: float) -> tuple[float, Pattern] | None:
        """The strongest pattern that has held for ``pattern_sustain_s``: (weakest z, pattern)."""
        best = None
        for pattern in self.policy.patterns:
            since = self.patterns_since.get(pattern.name)
            if since is None:
                continue
            members = [self.signals.get(name) for name, _ in pattern.signals]
            if any(s is None or now - s.ts > self.policy.stale_s
                   or s.ts - since < self.policy.pattern_sustain_s for s in members):  # fmt: skip
                continue  # stale, or not every member read 20 minutes into the run
            weakest = min(d * s.zs for (_, d), s in zip(pattern.signals, members, strict=True)
                          if s is not None)  # fmt: skip
            if weakest >= pattern.z and (best is None or weakest - pattern.z > best[0] - best[1].z):
                best = (weakest, pattern)
        return best

    def corroborated(self, now: float, anomaly: float = 0.0) -> bool:
        """``score(now, anomaly).corroborated`` without building the explanation.

        The patient state asks this once per reading (a corroborated deviation is not learned
        into the baseline); almost always no signal is even at the lowest threshold (``high``
        is empty), and then it is one test. Only the signals in ``high`` can pass a tier, so
        the verdict looks at those alone."""
        stale_s = self.policy.stale_s
        signals = self.signals
        concerning = [(s.concern(), name) for name in self.high
                      if now - (s := signals[name]).ts <= stale_s]  # fmt: skip
        if not concerning:
            return bool(self.patterns_since) and self._sustained_pattern(now) is not None
        concerning.sort(reverse=True)
        return self._verdict(concerning, now, anomaly)[1]

    def score(self, now: float, anomaly: float = 0.0) -> DeviationResult:
        policy = self.policy
        concerning = sorted((s.concern(), name) for name, s in self.signals.items()
                            if now - s.ts <= policy.stale_s)  # fmt: skip
        concerning.reverse()
        score, corroborated, bar, pattern = self._verdict(concerning, now, anomaly)
        shown = {name for name, _ in pattern.signals} if pattern is not None else set()
        named = [name for c, name in concerning if c >= policy.z_corroborate or name in shown]
        latest = [self.signals[name] for name in named]
        explanation = [
            {"signal": name, "value": s.value, "baseline_mean": round(s.mean, 2),
             "baseline_sd": round(s.sd, 2), "z": round(s.zs, 2), "n": s.n}
            for name, s in zip(named, latest, strict=True)
        ]  # fmt: skip
        calm_until = max((s.calm for s in latest), default=None)
        settled = bool(latest) and all(s.sd > 0 and abs(s.latest_z()) < CALM_Z for s in latest)
        return DeviationResult(round(score, 2), corroborated, explanation, bar,
                               pattern.name if pattern is not None else None,
                               calm_until, self._irregular(now), settled)  # fmt: skip

    def _irregular(self, now: float) -> bool:
        """Whether the latest HRV reading, of the last ``IRREGULAR_S``, is ``IRREGULAR_Z`` above
        the patient's own (its raw z: the smoothed one counts only the low side)."""
        for name in WITNESS:
            s = self.signals.get(name)
            if s is not None and now - s.ts <= IRREGULAR_S and s.latest_z() >= IRREGULAR_Z:
                return True
        return False

    def _verdict(self, concerning: list[tuple[float, str]], now: float,
                 anomaly: float) -> tuple[float, bool, float, Pattern | None]:  # fmt: skip
        """(score, corroborated, bar, sustained pattern) from the fresh signals' (concern,
        name), strongest first: two strong signals, one strong signal with a multivariate
        anomaly, one sustained signal, or a sustained pattern (module doc). Only entries at
        ``policy.lowest_z`` or above can count, so the list may leave out the others."""
        policy = self.policy
        signals = self.signals
        strong = [(c, name) for c, name in concerning
                  if c >= (policy.z_contextual if name in CONTEXTUAL else policy.z_corroborate)
                  and not (name in EXERTIONAL and (s := signals[name]).ts == s.since)]  # fmt: skip
        if not any(name not in CONTEXTUAL for _, name in strong):
            strong = []  # skin temperature never corroborates on its own
        sustained = [
            (c, name) for c, name in concerning
            if name not in CONTEXTUAL and c >= policy.z_sustained
            and (s := self.signals[name]).above_since is not None
            and s.ts - s.above_since >= policy.sustain_s
        ]  # fmt: skip
        witnesses, seen = [], set()  # the strongest signal of each witness (``WITNESS``)
        for c in strong:
            witness = WITNESS.get(c[1], c[1])
            if witness not in seen:
                seen.add(witness)
                witnesses.append(c)
        if len(witnesses) >= 2:
            return witnesses[1][0], True, policy.z_corroborate, None
        if strong and anomaly >= policy.anomaly_corroborate:
            return strong[0][0], True, policy.z_corroborate, None
        if sustained:
            return max(sustained)[0], True, policy.z_corroborate, None
        if self.patterns_since and (found := self._sustained_pattern(now)) is not None:
            return found[0], True, found[1].z, found[1]
        return 0.0, False, policy.z_corroborate, None

    def current_z(self, now: float) -> dict[str, float]:
        """Smoothed z of each signal seen in the last 30 minutes."""
        stale_s = self.policy.stale_s
        return {name: round(s.zs, 3) for name, s in self.signals.items() if now - s.ts <= stale_s}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: s.to_list() for name, s in self.signals.items()}
        if self.patterns_since:
            out[PATTERNS_KEY] = dict(self.patterns_since)
        return out

    def load(self, data: dict[str, Any]) -> None:
        data = dict(data)
        self.patterns_since = dict(data.pop(PATTERNS_KEY, {}))
        self.signals = {name: SignalDeviation(*v) for name, v in data.items()}
        lowest = self.policy.lowest_z
        self.high = {name for name, s in self.signals.items() if s.concern() >= lowest}
