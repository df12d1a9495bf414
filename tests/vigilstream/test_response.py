"""Simulated patients' responses to suggestions: personal, fading, never when ill, paired."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vigilstream.simulation.cohort import make_patient
from vigilstream.simulation.response import BLOCK_S, BLOCKS, PatientResponse

START = 1_767_571_200.0  # a Monday 00:00 UTC
DAY = 86_400.0


def responder(seed: int = 5, index: int = 3) -> PatientResponse:
    patient = make_patient(np.random.default_rng([seed, index]), index)
    return PatientResponse.of(seed, patient, START)


def eager(r: PatientResponse) -> PatientResponse:
    """The same patient, certain to follow walks at first (to look at what following does)."""
    return replace(r, follow={"walk": 1.0, "break_sedentary": 1.0},
                   block=dict.fromkeys(r.block, 1.0), received=[])  # fmt: skip


def test_the_chance_fades_with_weeks_in_the_programme_and_with_recent_suggestions() -> None:
    r = responder()
    first = r.chance("walk", "midday", START + 12 * 3600, ill=False)
    weeks_later = r.chance("walk", "midday", START + 28 * DAY + 12 * 3600, ill=False)
    assert 0 < weeks_later < first
    # Half-life: after exactly one half-life the chance has halved (same block, no receipts).
    at = START + r.half_life_days * DAY
    halved = r.chance("walk", "midday", START, ill=False) / 2
    assert r.chance("walk", "midday", at, ill=False) == pytest.approx(halved)
    r.received = [START + 11 * 3600, START + 11.5 * 3600]  # two suggestions this morning
    assert r.chance("walk", "midday", START + 12 * 3600, ill=False) < first


def test_nobody_follows_an_exertion_suggestion_when_ill_and_rest_adds_no_steps() -> None:
    r = eager(responder())
    ill = r.respond("walk", "midday", START + 12 * 3600, START + 12 * 3600 + 60, ill=True,
                    minutes=10)  # fmt: skip
    assert not ill.followed and ill.blocks == []
    rest = r.respond("rest", "midday", START + 15 * 3600, START + 15 * 3600, ill=False,
                     minutes=0)  # fmt: skip
    assert not rest.followed and rest.blocks == []


def test_a_followed_walk_is_steps_after_the_patient_received_it_on_the_device_grid() -> None:
    r = eager(responder())
    decided, received = START + 12 * 3600, START + 12 * 3600 + 600  # delivered 10 min late
    walk = r.respond("walk", "midday", decided, received, ill=False, minutes=10)
    assert walk.followed
    assert all((a - START) % BLOCK_S == 0 and b - a == BLOCK_S for a, b, _ in walk.blocks)
    assert walk.blocks[0][1] > received + 120  # begins 2-20 min after it arrived
    total = sum(steps for *_, steps in walk.blocks)
    assert 7 * 80 <= total <= 13 * 125  # 10 min ±30 % at a walking cadence of 80-125/min


def test_policies_compared_on_a_patient_share_the_random_numbers_of_a_decision() -> None:
    a, b = eager(responder()), eager(responder())
    t = START + 3 * DAY + 12 * 3600
    assert a.respond("walk", "midday", t, t, False, 10) == b.respond("walk", "midday", t, t,
                                                                       False, 10)  # fmt: skip
    other = responder(seed=6)
    assert (other.follow, other.block) != (responder().follow, responder().block)


def test_expected_steps_is_the_mean_of_what_the_patient_does() -> None:
    r = replace(responder(), follow={"walk": 0.3, "break_sedentary": 0.5},
                block=dict.fromkeys(BLOCKS, 1.0))  # fmt: skip
    for arm in ("walk", "break_sedentary"):
        totals = []
        for i in range(3000):  # each decision its own random numbers, nothing received before
            t = START + 12 * 3600 + i
            fresh = replace(r, received=[])
            totals.append(sum(s for *_, s in fresh.respond(arm, "midday", t, t, False, 10).blocks))
        expected = r.expected_steps(arm, "midday", START + 12 * 3600, minutes=10)
        assert expected > 0
        assert np.mean(totals) == pytest.approx(expected, rel=0.08)
    assert r.expected_steps("rest", "midday", START, minutes=10) == 0.0


def test_the_oracle_sends_the_arm_a_patient_follows_most_and_nothing_not_worth_a_message(
) -> None:  # fmt: skip
    from vigilstream.evaluation.suggestions import ORACLE_MIN_STEPS, Oracle

    t = START + 2 * DAY + 12 * 3600
    no_walker = replace(responder(), follow={"walk": 0.01, "break_sedentary": 0.6},
                        block=dict.fromkeys(BLOCKS, 1.0), received=[])  # fmt: skip
    oracle = Oracle(no_walker, lambda _: "midday", walk_minutes=10)
    choice = oracle.choose(["walk", "break_sedentary", "none"], "midday", seed=f"p-1|{t:.3f}")
    assert choice.arm == "break_sedentary" and choice.propensity == 1.0
    walker = replace(no_walker, follow={"walk": 0.6, "break_sedentary": 0.6})
    walk = Oracle(walker, lambda _: "midday", 10).choose(
        ["walk", "break_sedentary", "none"], "midday", seed=f"p-1|{t:.3f}"
    )
    assert walk.arm == "walk"
    # Only a walk offered, to a patient who hardly walks: not worth a message.
    assert no_walker.expected_steps("walk", "midday", t, 10) < ORACLE_MIN_STEPS
    assert oracle.choose(["walk", "none"], "midday", seed=f"p-1|{t:.3f}").arm == "none"
