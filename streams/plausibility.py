"""Physiological plausibility of a reading in its canonical unit.

A value outside these ranges is a sensor or transmission fault, not a patient state, and is
dead-lettered as ``implausible_value`` rather than fed to the models. The ranges are wide on
purpose: they must never reject a real, if extreme, clinical value (NEWS2's most extreme bands
lie well inside them, e.g. respiration <= 8 or >= 25 /min, SpO2 <= 91 %, pulse <= 40 or
>= 131 bpm, temperature <= 35.0 or >= 39.1 °C, systolic <= 90 or >= 220 mmHg; RCP 2017).

| signal | range (canonical unit) |
|---|---|
| heart_rate | 20-300 bpm |
| respiratory_rate | 2-80 /min |
| spo2 | 50-100 % |
| body_temperature | 30-45 °C |
| skin_temperature | 15-45 °C |
| hrv_rmssd, hrv_sdnn | 1-600 ms |
| rr_intervals | each 200-3000 ms (20-300 bpm) |
| blood_pressure | systolic 40-300, diastolic 20-200 mmHg, systolic > diastolic |
| steps | 0-100 000 per reading and at most 5 steps/s over the interval |
| steps, sleep, exercise interval | at most 24 h |
"""

from __future__ import annotations

from typing import Any

RANGES: dict[str, tuple[float, float]] = {
    "heart_rate": (20.0, 300.0),
    "respiratory_rate": (2.0, 80.0),
    "spo2": (50.0, 100.0),
    "body_temperature": (30.0, 45.0),
    "skin_temperature": (15.0, 45.0),
    "hrv_rmssd": (1.0, 600.0),
    "hrv_sdnn": (1.0, 600.0),
    "rr_intervals": (200.0, 3000.0),
    "systolic": (40.0, 300.0),
    "diastolic": (20.0, 200.0),
}
MAX_STEPS = 100_000
MAX_CADENCE_PER_S = 5.0
MAX_INTERVAL_S = 24 * 3600.0


def implausibility(signal: str, value: Any, ts: float, end_ts: float | None) -> str | None:
    """Why a canonical value is physiologically implausible, or None when it is plausible.

    >>> implausibility("heart_rate", 350.0, 0.0, None)
    'heart_rate 350 outside 20-300'
    >>> implausibility("spo2", 97.0, 0.0, None) is None
    True
    """
    bounds = RANGES.get(signal)
    if bounds is not None:
        values = value if isinstance(value, list) else (value,)
        for v in values:
            if not bounds[0] <= v <= bounds[1]:
                return f"{signal} {v:g} outside {bounds[0]:g}-{bounds[1]:g}"
        return None
    if signal == "blood_pressure":
        for part in ("systolic", "diastolic"):
            low, high = RANGES[part]
            if not low <= value[part] <= high:
                return f"{part} {value[part]:g} outside {low:g}-{high:g}"
        if value["systolic"] <= value["diastolic"]:
            return "systolic not above diastolic"
        return None
    if end_ts is not None and end_ts - ts > MAX_INTERVAL_S:
        return f"{signal} interval of {(end_ts - ts) / 3600:.1f} h exceeds 24 h"
    if signal == "steps":
        if value > MAX_STEPS:
            return f"{value} steps in one reading exceeds {MAX_STEPS}"
        duration = (end_ts or ts) - ts
        if value > MAX_CADENCE_PER_S * max(duration, 60.0):
            return f"{value} steps in {duration:g} s exceeds {MAX_CADENCE_PER_S:g} steps/s"
    return None
