from __future__ import annotations

import math
import random

import pytest

from online_models.baselines import SLEEP_SHIFT_SD, WARM_N, Baselines, EWStats
from online_models.priors import population_prior


def test_ew_stats_converge_to_the_true_mean_and_sd() -> None:
    rng = random.Random(3)
    stats = EWStats()
    for i in range(20_000):  # two weeks of minute data
        stats.learn_one(rng.gauss(64.0, 4.0), ts=i * 60.0)
    assert stats.mean == pytest.approx(64.0, abs=0.5)
    assert stats.sd == pytest.approx(4.0, rel=0.15)


def test_ew_stats_follow_a_level_change_on_the_time_constant() -> None:
    stats = EWStats()
    step = 300.0  # every 5 minutes
    for i in range(70 * 288):  # ten time constants at 60: the weight has saturated
        stats.learn_one(60.0, ts=i * step)
    start = 70 * 86400.0
    for i in range(7 * 288):  # one time constant (7 days) at the new level
        stats.learn_one(70.0, ts=start + i * step)
    assert stats.mean == pytest.approx(60 + 10 * (1 - math.exp(-1)), abs=0.2)


def test_irregular_sampling_weighs_by_time_not_count() -> None:
    dense, sparse = EWStats(), EWStats()
    for day in range(10):
        dense.learn_one(36.5, ts=day * 86400.0)
        sparse.learn_one(36.5, ts=day * 86400.0)
    for i in range(2000):
        dense.learn_one(38.0, ts=10 * 86400.0 + i)
    assert dense.mean < 37.0  # 33 minutes of fever readings move a 7-day baseline little


def test_warm_up_uses_the_population_prior() -> None:
    b = Baselines(age=72, sex="M")
    prior = population_prior("spo2", "rest", 72, "M")
    ref = b.reference("spo2")
    assert (ref.mean, ref.warm) == (prior.mean, False)
    for i in range(WARM_N):  # enough readings, but all within one hour: still warming up
        b.learn_one("spo2", 93.0, ts=i * 60.0)
    assert b.reference("spo2").warm is False
    b.learn_one("spo2", 93.0, ts=25 * 3600.0)  # now spanning more than 24 h
    ref = b.reference("spo2")
    assert ref.warm and ref.mean == pytest.approx(93.0)
    assert ref.sd == 1.0  # the SD floor: a flat sensor is not infinitely precise


def test_contexts_are_separate_for_heart_rate() -> None:
    b = Baselines()
    for i in range(48):
        ts = i * 3600.0
        b.learn_one("heart_rate", 58.0, ts, context="asleep")
        b.learn_one("heart_rate", 72.0, ts, context="rest")
        b.learn_one("heart_rate", 105.0, ts, context="active")
    z_rest, _ = b.z("heart_rate", 105.0, "rest")
    z_active, _ = b.z("heart_rate", 105.0, "active")
    assert z_rest > 5 and abs(z_active) < 1


@pytest.mark.parametrize("signal, resting", [("heart_rate", 80.0), ("respiratory_rate", 19.0)])
def test_a_cold_sleep_baseline_borrows_the_patients_own_resting_one(
    signal: str, resting: float
) -> None:
    """The first nights: a sleeping value is compared with this patient's resting baseline
    minus the population's nocturnal fall, not with the population's sleeping values."""
    b = Baselines(age=50, sex="M")
    prior = population_prior(signal, "asleep", 50, "M")
    assert b.reference(signal, "asleep").mean == prior.mean  # nothing of theirs yet
    rng = random.Random(5)
    for i in range(60):  # thirty hours of resting values: warm
        b.learn_one(signal, resting + rng.gauss(0.0, 3.0), ts=i * 1800.0, context="rest")
    rest = b.reference(signal, "rest")
    fall = population_prior(signal, "rest", 50, "M").mean - prior.mean
    asleep = b.reference(signal, "asleep")
    assert rest.warm and asleep.mean == pytest.approx(rest.mean - fall)
    assert asleep.sd == pytest.approx(math.hypot(rest.sd, SLEEP_SHIFT_SD[signal]))
    assert not asleep.warm and asleep.context == f"{signal}/asleep"  # learning goes to asleep
    b.learn_one(signal, resting - fall, ts=60 * 1800.0, context="asleep")
    assert b.stats[f"{signal}/asleep"].n == 1 and b.stats[f"{signal}/rest"].n == 60
    # Once the sleeping baseline is warm, it is the patient's own.
    for i in range(61, 61 + WARM_N + 20):
        b.learn_one(signal, resting - 2 * fall, ts=i * 1800.0, context="asleep")
    assert b.reference(signal, "asleep").warm
    assert b.reference(signal, "asleep").mean == pytest.approx(resting - 2 * fall, abs=0.5)


def test_hrv_and_active_heart_rate_do_not_borrow() -> None:
    b = Baselines(age=50, sex="F")
    for i in range(60):
        b.learn_one("heart_rate", 80.0, ts=i * 1800.0, context="rest")
        b.learn_one("hrv_rmssd", 30.0, ts=i * 1800.0, context="rest")
    assert b.reference("heart_rate", "rest").warm and b.reference("hrv_rmssd", "rest").warm
    assert (
        b.reference("heart_rate", "active").mean
        == population_prior("heart_rate", "active", 50, "F").mean
    )
    assert (
        b.reference("hrv_rmssd", "asleep").mean
        == population_prior("hrv_rmssd", "asleep", 50, "F").mean
    )


def test_outliers_are_clipped_once_warm() -> None:
    b = Baselines()
    for i in range(60):
        b.learn_one("heart_rate", 60.0 + (i % 2), ts=i * 3600.0)
    before = b.reference("heart_rate").mean
    b.learn_one("heart_rate", 250.0, ts=61 * 3600.0)  # an artefact
    assert b.reference("heart_rate").mean - before < 3.0


def test_round_trip() -> None:
    b = Baselines(age=50, sex="F")
    for i in range(40):
        b.learn_one("respiratory_rate", 14 + i % 3, ts=i * 3600.0, context="asleep")
    restored = Baselines(age=50, sex="F")
    restored.load(b.to_dict())
    assert restored.summary() == b.summary()


def test_blood_pressure_is_warm_after_ten_cuff_readings_over_three_days() -> None:
    """Spot checks come once or twice a day: blood pressure warms on ten readings over three
    days (the policy's ``spot_warm_n`` and ``spot_warm_span_s``), not on the thirty a wearable
    signal needs; a burst of readings on one day is not a baseline."""
    burst = Baselines(age=30, sex="M")
    for i in range(12):
        burst.learn_one("systolic_bp", 95.0, ts=i * 600.0)
    assert not burst.reference("systolic_bp").warm
    daily = Baselines(age=30, sex="M")
    for i in range(10):
        daily.learn_one("systolic_bp", 95.0 + i % 3, ts=i * 8 * 3600.0)
    ref = daily.reference("systolic_bp")
    assert ref.warm and round(ref.mean) == 96
    heart = Baselines(age=30, sex="M")  # a wearable signal keeps its own warm-up
    for i in range(10):
        heart.learn_one("heart_rate", 60.0, ts=i * 8 * 3600.0)
    assert not heart.reference("heart_rate").warm
