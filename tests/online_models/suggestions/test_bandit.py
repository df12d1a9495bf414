"""The suggestion bandit: it learns a patient's best arm, keeps every arm possible, decides the
same way on a replay, and survives a checkpoint."""

from __future__ import annotations

import json
import math
import random

import pytest

from online_models.suggestions.bandit import ARMS, BanditPolicy, SuggestionBandit
from online_models.suggestions.population import PopulationPrior


def simulate(bandit: SuggestionBandit, effect: dict[str, float], n: int, seed: int) -> list[str]:
    """Decisions against a patient whose true mean reward per arm is ``effect``."""
    noise = random.Random(seed)
    chosen = []
    for t in range(n):
        choice = bandit.choose(list(ARMS), "morning", seed=f"p-1|{t}")
        bandit.learn(choice.arm, "morning", effect[choice.arm] + noise.gauss(0, 400))
        chosen.append(choice.arm)
    return chosen


def test_it_learns_that_this_patient_responds_to_breaks_not_walks() -> None:
    effect = {"walk": -50.0, "break_sedentary": 300.0, "rest": 0.0, "sleep_routine": 0.0,
              "none": 0.0}  # fmt: skip
    chosen = simulate(SuggestionBandit(), effect, 150, seed=3)
    late = chosen[-50:]
    assert late.count("break_sedentary") > 25  # mostly the arm that works for this patient
    assert late.count("walk") < late.count("break_sedentary")


def test_every_eligible_arm_keeps_the_floor_and_propensities_sum_to_one() -> None:
    bandit = SuggestionBandit()
    for _ in range(200):
        bandit.learn("walk", "evening", 900.0)  # walk is by far the best here
    choice = bandit.choose(list(ARMS), "evening", seed="p-1|x")
    assert min(choice.propensities.values()) >= BanditPolicy().floor
    assert abs(sum(choice.propensities.values()) - 1.0) < 1e-9
    assert choice.propensities["walk"] > 0.7


def test_only_eligible_arms_are_chosen() -> None:
    bandit = SuggestionBandit()
    arms = {bandit.choose(["rest", "none"], "midday", seed=f"s{i}").arm for i in range(50)}
    assert arms <= {"rest", "none"} and arms == {"rest", "none"}


def test_a_replay_decides_the_same_and_a_checkpoint_keeps_the_posterior() -> None:
    bandit = SuggestionBandit()
    for reward in (120.0, 340.0, -20.0):
        bandit.learn("walk", "morning", reward)
    copy = SuggestionBandit()
    copy.load(json.loads(json.dumps(bandit.to_dict())))
    assert copy.posterior("walk", "morning") == bandit.posterior("walk", "morning")
    assert copy.choose(list(ARMS), "morning", "p-9|42") == bandit.choose(list(ARMS), "morning",
                                                                         "p-9|42")  # fmt: skip


def test_a_new_patient_starts_from_the_population_prior() -> None:
    policy = BanditPolicy()
    mean, sd = SuggestionBandit().posterior("walk", "morning")
    assert mean == pytest.approx(35.0)  # the literature, before anyone was seen
    assert sd == pytest.approx(math.hypot(policy.prior_sd, policy.block_sd))
    population = PopulationPrior()
    for _ in range(600):  # other patients walked ~235 steps more after walking suggestions
        population.learn("walk", "morning", 235.0)
        population.learn("break_sedentary", "morning", -15.0)
    newcomer = SuggestionBandit()
    assert newcomer.posterior("walk", "morning", population)[0] == pytest.approx(185.0)
    picks = [newcomer.choose(["walk", "break_sedentary", "none"], "morning", f"n|{i}",
                             population).arm for i in range(40)]  # fmt: skip
    assert picks.count("walk") > 25  # starts from what works for people like them


def test_patients_who_differ_little_make_a_newcomer_explore_less() -> None:
    alike, unknown = PopulationPrior(), PopulationPrior()
    for i in range(600):  # walks add ~60 steps more than breaks, for everyone alike
        for prior in (alike, unknown):
            prior.learn("walk", "midday", 95.0)
            prior.learn("break_sedentary", "midday", 35.0)
        alike.learn("walk", "midday", 95.0, patient=(50, 95.0 + (10 if i % 2 else -10)))
    assert alike.spread("walk") == 25.0 and unknown.spread("walk") is None  # floor of 25 steps
    newcomer = SuggestionBandit()
    arms = ["walk", "break_sedentary"]
    sure = newcomer.choose(arms, "midday", "n|1", alike).propensities["walk"]
    unsure = newcomer.choose(arms, "midday", "n|1", unknown).propensities["walk"]
    assert sure > unsure
