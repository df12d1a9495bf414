"""Personal baselines: each patient's own normal, per signal and context, learned online.

The estimator is an exponentially weighted mean and variance in *event time* (Finch 2009,
"Incremental calculation of weighted mean and variance", University of Cambridge; the same
recurrences as River's ``stats.EWMean`` / ``stats.EWVar``). Each reading weighs the time it
stands for (the gap since the previous one, capped at an hour) and the accumulated weight decays
as ``exp(-dt / tau)`` (``tau`` = 7 days): a watch sampling every minute and a thermometer read
twice a day forget on the same clock, a burst of resent readings does not outweigh days of
history, and the first readings form a plain time-weighted mean, so the estimate converges in
hours, not days. Updates are robust: once a baseline is warm, an input more than 4 SD from the
mean is clipped to 4 SD before it is learned (Huber 1964, "Robust estimation of a location
parameter"), so one artefact does not move the baseline.

Contexts (rest, active, asleep) are kept apart for the signals that depend on them (heart rate,
respiration, HRV): a heart rate of 110 on a walk is normal, at rest it is not.

Warm-up: a context is warm after ``WARM_N`` readings spanning at least ``WARM_SPAN_S`` (24 h) of
wear. Until then the population prior for the patient's age band and sex stands in
(``online_models.priors``), except asleep: heart rate and respiration asleep are the patient's
own warm resting baseline shifted by the population's nocturnal fall (``priors.context_shift``;
heart rate ~8 bpm lower asleep, respiration ~1.5 /min), with the spread of that fall between
people added to the SD (``SLEEP_SHIFT_SD``). The asleep context learns only from readings inside
a sleep the patient has reported or their habitual sleep window, so it is cold for the first
nights, and a fever that starts in one of them must be measured against this person, not
against everyone (a resting heart rate of 80 is a sleeping one of ~72, not the population's 57).

Blood pressure comes from cuff spot checks, one to three a day, so it is warm after
``SPOT_WARM_N`` (10) readings spanning ``SPOT_WARM_SPAN_S`` (3 days) instead (home blood
pressure is judged on readings over several days: Stergiou GS et al., "2021 European Society
of Hypertension practice guidelines for office and out-of-office blood pressure measurement",
J Hypertens 2021;39:1293-1302, recommend 3-7 days of duplicate morning and evening readings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_models.priors import Prior, context_shift, population_prior

TAU_S = 7 * 86400.0
MAX_WEIGHT_S = 3600.0  # a reading stands for at most an hour
FIRST_WEIGHT_S = 60.0
WARM_N = 30
WARM_SPAN_S = 24 * 3600.0
CLIP_SD = 4.0
CONTEXT_SIGNALS = frozenset({"heart_rate", "respiratory_rate", "hrv_rmssd"})
SPOT_SIGNALS = frozenset({"systolic_bp", "diastolic_bp"})  # cuff spot checks (module doc)
SPOT_WARM_N = 10
SPOT_WARM_SPAN_S = 3 * 86400.0
# Between-person SD of the fall from resting to sleeping values, which a borrowed asleep
# reference adds to the resting SD. An assumption of the same order as the falls themselves
# (priors: heart rate -8 bpm, respiration -1.5 /min; ventilation falls in NREM sleep with a
# small change of rate, Douglas NJ et al., "Respiration during sleep in normal man", Thorax
# 1982;37:840-4), wide enough that a patient whose fall is unusual is not flagged by it.
SLEEP_SHIFT_SD: dict[str, float] = {"heart_rate": 4.0, "respiratory_rate": 1.0}


@dataclass(frozen=True)
class BaselinePolicy:
    """Hyperparameters of the personal baselines (see the module doc)."""

    tau_s: float = TAU_S  # memory of the exponentially weighted statistics, event time
    max_weight_s: float = MAX_WEIGHT_S
    first_weight_s: float = FIRST_WEIGHT_S
    warm_n: int = WARM_N
    warm_span_s: float = WARM_SPAN_S
    spot_warm_n: int = SPOT_WARM_N  # the warm-up of the spot-check signals (``SPOT_SIGNALS``)
    spot_warm_span_s: float = SPOT_WARM_SPAN_S
    clip_sd: float = CLIP_SD  # a warm baseline learns values clipped to this many SD


DEFAULT_POLICY = BaselinePolicy()

# Below these, a "personal SD" is sensor resolution, not physiology: z would explode.
SD_FLOOR: dict[str, float] = {
    "heart_rate": 3.0,
    "respiratory_rate": 1.0,
    "spo2": 1.0,
    "body_temperature": 0.2,
    "skin_temperature": 0.3,
    "hrv_rmssd": 4.0,
    "hrv_sdnn": 5.0,
    "systolic_bp": 5.0,
}


@dataclass(slots=True)
class EWStats:
    """Exponentially weighted mean and variance in event time.

    >>> s = EWStats()
    >>> for i, x in enumerate([60, 62, 61, 63, 59]):
    ...     s.learn_one(x, ts=i * 60.0)
    >>> round(s.mean, 1), s.n
    (61.0, 5)
    """

    mean: float = 0.0
    var: float = 0.0
    n: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    weight: float = 0.0  # decayed sum of reading weights, in seconds

    def learn_one(self, x: float, ts: float, policy: BaselinePolicy = DEFAULT_POLICY) -> None:
        if self.n == 0:
            self.mean, self.var, self.n = float(x), 0.0, 1
            self.first_ts = self.last_ts = ts
            self.weight = policy.first_weight_s
            return
        # Conditionals rather than min/max calls: this runs for every reading.
        dt = ts - self.last_ts if ts > self.last_ts else 0.0
        w = 1.0 if dt < 1.0 else dt if dt < policy.max_weight_s else policy.max_weight_s
        self.weight = self.weight * math.exp(-dt / policy.tau_s) + w
        alpha = w / self.weight
        diff = x - self.mean
        incr = alpha * diff
        self.mean += incr
        self.var = (1.0 - alpha) * (self.var + diff * incr)
        self.n += 1
        if ts > self.last_ts:
            self.last_ts = ts
        elif ts < self.first_ts:
            self.first_ts = ts

    @property
    def sd(self) -> float:
        return math.sqrt(self.var) if self.var > 0 else 0.0

    def is_warm(self, policy: BaselinePolicy = DEFAULT_POLICY, signal: str = "") -> bool:
        """Enough readings over a long enough span (the spot-check warm-up for ``signal`` in
        ``SPOT_SIGNALS``)."""
        if signal in SPOT_SIGNALS:
            n, span = policy.spot_warm_n, policy.spot_warm_span_s
        else:
            n, span = policy.warm_n, policy.warm_span_s
        return self.n >= n and self.last_ts - self.first_ts >= span

    def to_list(self) -> list[float]:
        return [self.mean, self.var, self.n, self.first_ts, self.last_ts, round(self.weight, 1)]

    @classmethod
    def from_list(cls, data: list[float]) -> EWStats:
        mean, var, n, first, last, weight = data
        return cls(float(mean), float(var), int(n), float(first), float(last), float(weight))


class Reference(NamedTuple):
    """What a value is compared with: the personal baseline when warm, else the prior.

    A named tuple, not a dataclass: one is made per reading, and that costs a tenth."""

    mean: float
    sd: float
    n: int
    warm: bool
    context: str


_KEYS: dict[tuple[str, str], str] = {}  # (signal, context) -> key of its baseline


class Baselines:
    """Personal baselines of one patient: ``learn_one`` a value, ``reference`` to compare.

    >>> b = Baselines(age=70, sex="F")
    >>> b.reference("heart_rate", "rest").warm   # nothing learned yet: the prior
    False
    >>> for i in range(40):
    ...     b.learn_one("heart_rate", 58.0 + i % 3, ts=i * 3600.0, context="rest")
    >>> ref = b.reference("heart_rate", "rest")
    >>> ref.warm, round(ref.mean)
    (True, 59)
    """

    def __init__(self, age: int | None = None, sex: str | None = None,
                 policy: BaselinePolicy | None = None) -> None:  # fmt: skip
        self.policy = policy or DEFAULT_POLICY
        self.age = age
        self.sex = sex
        self.hypercapnic = False  # SpO2 prior from the NEWS2 scale-2 target range
        self.stats: dict[str, EWStats] = {}

    @staticmethod
    def key(signal: str, context: str) -> str:
        key = _KEYS.get((signal, context))
        if key is None:
            key = _KEYS[(signal, context)] = (
                f"{signal}/{context}" if signal in CONTEXT_SIGNALS else signal
            )
        return key

    def learn_one(self, signal: str, x: float, ts: float, context: str = "rest",
                  ref: Reference | None = None) -> None:  # fmt: skip
        """Learn ``x``, clipped to ``clip_sd`` SD of a warm baseline. ``ref``: the reference
        ``z`` just gave for this signal and context (nothing learned since), which says the
        same as looking it up again; the hot path passes it."""
        if ref is None:
            ref = self.reference(signal, context)
        stats = self.stats.get(ref.context)  # a reference's ``context`` is its baseline's key
        if stats is None:
            stats = self.stats[ref.context] = EWStats()
        if ref.warm:
            limit = self.policy.clip_sd * ref.sd
            x = min(max(x, ref.mean - limit), ref.mean + limit)
        stats.learn_one(x, ts, self.policy)

    def reference(self, signal: str, context: str = "rest") -> Reference:
        key = self.key(signal, context)
        stats = self.stats.get(key)
        floor = SD_FLOOR.get(signal, 0.0)
        if stats is not None and stats.is_warm(self.policy, signal):
            sd = stats.sd
            return Reference(stats.mean, sd if sd > floor else floor, stats.n, True, key)
        n = stats.n if stats is not None else 0
        if context == "asleep" and signal in SLEEP_SHIFT_SD:
            rest = self.stats.get(self.key(signal, "rest"))
            if rest is not None and rest.is_warm(self.policy, signal):
                mean = rest.mean + context_shift(signal, "asleep")
                sd = math.hypot(max(rest.sd, floor), SLEEP_SHIFT_SD[signal])
                return Reference(mean, sd, n, False, key)  # the module doc: borrowed
        prior: Prior = population_prior(signal, context, self.age, self.sex, self.hypercapnic)
        return Reference(prior.mean, max(prior.sd, floor), n, False, key)

    def z(self, signal: str, x: float, context: str = "rest") -> tuple[float, Reference]:
        """Standardized distance of ``x`` from the reference, and the reference used."""
        ref = self.reference(signal, context)
        return (x - ref.mean) / ref.sd, ref

    def to_dict(self) -> dict[str, Any]:
        return {k: s.to_list() for k, s in self.stats.items()}

    def load(self, data: dict[str, Any]) -> None:
        self.stats = {k: EWStats.from_list(v) for k, v in data.items()}

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per baseline: mean, sd, n, warm (the API view of docs/spec.md).

        Context baselines appear as ``signal/context``; the plain ``signal`` key, which docs/spec.md
        names, is the resting baseline.
        """
        out = {
            key: {
                "mean": round(s.mean, 2),
                "sd": round(s.sd, 2),
                "n": s.n,
                "warm": s.is_warm(self.policy, key.split("/")[0]),
            }
            for key, s in sorted(self.stats.items())
        }
        for signal in CONTEXT_SIGNALS:
            if f"{signal}/rest" in out:
                out[signal] = out[f"{signal}/rest"]
        return out
