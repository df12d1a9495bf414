"""Simulated patients' responses to suggestions: personal, fading, never when ill, paired."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vigilstream.simulation.cohort import make_patient
from vigilstream.simulation.response import BLOCK_S, PatientResponse

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
