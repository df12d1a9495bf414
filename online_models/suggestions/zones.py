"""Exercise intensity targets from the patient's own resting heart rate.

Heart-rate reserve (Karvonen MJ et al., Ann Med Exp Biol Fenn 1957;35:307-15): a target at
intensity *i* is ``HRrest + i x (HRmax - HRrest)``. HRmax is the clinician's value from the
profile when there is one, else ``208 - 0.7 x age`` (Tanaka H et al., J Am Coll Cardiol
2001;37:153-6). Moderate intensity is 40-59 % of the reserve (ACSM's Guidelines for Exercise
Testing and Prescription, 11th ed. 2021). The resting heart rate is what the digital phenotype
*measured* (``online_models.phenotype``, mean of the day's lowest resting readings), never a
population number.

Where heart rate does not track effort — beta-blockers blunt it, atrial fibrillation makes it
irregular — cardiac-rehabilitation guidance uses perceived exertion instead: Borg RPE 11-13
("fairly light" to "somewhat hard"; Borg GA, Med Sci Sports Exerc 1982;14:377-81; BACPR
standards 2023).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ExerciseTarget", "hr_max", "target"]

RATE_LIMITING = frozenset({"atrial_fibrillation"})
MODERATE = (0.40, 0.59)
RPE_MODERATE = (11, 13)


@dataclass(frozen=True)
class ExerciseTarget:
    """A heart-rate zone in bpm, or an RPE range when heart rate is not a guide."""

    hr_zone_bpm: tuple[int, int] | None
    rpe: tuple[int, int] | None
    basis: str  # how it was derived, for the rationale a clinician reads


def hr_max(profile: dict[str, Any]) -> float | None:
    """The profile's ``hr_max``, else Tanaka's ``208 - 0.7 x age``; None without either.

    >>> hr_max({"age": 70}), hr_max({"age": 70, "hr_max": 150}), hr_max({})
    (159.0, 150, None)
    """
    if profile.get("hr_max"):
        return profile["hr_max"]  # type: ignore[no-any-return]
    age = profile.get("age")
    return None if age is None else 208.0 - 0.7 * age


def heart_rate_misleads(profile: dict[str, Any]) -> bool:
    """True for beta-blockers or atrial fibrillation: use perceived exertion."""
    return bool(profile.get("beta_blocker")) or bool(
        RATE_LIMITING & set(profile.get("conditions") or ())
    )


def target(profile: dict[str, Any], resting_hr: float | None,
           intensity: tuple[float, float] = MODERATE) -> ExerciseTarget:  # fmt: skip
    """The moderate-intensity target of a patient.

    >>> t = target({"age": 70}, resting_hr=68.0)    # 68 + 0.40 x 91 and 68 + 0.59 x 91
    >>> t.hr_zone_bpm, t.rpe
    ((104, 122), None)
    >>> t.basis
    'Karvonen 40-59% of reserve, resting 68 bpm (measured), max 159 bpm (Tanaka)'
    >>> target({"age": 70, "beta_blocker": True}, resting_hr=58.0).rpe
    (11, 13)
    >>> target({"age": 70}, resting_hr=None).hr_zone_bpm is None    # nothing measured yet
    True
    """
    if heart_rate_misleads(profile):
        return ExerciseTarget(None, RPE_MODERATE, "Borg RPE 11-13: heart rate is not a guide "
                              "(beta-blocker or atrial fibrillation)")  # fmt: skip
    top = hr_max(profile)
    if resting_hr is None or top is None or top <= resting_hr:
        return ExerciseTarget(None, RPE_MODERATE, "Borg RPE 11-13: no measured resting heart "
                              "rate or maximum yet")  # fmt: skip
    reserve = top - resting_hr
    lo, hi = (round(resting_hr + f * reserve) for f in intensity)
    source = "profile" if profile.get("hr_max") else "Tanaka"
    basis = (f"Karvonen {intensity[0] * 100:.0f}-{intensity[1]:.0%} of reserve, resting "
             f"{resting_hr:.0f} bpm (measured), max {top:.0f} bpm ({source})")  # fmt: skip
    return ExerciseTarget((lo, hi), None, basis)
