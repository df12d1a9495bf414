"""Unit conversion to the canonical unit of each signal (docs/spec.md, "Native reading").

Units are matched by their UCUM code (``/min``, ``Cel``, ``[degF]``, ``mm[Hg]``), their common
spellings (``bpm``, ``°F``, ``degF``) and the Open mHealth unit values (``beats/min``, ``C``,
``F``). A unit we cannot convert is an error (reason ``unit``), never a guess: a temperature in
an unknown unit must not be read as Celsius. SpO2 given as a fraction is converted when the
unit says so (``1``, ``{ratio}``, ``fraction``), and also when it comes with ``%`` or no unit
but is 1 or less: Apple HealthKit stores percentages as fractions and its exports write
``0.97`` with unit ``%``, and no oxygen saturation is 1 % (not a guess: no other reading of it
is possible).

References: UCUM, The Unified Code for Units of Measure (Regenstrief Institute);
1 kPa = 7.50062 mmHg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MMHG_PER_KPA = 7.50062


class UnitError(ValueError):
    """A unit that cannot be converted to the signal's canonical unit."""


def _same(x: float) -> float:
    return x


def _f_to_c(x: float) -> float:
    return (x - 32.0) * 5.0 / 9.0


def _k_to_c(x: float) -> float:
    return x - 273.15


def _fraction_to_percent(x: float) -> float:
    return x * 100.0


def _s_to_ms(x: float) -> float:
    return x * 1000.0


def _kpa_to_mmhg(x: float) -> float:
    return x * MMHG_PER_KPA


_PER_MIN = ("/min", "1/min", "min-1", "per min", "count/min")
_CELSIUS = {u: _same for u in ("cel", "°c", "c", "degc", "celsius", "deg c")}
_TEMPERATURE: dict[str, Callable[[float], float]] = {
    **_CELSIUS,
    **{u: _f_to_c for u in ("[degf]", "degf", "°f", "f", "fahrenheit", "deg f")},
    **{u: _k_to_c for u in ("k", "kelvin")},
}
_MILLISECONDS: dict[str, Callable[[float], float]] = {
    **{u: _same for u in ("ms", "msec", "millisecond", "milliseconds")},
    **{u: _s_to_ms for u in ("s", "sec", "second", "seconds")},
}
_PRESSURE: dict[str, Callable[[float], float]] = {
    **{u: _same for u in ("mm[hg]", "mmhg", "mm hg")},
    "kpa": _kpa_to_mmhg,
}

CONVERSIONS: dict[str, dict[str, Callable[[float], float]]] = {
    "heart_rate": {u: _same for u in ("bpm", "beats/min", "{beats}/min", *_PER_MIN)},
    "respiratory_rate": {
        u: _same for u in ("breaths/min", "{breaths}/min", "brpm", "rpm", "bpm", *_PER_MIN)
    },
    "spo2": {
        **{u: _same for u in ("%", "percent", "pct")},
        **{u: _fraction_to_percent for u in ("1", "{ratio}", "ratio", "fraction")},
    },
    "body_temperature": _TEMPERATURE,
    "skin_temperature": _TEMPERATURE,
    "hrv_rmssd": _MILLISECONDS,
    "hrv_sdnn": _MILLISECONDS,
    "rr_intervals": _MILLISECONDS,
    "blood_pressure": _PRESSURE,
    "steps": {u: _same for u in ("count", "steps", "{steps}", "step", "1", "{count}")},
}
"""Accepted units (lower case) of each signal with a unit, and their conversion."""

CANONICAL = {
    "heart_rate": "bpm",
    "respiratory_rate": "/min",
    "spo2": "%",
    "body_temperature": "Cel",
    "skin_temperature": "Cel",
    "hrv_rmssd": "ms",
    "hrv_sdnn": "ms",
    "rr_intervals": "ms",
    "blood_pressure": "mmHg",
    "steps": "count",
}


def to_canonical(signal: str, value: Any, unit: str | None) -> Any:
    """Convert a validated reading value to the canonical unit of its signal.

    >>> round(to_canonical("body_temperature", 98.6, "[degF]"), 2)
    37.0
    >>> [to_canonical("spo2", v, unit) for v, unit in ((0.97, "1"), (0.97, "%"), (97, None))]
    [97.0, 97.0, 97]
    >>> bp = to_canonical("blood_pressure", {"systolic": 16.0, "diastolic": 10.0}, "kPa")
    >>> round(bp["systolic"]), round(bp["diastolic"])
    (120, 75)
    """
    if signal == "spo2" and (unit is None or unit.strip() in ("", "%")):
        return _fraction_to_percent(value) if 0 < value <= 1 else value  # HealthKit's 0.97
    if unit is None or unit == "":
        return value
    table = CONVERSIONS.get(signal)
    if table is None:
        return value  # unitless signals (sleep, consciousness, ...) carry no unit to convert
    convert = table.get(unit.strip().lower())
    if convert is None:
        raise UnitError(
            f"unit {unit!r} cannot be converted to {CANONICAL[signal]} for {signal}"[:200]
        )
    if convert is _same:
        return value
    if isinstance(value, dict):
        return {k: convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [convert(v) for v in value]
    return convert(value)
