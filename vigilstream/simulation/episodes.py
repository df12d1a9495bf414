"""Injected clinical episodes (with ground truth) and benign surprises.

Each episode has an *onset* (physiology starts to change), a *critical point* (the moment the
outcome happens: a rapid-response call, an emergency visit, an admission) and an *end* (back to
the patient's normal after treatment). Evaluation measures lead time to the critical point.

Trajectories are stylised from the clinical literature:

- ``sepsis``: over 6-12 h heart rate, respiration and temperature rise, SpO2 and systolic
  pressure fall (the SIRS/qSOFA pattern; Singer M et al., JAMA 2016;315:801-10).
- ``hf_decompensation``: over 4-7 days resting heart rate and respiration creep up, SpO2 and
  activity fall, nights get restless (Stehlik J et al., LINK-HF, Circ Heart Fail
  2020;13:e006513: changes detectable a median 6.5 days before admission).
- ``hypoxemia``: SpO2 falls 6-12 points over 2-4 h with compensatory tachypnoea and tachycardia
  (COPD exacerbation, pneumonia).
- ``fever``: temperature +1.5-2.5 °C over 4-8 h, heart rate ~+10 bpm per °C (Karjalainen J,
  Viitasalo M. Acta Med Scand 1986;220:161-4).
- ``tachyarrhythmia``: abrupt sustained rapid irregular rhythm (atrial fibrillation with a fast
  ventricular response): heart rate 120-160, irregular R-R intervals; presentation 2-5 h later.

Benign surprises raise false alarms in one-size-fits-all monitors: a run, a hot day, a bad
night, an evening of alcohol, a stressful day, a common cold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vigilstream.simulation.cohort import Patient

HOUR, DAY = 3600.0, 86400.0
ADDITIVE = ("hr", "rr", "spo2", "temp", "skin", "sbp")
MULTIPLICATIVE = ("rmssd", "activity")


@dataclass(frozen=True)
class EpisodeKind:
    name: str
    scale: str  # "hours" or "days": which lead-time target it counts towards
    ramp_h: tuple[float, float]  # onset to critical point
    shape: float  # level = progress ** shape while ramping (1 linear, >1 late acceleration)
    plateau_h: float  # after the critical point until treatment takes effect
    recover_h: float
    outcome: str  # outcome kind sent on ``outcomes``
    effects: dict[str, float]  # additive (bpm, /min, %, °C, mmHg) or multiplicative factors
    abrupt: bool = False


KINDS: dict[str, EpisodeKind] = {
    k.name: k
    for k in (
        EpisodeKind(
            "sepsis",
            "hours",
            (6, 12),
            1.5,
            2,
            24,
            "rapid_response",
            {
                "hr": 30,
                "rr": 9,
                "temp": 1.9,
                "spo2": -4,
                "sbp": -30,
                "skin": 0.8,
                "rmssd": 0.5,
                "activity": 0.15,
            },
        ),
        EpisodeKind(
            "hf_decompensation",
            "days",
            (96, 168),
            1.3,
            12,
            72,
            "hospitalization",
            {"hr": 11, "rr": 6, "spo2": -4, "rmssd": 0.7, "activity": 0.4},
        ),
        EpisodeKind(
            "hypoxemia",
            "hours",
            (2, 4),
            1.2,
            1,
            6,
            "deterioration",
            {"spo2": -9, "rr": 7, "hr": 12, "activity": 0.5},
        ),
        EpisodeKind(
            "fever",
            "hours",
            (4, 8),
            1.0,
            3,
            12,
            "deterioration",
            {"temp": 2.0, "hr": 20, "rr": 4, "skin": 1.0, "rmssd": 0.7, "activity": 0.5},
        ),
        EpisodeKind(
            "tachyarrhythmia",
            "hours",
            (2, 5),
            1.0,
            1,
            0.5,
            "deterioration",
            {"hr": 60, "rr": 3, "spo2": -1, "rmssd": 2.5, "activity": 0.6},
            abrupt=True,
        ),
    )
}
EPISODE_MIX = {
    "healthy": (0.2, {"fever": 0.5, "sepsis": 0.2, "tachyarrhythmia": 0.3}),
    "copd": (0.65, {"hypoxemia": 0.5, "sepsis": 0.25, "fever": 0.25}),
    "heart_failure": (0.65, {"hf_decompensation": 0.6, "tachyarrhythmia": 0.25, "hypoxemia": 0.15}),
    "hypertension": (0.4, {"tachyarrhythmia": 0.4, "sepsis": 0.3, "fever": 0.3}),
}
SURPRISES: dict[str, tuple[float, float, dict[str, float]]] = {
    # name: (start hour of day, duration h, effects); "run" and "bad_night" also change
    # activity and sleep in ``physiology``.
    "run": (17.5, 1.0, {}),
    "hot_day": (12.0, 6.0, {"hr": 8, "skin": 1.5, "rr": 2}),
    "bad_night": (23.0, 7.0, {"hr": 5, "rmssd": 0.75}),
    "alcohol": (22.0, 8.0, {"hr": 9, "rmssd": 0.6, "spo2": -1, "temp": 0.2}),
    "stress_day": (9.0, 9.0, {"hr": 7, "rr": 1, "rmssd": 0.8}),
    "cold": (8.0, 48.0, {"temp": 0.6, "hr": 5, "rr": 1, "activity": 0.8}),
}
SURPRISE_RATE_PER_DAY = 0.3
HOURS_FIRST_DAY, DAYS_FIRST_DAY = 2.0, 5.0  # enrolment: baselines warm up before episodes


@dataclass(frozen=True)
class Episode:
    """Ground truth of one injected episode (epoch seconds)."""

    patient_id: str
    kind: str
    scale: str
    onset: float
    critical: float
    end: float
    outcome: str
    magnitude: float

    def level(self, ts: np.ndarray) -> np.ndarray:
        """0 before onset, rising to 1 at the critical point, back to 0 at the end."""
        k = KINDS[self.kind]
        out = np.zeros_like(ts)
        ramp = (ts >= self.onset) & (ts < self.critical)
        if k.abrupt:
            out[ramp] = 1.0
        else:
            progress = (ts[ramp] - self.onset) / (self.critical - self.onset)
            out[ramp] = progress**k.shape
        plateau_end = self.critical + k.plateau_h * HOUR
        out[(ts >= self.critical) & (ts < plateau_end)] = 1.0
        recovering = (ts >= plateau_end) & (ts < self.end)
        out[recovering] = 1.0 - (ts[recovering] - plateau_end) / max(self.end - plateau_end, 1)
        return out * self.magnitude

    def effects(self) -> dict[str, float]:
        return KINDS[self.kind].effects

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Surprise:
    """A benign event: no outcome, no alert wanted."""

    patient_id: str
    kind: str
    start: float
    end: float

    def level(self, ts: np.ndarray) -> np.ndarray:
        edge = 20 * 60.0  # 20-minute ramps in and out
        up = np.clip((ts - self.start) / edge, 0, 1)
        down = np.clip((self.end - ts) / edge, 0, 1)
        return np.minimum(up, down)

    def effects(self) -> dict[str, float]:
        return SURPRISES[self.kind][2]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_episodes(
    rng: np.random.Generator, patient: Patient, start: float, days: int
) -> list[Episode]:
    """Zero, one or two episodes, apart from each other, after the enrolment period."""
    chance, mix = EPISODE_MIX[patient.condition]
    wanted = int(rng.random() < chance) + int(rng.random() < chance * 0.25)
    episodes: list[Episode] = []
    horizon = start + days * DAY - 6 * HOUR
    for _ in range(wanted * 4):  # a few attempts to place each
        if len(episodes) >= wanted:
            break
        name = str(rng.choice(list(mix), p=list(mix.values())))
        k = KINDS[name]
        ramp = rng.uniform(*k.ramp_h) * HOUR
        first = start + (DAYS_FIRST_DAY if k.scale == "days" else HOURS_FIRST_DAY) * DAY
        last = horizon - ramp
        if last <= first:
            continue
        onset = float(rng.uniform(first, last))
        critical = onset + ramp
        end = critical + (k.plateau_h + k.recover_h) * HOUR
        if any(onset < e.end + DAY and e.onset < end + DAY for e in episodes):
            continue
        magnitude = float(rng.uniform(0.75, 1.2))
        episodes.append(
            Episode(
                patient.patient_id,
                name,
                k.scale,
                round(onset),
                round(critical),
                round(end),
                k.outcome,
                round(magnitude, 3),
            )
        )
    return sorted(episodes, key=lambda e: e.onset)


def plan_surprises(
    rng: np.random.Generator, patient: Patient, start: float, days: int, episodes: list[Episode]
) -> list[Surprise]:
    """Benign events at ``SURPRISE_RATE_PER_DAY``, never inside an episode."""
    out = []
    runner = patient.fitness > 0.35 and patient.age < 70
    names = [n for n in SURPRISES if n != "run" or runner]
    for day in range(days):
        if rng.random() >= SURPRISE_RATE_PER_DAY:
            continue
        name = str(rng.choice(names))
        hour, duration, _ = SURPRISES[name]
        begin = start + day * DAY + (hour + rng.uniform(-1, 1)) * HOUR
        end = begin + duration * HOUR * rng.uniform(0.7, 1.2)
        if any(begin < e.end + 12 * HOUR and e.onset - 12 * HOUR < end for e in episodes):
            continue
        out.append(Surprise(patient.patient_id, name, round(begin), round(end)))
    return out
