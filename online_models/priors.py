"""Population priors by age band and sex: the stand-in for a personal baseline during warm-up.

Approximate adult norms from published cohorts, deliberately with wide SDs (a prior should not
be confident about one person):

- Resting heart rate: mean ~65 bpm, SD ~9, slightly higher in women (Avram R et al. "Real-world
  heart rate norms in the Health eHeart study." npj Digit Med 2019;2:58). Asleep ~8 bpm lower,
  active (walking) ~25 bpm higher.
- Respiratory rate at rest: 12-20 /min, mean ~15, SD ~2.5, a little higher above 65.
- SpO2: ~97 % (SD 1.5) in healthy adults, ~96 % above 65 (Smith GB et al., Resuscitation 2016).
- Body temperature: mean 36.6 °C, SD ~0.4, about 0.1 °C lower above 65 (Obermeyer Z et al.
  "Individual differences in normal body temperature." BMJ 2017;359:j5468).
- HRV RMSSD: ~42 ms (SD 15) in young adults, lower with age (Nunan D et al. "A quantitative
  systematic review of normal values for short-term HRV." PACE 2010;33:1407-17).
- Skin temperature at the wrist ~33 °C (SD 1.5); systolic BP ~122 mmHg (SD 15), higher with age.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prior:
    mean: float
    sd: float


_BASE: dict[str, Prior] = {
    "heart_rate": Prior(65.0, 9.0),
    "respiratory_rate": Prior(15.0, 2.5),
    "spo2": Prior(97.0, 1.5),
    "body_temperature": Prior(36.6, 0.4),
    "skin_temperature": Prior(33.0, 1.5),
    "hrv_rmssd": Prior(42.0, 15.0),
    "hrv_sdnn": Prior(50.0, 18.0),
    "systolic_bp": Prior(122.0, 15.0),
}
_CONTEXT_SHIFT: dict[tuple[str, str], float] = {
    ("heart_rate", "asleep"): -8.0,
    ("heart_rate", "active"): 25.0,
    ("respiratory_rate", "asleep"): -1.5,
    ("respiratory_rate", "active"): 5.0,
    ("hrv_rmssd", "asleep"): 8.0,
    ("hrv_rmssd", "active"): -15.0,
}

_OLDER_SHIFT: dict[str, float] = {  # 65 and over
    "respiratory_rate": 1.0,
    "spo2": -1.0,
    "body_temperature": -0.1,
    "hrv_rmssd": -17.0,
    "hrv_sdnn": -15.0,
    "systolic_bp": 10.0,
}


def context_shift(signal: str, context: str) -> float:
    """How far the population's ``context`` value of ``signal`` lies from its resting one.

    >>> context_shift("heart_rate", "asleep"), context_shift("spo2", "asleep")
    (-8.0, 0.0)
    """
    return _CONTEXT_SHIFT.get((signal, context), 0.0)


HYPERCAPNIC_SPO2 = Prior(90.0, 2.0)  # BTS 2017 target range 88-92 % (NEWS2 scale 2)


@functools.lru_cache(maxsize=4096)  # pure, and asked for every reading before a baseline warms
def population_prior(signal: str, context: str, age: int | None, sex: str | None,
                     hypercapnic: bool = False) -> Prior:  # fmt: skip
    """Prior mean and SD of a signal for a context, age and sex; for patients at risk of
    hypercapnic respiratory failure the SpO2 prior is their target range (O'Driscoll BR et al.
    BTS guideline for oxygen use in adults. Thorax 2017;72:i1-i90).

    >>> population_prior("spo2", "rest", 70, "M", hypercapnic=True)
    Prior(mean=90.0, sd=2.0)

    >>> population_prior("heart_rate", "rest", 30, "F")
    Prior(mean=67.0, sd=9.0)
    >>> population_prior("spo2", "rest", 80, None).mean
    96.0
    """
    if signal == "spo2" and hypercapnic:
        return HYPERCAPNIC_SPO2
    base = _BASE.get(signal, Prior(0.0, 1.0))
    mean = base.mean + context_shift(signal, context)
    older = age is not None and age >= 65
    if signal == "heart_rate" and sex == "F":
        mean += 2.0
    if older:
        mean += _OLDER_SHIFT.get(signal, 0.0)
    return Prior(round(mean, 2), base.sd)
