"""Synthetic patients of a remote-monitoring programme.

Resting values follow published adult reference ranges: resting heart rate 60-80 bpm, lower
with fitness and under beta-blockers (which also blunt the exercise response by roughly a
third); respiration 12-20/min; SpO2 95-99 %, 88-92 % in hypercapnic COPD (the NEWS2 scale-2
target range, RCP 2017); RMSSD falling with age (Nunan D et al., Pacing Clin Electrophysiol
2010;33:1407-17: mean ~42 ms, lower in older adults).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CONDITIONS = ("healthy", "copd", "heart_failure", "hypertension")
CONDITION_WEIGHTS = (0.35, 0.2, 0.2, 0.25)


@dataclass(frozen=True)
class Patient:
    """One simulated patient: demographics, condition and personal resting physiology."""

    patient_id: str
    age: int
    sex: str
    condition: str
    beta_blocker: bool
    fitness: float  # 0 (deconditioned) .. 1 (trained)
    hr_rest: float
    rr_rest: float
    spo2_base: float
    temp_base: float
    sbp_base: float
    rmssd_base: float
    phase_min: int  # the device's sampling phase within 5 minutes
    skin_type: int = 2  # Fitzpatrick I..VI (``oximetry``); absent in older truth files

    @property
    def skin_group(self) -> str:
        from vigilstream.simulation.oximetry import skin_group

        return skin_group(self.skin_type)

    @property
    def age_band(self) -> str:
        return "18-44" if self.age < 45 else "45-64" if self.age < 65 else "65+"

    def profile(self) -> dict[str, Any]:
        """The patient's message on the compacted ``patients`` topic."""
        conditions = {
            "healthy": [],
            "copd": ["copd", "hypercapnic_respiratory_failure"],
            "heart_failure": ["heart_failure"],
            "hypertension": ["hypertension"],
        }[self.condition]
        return {
            "patient_id": self.patient_id,
            "age": self.age,
            "sex": self.sex,
            "conditions": conditions,
            "beta_blocker": self.beta_blocker,
            "consent": True,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "age_band": self.age_band, "skin_group": self.skin_group}


def make_patient(rng: np.random.Generator, index: int) -> Patient:
    condition = str(rng.choice(CONDITIONS, p=CONDITION_WEIGHTS))
    age = int(np.clip(rng.normal(48 if condition == "healthy" else 68, 14), 20, 95))
    sex = "F" if rng.random() < 0.5 else "M"
    beta_blocker = bool(
        rng.random() < {"heart_failure": 0.8, "hypertension": 0.4}.get(condition, 0.03)
    )
    fitness = float(
        np.clip(
            rng.beta(2, 2) - (0.25 if condition != "healthy" else 0.0) - max(0, age - 60) / 100,
            0.0,
            1.0,
        )
    )
    hr_rest = (
        rng.normal(72, 6) - 12 * fitness + (2 if sex == "F" else 0) - (9 if beta_blocker else 0)
    )
    rr_rest = rng.normal(19, 1.5) if condition == "copd" else rng.normal(15.5, 1.3)
    spo2 = rng.normal(91 if condition == "copd" else 97, 1.0)
    return Patient(
        patient_id=f"sim-{index:04d}",
        age=age,
        sex=sex,
        condition=condition,
        beta_blocker=beta_blocker,
        fitness=round(fitness, 3),
        hr_rest=round(float(np.clip(hr_rest, 48, 95)), 1),
        rr_rest=round(float(np.clip(rr_rest, 12.5, 24)), 1),
        spo2_base=round(float(np.clip(spo2, 88, 99)), 1),
        temp_base=round(float(rng.normal(36.7, 0.2)), 2),
        sbp_base=round(
            float(
                rng.normal(118 + 0.4 * (age - 40) + (10 if condition == "hypertension" else 0), 10)
            ),
            0,
        ),
        rmssd_base=round(float(np.clip(rng.normal(55 - 0.45 * age, 7), 10, 80)), 1),
        phase_min=int(rng.integers(0, 5)),
    )


def make_cohort(rng: np.random.Generator, n: int) -> list[Patient]:
    return [make_patient(rng, i + 1) for i in range(n)]
