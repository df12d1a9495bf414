"""National Early Warning Score 2 (NEWS2).

Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the
assessment of acute-illness severity in the NHS. Updated report of a working party. London:
RCP, 2017. Chart 1 (the NEWS2 scoring system) gives the bands implemented here:

| parameter | 3 | 2 | 1 | 0 | 1 | 2 | 3 |
|---|---|---|---|---|---|---|---|
| respiration rate /min | <=8 | | 9-11 | 12-20 | | 21-24 | >=25 |
| SpO2 scale 1 % | <=91 | 92-93 | 94-95 | >=96 | | | |
| SpO2 scale 2 % | <=83 | 84-85 | 86-87 | 88-92, >=93 air | 93-94 O2 | 95-96 O2 | >=97 O2 |
| air or oxygen | | oxygen | | air | | | |
| systolic BP mmHg | <=90 | 91-100 | 101-110 | 111-219 | | | >=220 |
| pulse /min | <=40 | | 41-50 | 51-90 | 91-110 | 111-130 | >=131 |
| consciousness | | | | alert | | | CVPU |
| temperature °C | <=35.0 | | 35.1-36.0 | 36.1-38.0 | 38.1-39.0 | >=39.1 | |

Scale 2 is for patients with hypercapnic respiratory failure (usually COPD) on a clinician's
decision; everyone else is scored on scale 1. Values are rounded half up to the chart's
precision (whole numbers; temperature to 0.1 °C) before banding, as a chart entry would be.

A parameter a wearable cannot measure (consciousness, often blood pressure) is reported in
``missing`` and contributes nothing to ``total``: it is never silently scored 0 as if normal.
Clinical response thresholds (RCP 2017, chart 2): aggregate 0-4 low, a 3 in any single
parameter low-medium, 5-6 medium, 7 or more high.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

PARAMETERS: tuple[str, ...] = (
    "respiratory_rate",
    "spo2",
    "supplemental_o2",
    "systolic_bp",
    "heart_rate",
    "consciousness",
    "body_temperature",
)

Risk = Literal["low", "low-medium", "medium", "high"]


def _round(value: float, places: int = 0) -> float:
    """``value`` rounded half up to ``places`` decimals, as written (``Decimal(str(value))``:
    36.05 is 36.1, not the 36.0 its binary double gives)."""
    if places == 0 and float(value).is_integer():
        return float(value)  # already whole (most wearable readings): nothing to round
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def respiratory_rate_score(rate: float) -> int:
    r = _round(rate)
    if r <= 8:
        return 3
    if r <= 11:
        return 1
    if r <= 20:
        return 0
    if r <= 24:
        return 2
    return 3


def spo2_scale1_score(spo2: float) -> int:
    s = _round(spo2)
    if s <= 91:
        return 3
    if s <= 93:
        return 2
    if s <= 95:
        return 1
    return 0


def spo2_scale2_score(spo2: float, on_oxygen: bool) -> int:
    s = _round(spo2)
    if s <= 83:
        return 3
    if s <= 85:
        return 2
    if s <= 87:
        return 1
    if s <= 92 or not on_oxygen:
        return 0
    if s <= 94:
        return 1
    if s <= 96:
        return 2
    return 3


def air_or_oxygen_score(on_oxygen: bool) -> int:
    return 2 if on_oxygen else 0


def systolic_bp_score(systolic: float) -> int:
    s = _round(systolic)
    if s <= 90:
        return 3
    if s <= 100:
        return 2
    if s <= 110:
        return 1
    if s <= 219:
        return 0
    return 3


def pulse_score(pulse: float) -> int:
    p = _round(pulse)
    if p <= 40:
        return 3
    if p <= 50:
        return 1
    if p <= 90:
        return 0
    if p <= 110:
        return 1
    if p <= 130:
        return 2
    return 3


def consciousness_score(acvpu: str) -> int:
    """Alert scores 0; new confusion, or response to voice or pain, or unresponsive, 3."""
    return 0 if acvpu == "A" else 3


def temperature_score(celsius: float) -> int:
    t = _round(celsius, 1)
    if t <= 35.0:
        return 3
    if t <= 36.0:
        return 1
    if t <= 38.0:
        return 0
    if t <= 39.0:
        return 1
    return 2


@dataclass(frozen=True)
class News2Result:
    """A NEWS2 score: aggregate, per-parameter subscores, what was missing, which SpO2 scale."""

    total: int
    subscores: dict[str, int]
    missing: list[str]
    scale: Literal[1, 2]
    red_flag: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "red_flag", any(v == 3 for v in self.subscores.values()))

    @property
    def risk(self) -> Risk:
        """Clinical risk band of RCP 2017 chart 2."""
        if self.total >= 7:
            return "high"
        if self.total >= 5:
            return "medium"
        if self.red_flag:
            return "low-medium"
        return "low"

    def as_dict(self) -> dict[str, Any]:
        """The ``explanation.news2`` object of docs/spec.md."""
        return {"total": self.total, "subscores": dict(self.subscores),
                "missing": list(self.missing), "scale": self.scale}  # fmt: skip


def score(values: Mapping[str, Any], scale: Literal[1, 2] = 1) -> News2Result:
    """NEWS2 from the parameters present in ``values`` (keys as in ``PARAMETERS``).

    >>> r = score({"respiratory_rate": 26, "spo2": 90, "supplemental_o2": False,
    ...            "systolic_bp": 95, "heart_rate": 125, "consciousness": "A",
    ...            "body_temperature": 39.2}, scale=1)
    >>> r.total, r.subscores["respiratory_rate"], r.missing, r.risk
    (12, 3, [], 'high')
    >>> score({"heart_rate": 72}).missing[:2]
    ['respiratory_rate', 'spo2']
    """
    if scale not in (1, 2):
        raise ValueError("NEWS2 SpO2 scale is 1 or 2")
    present = {k: v for k, v in values.items() if k in PARAMETERS and v is not None}
    on_oxygen = bool(present.get("supplemental_o2", False))
    subscores: dict[str, int] = {}
    if "respiratory_rate" in present:
        subscores["respiratory_rate"] = respiratory_rate_score(present["respiratory_rate"])
    if "spo2" in present:
        subscores["spo2"] = (
            spo2_scale1_score(present["spo2"])
            if scale == 1
            else spo2_scale2_score(present["spo2"], on_oxygen)
        )
    if "supplemental_o2" in present:
        subscores["supplemental_o2"] = air_or_oxygen_score(on_oxygen)
    if "systolic_bp" in present:
        subscores["systolic_bp"] = systolic_bp_score(present["systolic_bp"])
    if "heart_rate" in present:
        subscores["heart_rate"] = pulse_score(present["heart_rate"])
    if "consciousness" in present:
        subscores["consciousness"] = consciousness_score(present["consciousness"])
    if "body_temperature" in present:
        subscores["body_temperature"] = temperature_score(present["body_temperature"])
    missing = [p for p in PARAMETERS if p not in present]
    return News2Result(sum(subscores.values()), subscores, missing, scale)
