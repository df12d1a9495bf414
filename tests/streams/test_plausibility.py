from __future__ import annotations

import pytest

from streams.plausibility import implausibility


@pytest.mark.parametrize(
    ("signal", "inside", "outside"),
    [
        ("heart_rate", (20, 300), (19.9, 300.1)),
        ("spo2", (50, 100), (49.9, 100.1)),
        ("body_temperature", (30, 45), (29.9, 45.1)),
        ("respiratory_rate", (2, 80), (1.9, 80.1)),
    ],
)
def test_range_edges_are_inclusive(signal: str, inside: tuple, outside: tuple) -> None:
    for value in inside:
        assert implausibility(signal, value, 0.0, None) is None
    for value in outside:
        assert implausibility(signal, value, 0.0, None) is not None


def test_structured_signals() -> None:
    assert implausibility("blood_pressure", {"systolic": 220, "diastolic": 130}, 0, None) is None
    assert "systolic" in implausibility(
        "blood_pressure", {"systolic": 80, "diastolic": 80}, 0, None
    )
    assert implausibility("rr_intervals", [800, 150], 0, None) is not None
    assert implausibility("steps", 600, 0.0, 120.0) is None  # 5 steps/s for 2 min
    assert implausibility("steps", 601, 0.0, 120.0) is not None
    assert implausibility("sleep", {"stage": "rem"}, 0.0, 25 * 3600.0) is not None
