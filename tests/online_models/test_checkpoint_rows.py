"""Checkpoint JSON kept between saves (history hours, phenotype days) equals JSON made afresh,
whatever order readings arrive in: late readings of earlier hours and days included."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from online_models.history import HOUR, KEEP_HOURS, VitalsHistory
from online_models.phenotype import Phenotype

# (hours after the start, seconds into the hour, value): mostly forward, some late, some a week on
_READINGS = st.lists(
    st.tuples(
        st.integers(0, KEEP_HOURS + 48), st.floats(0, HOUR - 1), st.floats(40, 160), st.booleans()
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(_READINGS)
def test_history_rows_equal_rows_made_afresh(
    readings: list[tuple[int, float, float, bool]],
) -> None:
    history = VitalsHistory()
    for hour, second, value, save in readings:
        history.add("heart_rate", value, hour * HOUR + second)
        if save:  # a checkpoint between readings keeps rows; the next must still be right
            orjson.dumps(history.checkpoint())
        ring = history.rings["heart_rate"]
        fresh = [[h, round(t, 1), n] for h, t, n in ring.buckets()]
        assert orjson.dumps(history.checkpoint()) == orjson.dumps({"heart_rate": fresh})
    restored = VitalsHistory()
    restored.load(history.to_dict())
    assert restored.to_dict() == history.to_dict()


def _fresh(phenotype: Phenotype) -> dict[str, Any]:
    return {str(i): d.to_list() for i, d in phenotype.days.items()}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40 * 24), st.sampled_from(["heart_rate", "steps",
                                                                    "hrv_rmssd", "sleep"]),
                          st.booleans()), min_size=1, max_size=60))  # fmt: skip
def test_phenotype_day_rows_equal_rows_made_afresh(events: list[tuple[int, str, bool]]) -> None:
    phenotype = Phenotype()
    for hour, signal, save in events:
        ts = hour * HOUR
        if signal == "steps":
            phenotype.learn_one("steps", 120, ts, ts + 60.0, "active")
        elif signal == "sleep":
            phenotype.learn_one("sleep", {"stage": "light"}, ts, ts + 1800.0)
        else:
            phenotype.learn_one(signal, 50.0 + hour % 30, ts, None, "rest")
        if save:
            orjson.dumps(phenotype.checkpoint())
        kept = orjson.dumps(phenotype.checkpoint())
        assert kept == orjson.dumps({**phenotype.to_dict(), "days": _fresh(phenotype)})
