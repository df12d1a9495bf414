"""Skin tone and the wearable's errors: pulse-oximeter bias by Fitzpatrick skin type, and wrist
heart-rate error that grows with motion.

Pulse oximeters calibrated mostly on light skin overestimate arterial saturation in darker
skin, most at low saturations: occult hypoxaemia (SaO2 < 88 % while the oximeter reads 92-96 %)
was found in 11.7 % of paired readings of Black patients vs 3.6 % of White patients (Sjoding et
al., NEJM 2020); meta-analyses put the mean overestimate at about +1 % for darker skin, larger
below 90 % (Valbuena et al., BMJ 2022). The simulator reads SpO2 as

    SpO2 = SaO2 + offset + slope x max(0, 92 - SaO2) + tail + noise

per skin group (``OXIMETER``): a constant offset, a slope below 92 % and, with a small
probability when SaO2 < 94 %, a large overestimate of 3-7 points (the heavy tail behind occult
hypoxaemia). A constant offset cancels in a personal baseline; the slope and the tail do not.

Wrist optical heart rate has larger errors during activity than at rest (Bent et al., npj
Digital Medicine 2020: mean absolute error about 30 % higher in activity; no significant
difference by skin tone), so its noise grows with cadence (``motion_sd``).

All draws come from the patient's own generator for these errors, so adding them leaves every
other random number of the cohort as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Fitzpatrick skin types I..VI, in a mixed remote-monitoring programme (documented assumption)
SKIN_TYPES = (1, 2, 3, 4, 5, 6)
SKIN_WEIGHTS = (0.15, 0.25, 0.2, 0.15, 0.15, 0.1)


@dataclass(frozen=True)
class OximeterError:
    offset: float  # % points added at any saturation
    slope: float  # extra % points per point of SaO2 below 92 %
    tail: float  # chance of a 3-7 point overestimate when SaO2 < 94 %
    sd: float  # extra noise


OXIMETER = {
    "I-II": OximeterError(offset=0.0, slope=0.1, tail=0.03, sd=0.0),
    "III-IV": OximeterError(offset=0.5, slope=0.2, tail=0.06, sd=0.4),
    "V-VI": OximeterError(offset=1.2, slope=0.35, tail=0.12, sd=0.7),
}


def skin_group(skin_type: int) -> str:
    """
    >>> skin_group(2), skin_group(4), skin_group(6)
    ('I-II', 'III-IV', 'V-VI')
    """
    return "I-II" if skin_type <= 2 else "III-IV" if skin_type <= 4 else "V-VI"


def draw_skin_type(rng: np.random.Generator) -> int:
    return int(rng.choice(SKIN_TYPES, p=SKIN_WEIGHTS))


def oximeter_reading(rng: np.random.Generator, sao2: np.ndarray, skin_type: int) -> np.ndarray:
    """What the wearable's oximeter adds to true saturations ``sao2`` (before rounding)."""
    e = OXIMETER[skin_group(skin_type)]
    n = len(sao2)
    low = np.maximum(0.0, 92.0 - sao2)
    tail = (sao2 < 94.0) & (rng.random(n) < e.tail)
    extra = np.where(tail, rng.uniform(3.0, 7.0, n), 0.0)
    return sao2 + e.offset + e.slope * low + extra + rng.normal(0.0, e.sd, n) * (e.sd > 0)


def motion_sd(cadence: np.ndarray) -> np.ndarray:
    """Extra SD of wrist heart rate (bpm) at a cadence (steps/min): 0 at rest, ~3 at a brisk
    walk, growing with motion."""
    return 3.0 * np.clip(cadence / 110.0, 0.0, 2.0)
