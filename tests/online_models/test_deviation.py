"""Physiological patterns in the personal deviation (issue #14, earlier hypoxaemia and fever):
signals one process moves together corroborate each other below the two-signal bar, once they
have agreed for 20 minutes, and only in their physiological directions."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.engine import AlertEngine, AlertPolicy
from online_models.deviation import PATTERN_SUSTAIN_S, Deviation
from online_models.news2 import score
from online_models.state import Assessment

T0 = 1_700_000_000.0
MEANS = {"spo2": 95.0, "respiratory_rate": 16.0, "heart_rate": 62.0, "skin_temperature": 33.0,
         "hrv_rmssd": 40.0}  # fmt: skip
SDS = {"spo2": 1.0, "respiratory_rate": 1.5, "heart_rate": 5.0, "skin_temperature": 0.4,
       "hrv_rmssd": 8.0}  # fmt: skip


def feed(d: Deviation, zs: dict[str, float], minutes: range) -> None:
    """Readings every 5 minutes at constant z (the smoothed z then equals it)."""
    for minute in minutes:
        ts = T0 + minute * 60.0
        for signal, z in zs.items():
            value = MEANS[signal] + z * SDS[signal]
            d.learn_one(signal, z, value, MEANS[signal], SDS[signal], 900, ts)


def test_falling_spo2_with_quickening_breath_corroborates_after_20_minutes() -> None:
    d = Deviation()
    feed(d, {"spo2": -1.8, "respiratory_rate": 1.8}, range(0, 16, 5))
    # Measured on readings: 15 minutes of them do not make 20, however late one asks.
    assert not d.score(T0 + PATTERN_SUSTAIN_S).corroborated
    assert not d.corroborated(T0 + PATTERN_SUSTAIN_S)
    feed(d, {"spo2": -1.8, "respiratory_rate": 1.8}, range(20, 21))
    result = d.score(T0 + PATTERN_SUSTAIN_S)
    assert result.corroborated and d.corroborated(T0 + PATTERN_SUSTAIN_S)
    assert (result.pattern, result.bar, result.score) == ("hypoxaemia", 1.5, 1.8)
    # The explanation names both members although neither reaches the two-signal bar (2.5).
    assert {s["signal"] for s in result.signals} == {"spo2", "respiratory_rate"}


@pytest.mark.parametrize(
    "zs",
    [
        {"spo2": -1.8, "respiratory_rate": 0.0},  # SpO2 alone: a loose probe, a cold finger
        {"spo2": 1.8, "respiratory_rate": 1.8},  # SpO2 rising with the breath: not hypoxaemia
        {"spo2": -1.4, "respiratory_rate": 1.8},  # one member below the pattern's bar
        {"skin_temperature": 2.2, "heart_rate": 2.2},  # a hot day without faster breathing
        {"skin_temperature": -2.2, "heart_rate": 2.2, "respiratory_rate": 2.2},  # cold skin
    ],
)
def test_no_pattern_without_every_member_in_its_direction(zs: dict[str, float]) -> None:
    d = Deviation()
    feed(d, zs, range(0, 61, 5))
    result = d.score(T0 + 3600)
    assert not result.corroborated and result.pattern is None


@pytest.mark.parametrize(
    "zs, expected",
    [
        ({"heart_rate": 3.0, "hrv_rmssd": -3.0}, 0.0),  # one witness: an evening of alcohol
        ({"heart_rate": 3.0, "respiratory_rate": 2.8}, 2.8),
        ({"hrv_rmssd": -3.0, "respiratory_rate": 2.8}, 2.8),
        ({"heart_rate": 3.0, "hrv_rmssd": -3.2, "respiratory_rate": 2.6}, 2.6),
        ({"heart_rate": 3.0, "hrv_rmssd": -3.0, "respiratory_rate": 2.0}, 0.0),
    ],
)
def test_heart_rate_and_its_variability_are_one_witness(zs: dict[str, float],
                                                        expected: float) -> None:  # fmt: skip
    """Two strong signals corroborate only when they are two witnesses; the score is then the
    weaker witness's z (each witness at its strongest signal)."""
    d = Deviation()
    feed(d, zs, range(0, 15, 5))  # 10 minutes: no tier that needs time can pass
    result = d.score(T0 + 10 * 60)
    assert result.corroborated is (expected > 0)
    assert result.score == pytest.approx(expected, abs=0.01)


def test_the_first_exertional_reading_after_a_gap_waits_for_a_second() -> None:
    """A watch put back on mid-run: heart rate and breathing far out on one reading after 80
    minutes without any do not corroborate until the next reading says the same."""
    d = Deviation()
    feed(d, {"heart_rate": 0.2, "respiratory_rate": 0.1}, range(0, 30, 5))
    feed(d, {"heart_rate": 9.0, "respiratory_rate": 8.0}, range(105, 106))
    assert not d.score(T0 + 105 * 60).corroborated
    assert not d.corroborated(T0 + 105 * 60)
    feed(d, {"heart_rate": 9.0, "respiratory_rate": 8.0}, range(110, 111))
    assert d.score(T0 + 110 * 60).corroborated
    # Without the gap the same change counts at its first reading; SpO2 never waits.
    d2 = Deviation()
    feed(d2, {"heart_rate": 0.2, "respiratory_rate": 0.1}, range(0, 30, 5))
    feed(d2, {"heart_rate": 9.0, "respiratory_rate": 8.0}, range(30, 31))
    assert d2.score(T0 + 30 * 60).corroborated
    d3 = Deviation()
    feed(d3, {"spo2": -0.2, "respiratory_rate": 0.1}, range(0, 30, 5))
    feed(d3, {"spo2": -6.0}, range(105, 106))
    feed(d3, {"respiratory_rate": 4.0}, range(105, 106))
    assert not d3.score(T0 + 105 * 60).corroborated  # breathing's first reading waits ...
    d3.learn_one("heart_rate", 3.0, 80.0, 62.0, 5.0, 900, T0 + 105 * 60)
    assert not d3.score(T0 + 105 * 60).corroborated  # ... and so does a new signal's first
    feed(d3, {"respiratory_rate": 4.0}, range(110, 111))
    assert d3.score(T0 + 110 * 60).corroborated


def test_a_checkpoint_keeps_the_gap_and_reads_older_ones() -> None:
    d = Deviation()
    feed(d, {"heart_rate": 0.2, "respiratory_rate": 0.1}, range(0, 30, 5))
    feed(d, {"heart_rate": 9.0, "respiratory_rate": 8.0}, range(105, 106))
    restored = Deviation()
    restored.load(d.to_dict())
    assert not restored.score(T0 + 105 * 60).corroborated
    older = {name: row[:7] for name, row in d.to_dict().items()}  # before the gap was kept
    restored.load(older)
    assert restored.score(T0 + 105 * 60).corroborated
    again = Deviation()  # and what it writes back survives JSON (no infinities)
    again.load(orjson.loads(orjson.dumps(restored.to_dict())))
    assert all(isinstance(s.since, float) for s in again.signals.values())
    assert again.score(T0 + 105 * 60).corroborated


def test_a_fever_raises_skin_temperature_heart_rate_and_breathing_together() -> None:
    d = Deviation()
    feed(d, {"skin_temperature": 2.2, "heart_rate": 2.3, "respiratory_rate": 2.1}, range(0, 21, 5))
    result = d.score(T0 + 20 * 60)
    assert (result.corroborated, result.pattern, result.bar, result.score) == (
        True, "febrile", 2.0, 2.1
    )  # fmt: skip


def test_a_break_in_the_agreement_restarts_the_20_minutes() -> None:
    d = Deviation()
    feed(d, {"spo2": -1.8, "respiratory_rate": 1.8}, range(0, 16, 5))
    assert d.patterns_since == {"hypoxaemia": T0}
    feed(d, {"spo2": 0.0, "respiratory_rate": 1.8}, range(16, 26))  # SpO2 back for 10 minutes
    assert d.patterns_since == {}
    first = None
    for minute in range(26, 60):
        feed(d, {"spo2": -3.0, "respiratory_rate": 1.8}, range(minute, minute + 1))
        if first is None and d.score(T0 + minute * 60).pattern == "hypoxaemia":
            first = T0 + minute * 60
    since = d.patterns_since["hypoxaemia"]
    assert since > T0 + 26 * 60 and first == since + PATTERN_SUSTAIN_S


def test_a_run_under_way_survives_the_checkpoint() -> None:
    d = Deviation()
    feed(d, {"spo2": -1.8, "respiratory_rate": 1.8}, range(0, 11, 5))
    restored = Deviation()
    restored.load(d.to_dict())
    assert restored.patterns_since == {"hypoxaemia": T0}
    feed(restored, {"spo2": -1.8, "respiratory_rate": 1.8}, range(15, 21, 5))
    assert restored.score(T0 + 20 * 60).pattern == "hypoxaemia"
    plain = Deviation()
    plain.load({"spo2": d.to_dict()["spo2"]})  # a checkpoint from before patterns
    assert plain.patterns_since == {}


def test_the_engine_pages_a_pattern_once_as_a_low_deviation_with_its_reading() -> None:
    d = Deviation()
    feed(d, {"spo2": -1.8, "respiratory_rate": 1.8}, range(0, 21, 5))
    assessment = Assessment(score({}), d.score(T0 + 20 * 60))
    engine = AlertEngine("p-1", AlertPolicy(confirm_low_s=0))
    (opened,) = engine.decide(assessment, event_ts=T0 + 20 * 60, now=T0 + 20 * 60)
    assert (opened["kind"], opened["severity"]) == ("baseline_deviation", "low")
    assert opened["summary"].startswith("Possible hypoxaemia: SpO2 falling")
    assert "spo2 93.2 vs usual 95" in opened["summary"]
    # Two "not actionable" verdicts raise the bar by 1 SD: the same pattern no longer pages.
    stricter = AlertEngine("p-2", AlertPolicy(confirm_low_s=0))
    stricter.deviation_margin = 1.0
    assert stricter.decide(assessment, event_ts=T0 + 20 * 60, now=T0 + 20 * 60) == []


@given(st.lists(st.tuples(st.sampled_from(sorted(MEANS)), st.floats(-6.0, 6.0),
                          st.integers(0, 40), st.booleans()), max_size=60))  # fmt: skip
def test_the_quick_corroboration_check_agrees_with_the_full_score(
    steps: list[tuple[str, float, int, bool]],
) -> None:
    """``corroborated`` (asked every reading, looks only at the signals already high) says what
    ``score`` says, with or without an anomaly, through readings, gaps of up to 40 minutes,
    forgetting and a checkpoint."""
    d, ts = Deviation(), T0
    for signal, z, gap_min, forget in steps:
        ts += gap_min * 60.0
        d.learn_one(signal, z, MEANS[signal] + z * SDS[signal], MEANS[signal], SDS[signal], 900, ts)
        if forget:
            d.forget(frozenset({signal}), ts - 600.0, ts)
        for now in (ts, ts + 1200.0, ts + 2400.0):
            for anomaly in (0.0, 1.0):  # with and without the multivariate anomaly's support
                assert d.corroborated(now, anomaly) == d.score(now, anomaly).corroborated
    restored = Deviation()
    restored.load(d.to_dict())
    for now in (ts, ts + 1200.0):
        assert restored.corroborated(now) == d.score(now).corroborated


def test_one_signal_is_sustained_only_against_the_patients_own_baseline() -> None:
    """Heart rate 5 SD out for 40 minutes: against the patient's own warm baseline it is a
    sustained change; against a population prior (their first day) it is not, on its own."""
    warm, cold = Deviation(), Deviation()
    for minute in range(0, 41, 5):
        ts = T0 + minute * 60.0
        value = MEANS["heart_rate"] + 5.0 * SDS["heart_rate"]
        warm.learn_one("heart_rate", 5.0, value, MEANS["heart_rate"], SDS["heart_rate"], 900, ts)
        cold.learn_one("heart_rate", 5.0, value, MEANS["heart_rate"], SDS["heart_rate"], 900, ts,
                       sustains=False)  # fmt: skip
    now = T0 + 40 * 60.0
    assert warm.score(now).corroborated and warm.corroborated(now)
    assert not cold.score(now).corroborated and not cold.corroborated(now)


def test_a_sudden_change_says_when_its_signals_were_last_calm() -> None:
    """A ride: heart rate calm, then far out from one reading to the next; the deviation says
    when it was last calm, so the engine can tell a young change from one hours old. A fever's
    heart rate creeps up for hours and was last calm long before it corroborates."""
    ride = Deviation()
    feed(ride, {"heart_rate": 0.3}, range(0, 60, 5))
    feed(ride, {"heart_rate": 9.0}, range(60, 100, 5))
    result = ride.score(T0 + 95 * 60)
    assert result.corroborated and result.calm_until == T0 + 55 * 60 and not result.settled
    over = Deviation()  # the ride ends: the latest reading is calm, the smoothed z not yet
    over.load(ride.to_dict())
    feed(over, {"heart_rate": 0.2}, range(100, 101))
    result = over.score(T0 + 100 * 60)
    assert result.corroborated and result.settled
    fever = Deviation()
    for minute in range(0, 300, 5):
        feed(fever, {"heart_rate": 0.5 + minute / 50}, range(minute, minute + 1))
    result = fever.score(T0 + 295 * 60)
    assert result.corroborated and result.calm_until is not None
    assert T0 + 295 * 60 - result.calm_until >= 3.5 * 3600
    restored = Deviation()  # kept in the checkpoint; a row from before reads "long ago"
    restored.load(orjson.loads(orjson.dumps(ride.to_dict())))
    assert restored.score(T0 + 95 * 60).calm_until == T0 + 55 * 60
    restored.load({name: row[:8] for name, row in ride.to_dict().items()})
    assert restored.score(T0 + 95 * 60).calm_until == 0.0


def test_an_irregular_rhythm_is_an_hrv_reading_far_above_the_patients_own() -> None:
    """Exercise lowers HRV; atrial fibrillation's irregular beats raise RMSSD far above the
    patient's own. The smoothed z counts only HRV's low side, so the raw reading says it."""
    d = Deviation()
    feed(d, {"heart_rate": 9.0}, range(0, 40, 5))
    assert not d.score(T0 + 35 * 60).irregular
    d.learn_one("hrv_rmssd", 4.0, 72.0, 40.0, 8.0, 900, T0 + 36 * 60)
    assert d.score(T0 + 40 * 60).irregular
    assert not d.score(T0 + 100 * 60).irregular  # an hour later it no longer speaks for now
    d.learn_one("hrv_rmssd", -2.0, 24.0, 40.0, 8.0, 900, T0 + 101 * 60)
    assert not d.score(T0 + 101 * 60).irregular
