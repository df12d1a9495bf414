from __future__ import annotations

import pytest

from streams.units import CONVERSIONS, UnitError, to_canonical


@pytest.mark.parametrize(
    ("signal", "value", "unit", "expected"),
    [
        ("body_temperature", 98.6, "degF", 37.0),
        ("body_temperature", 212.0, "[degF]", 100.0),
        ("skin_temperature", 306.15, "K", 33.0),
        ("body_temperature", 37.0, "Cel", 37.0),
        ("spo2", 0.91, "{ratio}", 91.0),
        ("spo2", 91, "%", 91),
        ("hrv_rmssd", 0.045, "s", 45.0),
        ("heart_rate", 60, "/min", 60),
        ("respiratory_rate", 16, "breaths/min", 16),
    ],
)
def test_conversions(signal: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(signal, value, unit) == pytest.approx(expected)


def test_structured_values_convert_each_part() -> None:
    bp = to_canonical("blood_pressure", {"systolic": 20.0, "diastolic": 12.0}, "kPa")
    assert bp == pytest.approx({"systolic": 150.0124, "diastolic": 90.00744})
    assert to_canonical("rr_intervals", [0.8, 1.0], "s") == pytest.approx([800.0, 1000.0])


def test_unknown_unit_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnitError, match="furlongs"):
        to_canonical("heart_rate", 60, "furlongs")
    with pytest.raises(UnitError):
        to_canonical("body_temperature", 37, "mmHg")


def test_every_signal_with_a_unit_accepts_its_canonical_spelling() -> None:
    canonical = {
        "heart_rate": "bpm",
        "spo2": "%",
        "body_temperature": "Cel",
        "steps": "count",
        "blood_pressure": "mmHg",
        "hrv_sdnn": "ms",
        "respiratory_rate": "/min",
    }
    for signal, unit in canonical.items():
        assert unit.lower() in CONVERSIONS[signal]
