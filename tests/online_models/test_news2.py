"""Every band edge of every NEWS2 parameter (RCP 2017, chart 1)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from online_models import news2
from online_models.news2 import score

# (value, expected subscore): both sides of every edge of the chart.
EDGES = {
    "respiratory_rate": [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3),
                         (4, 3), (40, 3)],
    "heart_rate": [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2),
                   (130, 2), (131, 3)],
    "systolic_bp": [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0),
                    (220, 3)],
    "body_temperature": [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1),
                         (39.0, 1), (39.1, 2), (41.0, 2)],
    "spo2": [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
}  # fmt: skip


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [(p, v, e) for p, edges in EDGES.items() for v, e in edges],
)
def test_band_edges_scale1(parameter: str, value: float, expected: int) -> None:
    result = score({parameter: value}, scale=1)
    assert result.subscores == {parameter: expected}
    assert result.total == expected


SCALE2 = [  # (spo2, on oxygen, expected)
    (83, False, 3), (84, False, 2), (85, True, 2), (86, False, 1), (87, True, 1),
    (88, False, 0), (92, True, 0), (93, False, 0), (99, False, 0),
    (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2), (97, True, 3), (100, True, 3),
]  # fmt: skip


@pytest.mark.parametrize(("spo2", "oxygen", "expected"), SCALE2)
def test_spo2_scale2(spo2: int, oxygen: bool, expected: int) -> None:
    result = score({"spo2": spo2, "supplemental_o2": oxygen}, scale=2)
    assert result.subscores["spo2"] == expected
    assert result.subscores["supplemental_o2"] == (2 if oxygen else 0)


def test_scale1_ignores_oxygen_for_spo2_but_scores_it() -> None:
    result = score({"spo2": 97, "supplemental_o2": True}, scale=1)
    assert result.subscores == {"spo2": 0, "supplemental_o2": 2}


@pytest.mark.parametrize(("acvpu", "expected"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness(acvpu: str, expected: int) -> None:
    assert score({"consciousness": acvpu}).subscores["consciousness"] == expected


def test_rounding_to_chart_precision() -> None:
    assert news2.respiratory_rate_score(8.49) == 3
    assert news2.respiratory_rate_score(8.5) == 1  # rounds half up to 9
    assert news2.temperature_score(35.04) == 3
    assert news2.temperature_score(35.05) == 1  # 35.1
    assert news2.pulse_score(90.4) == 0 and news2.pulse_score(90.5) == 1


@given(st.one_of(st.integers(-1000, 1000), st.floats(-1000, 1000),
                 st.integers(-1000, 1000).map(lambda n: n / 2)))  # fmt: skip
def test_whole_values_skip_the_decimal_but_round_the_same(value: float) -> None:
    """``_round`` returns whole values as they are; everything rounds half up as written."""
    written = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert news2._round(value) == float(written)


def test_spec_example_and_missing_parameters() -> None:
    full = {"respiratory_rate": 26, "spo2": 90, "supplemental_o2": False, "systolic_bp": 95,
            "heart_rate": 125, "consciousness": "A", "body_temperature": 39.2}  # fmt: skip
    result = score(full, scale=1)
    assert result.total == 12  # 3 + 3 + 0 + 2 + 2 + 0 + 2
    assert result.missing == []
    assert result.risk == "high"
    wearable = score({"heart_rate": 72, "spo2": 97, "respiratory_rate": 14})
    assert wearable.missing == ["supplemental_o2", "systolic_bp", "consciousness",
                                "body_temperature"]  # fmt: skip
    assert wearable.total == 0 and "systolic_bp" not in wearable.subscores


def test_risk_bands() -> None:
    assert score({"heart_rate": 72}).risk == "low"
    assert score({"respiratory_rate": 7}).risk == "low-medium"  # a single 3
    assert score({"respiratory_rate": 22, "heart_rate": 115, "body_temperature": 38.5}).risk == (
        "medium"
    )  # 2 + 2 + 1 = 5
    assert score({"respiratory_rate": 26, "heart_rate": 135, "spo2": 95}).risk == "high"


def test_as_dict_matches_the_alert_schema() -> None:
    from vigilstream import messages

    explanation = score({"heart_rate": 130, "spo2": 93}, scale=2).as_dict()
    messages.validate("alert", {
        "alert_id": "a", "patient_id": "p", "kind": "deterioration", "severity": "low",
        "status": "open", "opened_at": 0, "updated_at": 0, "event_time": 0, "summary": "s",
        "explanation": {"news2": explanation}})  # fmt: skip
    assert explanation["scale"] == 2


@given(st.lists(st.floats(20, 250), min_size=1, max_size=6))
def test_the_feed_smooths_with_the_median_of_its_last_three_readings(values: list[float]) -> None:
    """``News2Feed.smoothed`` is the median of the last three resting readings (two: their
    mean), whatever their order."""
    from statistics import median

    from online_models.news2_feed import News2Feed

    feed = News2Feed()
    for minute, value in enumerate(values):
        feed.add("heart_rate", value, ts=minute * 60.0)
    assert feed.smoothed("heart_rate", now=len(values) * 60.0) == median(values[-3:])
