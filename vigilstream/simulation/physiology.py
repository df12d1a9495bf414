"""Minute-by-minute physiology of one patient, the truth the device then samples.

- Circadian rhythm: heart rate peaks mid-afternoon (±3 bpm), core temperature late afternoon
  (±0.3 °C; Refinetti R, Menaker M. Physiol Behav 1992;51:613-37); heart rate falls ~7 bpm
  and respiration ~1/min asleep.
- Sleep: bedtime ~22:45 ± 30 min, ~7.5 h, 90-minute cycles of light, deep and REM sleep with
  brief awakenings (deep sleep concentrated early in the night).
- Activity: walking bouts (cadence 85-120 steps/min; Tudor-Locke C et al., IJBNPA 2011;8:79),
  more for fitter patients; heart rate follows exertion through a first-order lag (~1.5 min),
  blunted by a third under beta-blockers.
- SpO2 with sensor noise and brief nocturnal dips (more in COPD); HRV (RMSSD) higher asleep,
  lower with exertion.
- Episodes and surprises add their effects (``episodes``), scaled by their level over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from vigilstream.simulation.cohort import Patient
from vigilstream.simulation.episodes import ADDITIVE, Episode, Surprise

STAGES = ("awake", "light", "deep", "rem")


@dataclass
class Physiology:
    """True values per minute (index 0 = ``start``)."""

    ts: np.ndarray
    asleep: np.ndarray  # bool
    sleep_segments: list[tuple[float, float, str]]  # (start ts, end ts, stage) for the device
    cadence: np.ndarray  # steps/min
    hr: np.ndarray
    rr: np.ndarray
    spo2: np.ndarray
    temp: np.ndarray
    skin: np.ndarray
    sbp: np.ndarray
    rmssd: np.ndarray


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    shocks[0] = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -phi], shocks)


def _lag(x: np.ndarray, tau_min: float) -> np.ndarray:
    a = 1.0 - np.exp(-1.0 / tau_min)
    return lfilter([a], [1.0, -(1.0 - a)], x, zi=[x[0] * (1.0 - a)])[0]


def _sleep(
    rng: np.random.Generator,
    n: int,
    days: int,
    surprises: list[Surprise],
    episodes: list[Episode],
    start: float,
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    asleep = np.zeros(n, dtype=bool)
    segments: list[tuple[int, int, int]] = []  # minute start, minute end, stage index
    for night in range(-1, days):
        bed = night * 1440 + 1440 - 75 + int(rng.normal(0, 30))
        length = int(rng.normal(450, 35))
        midnight = start + (night + 1) * 86400.0
        if any(s.kind == "bad_night" and abs(s.start - midnight) < 6 * 3600 for s in surprises):
            bed, length = bed + 150, length - 150
        restless = max(
            (e.level(np.array([midnight]))[0] for e in episodes if e.kind == "hf_decompensation"),
            default=0.0,
        )
        minute, cycle = bed, 0
        wake = bed + length
        while minute < wake:
            deep = max(5, int(rng.normal(30 - 7 * cycle, 5)))
            parts = [
                (1, int(rng.normal(35, 8))),
                (2, deep),
                (1, int(rng.normal(15, 5))),
                (3, int(rng.normal(15 + 6 * cycle, 5))),
            ]
            if rng.random() < 0.3 + restless:
                parts.append((0, int(rng.integers(3, 12 + int(30 * restless)))))
            for stage, dur in parts:
                dur = max(dur, 2)
                end = min(minute + dur, wake)
                if end > minute:
                    segments.append((minute, end, stage))
                    lo, hi = max(minute, 0), min(end, n)
                    if stage and hi > lo:
                        asleep[lo:hi] = True
                minute = end
            cycle += 1
    return asleep, [s for s in segments if s[0] >= 0 and s[1] <= n]


def _activity(
    rng: np.random.Generator,
    patient: Patient,
    asleep: np.ndarray,
    days: int,
    activity_factor: np.ndarray,
    surprises: list[Surprise],
    start: float,
) -> np.ndarray:
    n = len(asleep)
    cadence = np.zeros(n)
    awake_minutes = ~asleep
    pottering = awake_minutes & (rng.random(n) < 0.15)
    cadence[pottering] = rng.uniform(8, 40, int(pottering.sum()))
    for day in range(days):
        bouts = rng.poisson(1.5 + 5 * patient.fitness)
        for _ in range(bouts):
            begin = day * 1440 + int(rng.uniform(8 * 60, 20.5 * 60))
            if begin >= n or asleep[begin] or rng.random() > activity_factor[begin]:
                continue
            length = int(rng.uniform(5, 35))
            cadence[begin : begin + length] = rng.normal(100, 8) + rng.normal(
                0, 4, len(cadence[begin : begin + length])
            )
    for s in surprises:
        if s.kind == "run":
            begin = int((s.start - start) // 60)
            length = int(rng.uniform(25, 50))
            seg = cadence[begin : begin + length]
            cadence[begin : begin + length] = rng.normal(160, 5) + rng.normal(0, 3, len(seg))
    cadence = cadence * np.where(activity_factor < 1, activity_factor, 1.0)
    cadence[asleep] = 0.0
    return np.clip(cadence, 0, 200)


def simulate_physiology(
    rng: np.random.Generator,
    patient: Patient,
    start: float,
    days: int,
    episodes: list[Episode],
    surprises: list[Surprise],
) -> Physiology:
    n = days * 1440
    ts = start + 60.0 * np.arange(n)
    hour = (np.arange(n) % 1440) / 60.0
    add = {key: np.zeros(n) for key in ADDITIVE}
    mult = {"rmssd": np.ones(n), "activity": np.ones(n)}
    bb_blunt = 0.65 if patient.beta_blocker else 1.0
    for event in [*episodes, *surprises]:
        level = event.level(ts)
        if not level.any():
            continue
        for key, amount in event.effects().items():
            if key in add:
                add[key] += level * amount * (bb_blunt if key == "hr" else 1.0)
            else:
                mult[key] *= 1.0 + np.minimum(level, 1.0) * (amount - 1.0)
    asleep, segments = _sleep(rng, n, days, surprises, episodes, start)
    cadence = _activity(rng, patient, asleep, days, mult["activity"], surprises, start)
    sleep_level = _lag(asleep.astype(float), 20.0)
    gain = (1.1 - 0.4 * patient.fitness) * (0.6 if patient.beta_blocker else 1.0)
    exertion = _lag(gain * 30.0 * (cadence / 100.0) ** 2, 1.5)
    circ = np.sin(2 * np.pi * (hour - 10) / 24)
    hr = (
        patient.hr_rest + 3 * circ - 7 * sleep_level + exertion + add["hr"] + _ar1(rng, n, 0.9, 2.0)
    )
    rr = patient.rr_rest - 1.2 * sleep_level + 0.18 * exertion + add["rr"] + _ar1(rng, n, 0.7, 0.9)
    dips = np.zeros(n)
    rate = (3.0 if patient.condition == "copd" else 0.8) / 60.0
    for m in np.flatnonzero(asleep & (rng.random(n) < rate)):
        dips[m : m + int(rng.integers(1, 4))] -= rng.uniform(3, 6)
    spo2 = np.minimum(
        patient.spo2_base - 0.8 * sleep_level + add["spo2"] + dips + _ar1(rng, n, 0.6, 0.6), 100.0
    )
    temp = patient.temp_base + 0.3 * np.sin(2 * np.pi * (hour - 11) / 24) + add["temp"]
    skin = (
        32.8
        + 1.3 * sleep_level
        + 0.4 * circ
        + add["skin"]
        + 0.6 * add["temp"]
        + _ar1(rng, n, 0.95, 0.3)
    )
    sbp = patient.sbp_base + 6 * circ - 8 * sleep_level + add["sbp"]
    rmssd = (
        patient.rmssd_base
        * (1 + 0.3 * sleep_level)
        * np.exp(-exertion / 60.0)
        * mult["rmssd"]
        * np.exp(_ar1(rng, n, 0.8, 0.15))
    )
    segs = [(start + 60.0 * a, start + 60.0 * b, STAGES[s]) for a, b, s in segments]
    return Physiology(ts, asleep, segs, cadence, hr, rr, spo2, temp, skin, sbp, rmssd)
