"""The suggestion bandit: it learns a patient's best arm, keeps every arm possible, decides the
same way on a replay, and survives a checkpoint."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from online_models.suggestions.bandit import ARMS, BanditPolicy, SuggestionBandit, _rng, normals
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


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 700))
def test_normals_are_the_draws_random_gauss_would_give(seed: int, n: int) -> None:
    """``normals`` replaces a ``gauss`` call per draw (a third of a decision's cost): it must
    return exactly those numbers, odd counts included, or decisions would change on upgrade."""
    a, b = random.Random(seed), random.Random(seed)
    assert normals(a, n) == [b.gauss(0.0, 1.0) for _ in range(n)]
    assert a.random() == b.random()  # and leave the generator where gauss's pairs leave it


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ARMS), min_size=1, max_size=5, unique=True),
       st.lists(st.tuples(st.sampled_from(ARMS), st.floats(-500, 500)), max_size=40),
       st.text(max_size=12))  # fmt: skip
def test_choices_are_those_of_a_gauss_call_per_arm_and_draw(
    eligible: list[str], rewards: list[tuple[str, float]], seed: str
) -> None:
    """The propensities and the arm are those of the textbook Monte Carlo (one ``gauss`` per
    arm and draw, the first best arm winning): checkpoints and evaluations stay the same."""
    bandit = SuggestionBandit()
    for arm, reward in rewards:
        bandit.learn(arm, "morning", reward)
    rng = _rng(seed)
    posteriors = [bandit.posterior(arm, "morning") for arm in eligible]
    wins = [0] * len(eligible)
    for _ in range(bandit.policy.draws):
        sample = [rng.gauss(m, s) for m, s in posteriors]
        wins[sample.index(max(sample))] += 1
    floor = min(bandit.policy.floor, 1.0 / len(eligible))
    expected = {arm: floor + (1.0 - floor * len(eligible)) * won / bandit.policy.draws
                for arm, won in zip(eligible, wins, strict=True)}  # fmt: skip
    choice = bandit.choose(eligible, "morning", seed=seed)
    assert choice.propensities == expected
    pick, acc, arm = rng.random(), 0.0, eligible[-1]
    for candidate in eligible:
        acc += expected[candidate]
        if pick < acc:
            arm = candidate
            break
    assert choice.arm == arm


def test_the_baseline_predicts_the_reward_of_sending_nothing_from_the_steps_before() -> None:
    """After a quiet half hour "after minus before" is large whatever was suggested, after a
    walk it is small: the population's baseline learns that from decisions that sent nothing,
    its residual spread becomes the bandit's noise, and it survives a checkpoint."""
    prior, noise = PopulationPrior(), random.Random(5)
    assert prior.expected("midday", 600.0) == 0.0 and prior.noise("midday") is None
    for _ in range(2000):
        before = noise.uniform(0, 1200)
        prior.learn_baseline("midday", before, 150 + 0.3 * before + noise.gauss(0, 200))
    assert prior.expected("midday", 0.0) == pytest.approx(150, abs=25)
    assert prior.expected("midday", 1000.0) == pytest.approx(150 - 700, abs=40)
    assert prior.noise("midday") == pytest.approx(200, rel=0.1)
    assert prior.expected("morning", 1000.0) == 0.0  # another context: nothing learned yet
    copy = PopulationPrior()
    copy.load(json.loads(json.dumps(prior.to_dict())))
    assert copy.expected("midday", 321.0) == prior.expected("midday", 321.0)


def test_a_quieter_context_teaches_the_bandit_more_per_reward() -> None:
    """Rewards where steps vary little (mornings, in the evaluation's cohorts) move the
    posterior more than rewards where they vary a lot."""
    prior = PopulationPrior()
    for i in range(200):
        prior.learn_baseline("morning", 0.0, 100.0 + (-100.0 if i % 2 else 100.0))
        prior.learn_baseline("midday", 0.0, 100.0 + (-600.0 if i % 2 else 600.0))
    bandit = SuggestionBandit()
    for _ in range(10):
        bandit.learn("walk", "morning", 200.0)
        bandit.learn("walk", "midday", 200.0)
    quiet, busy = (bandit.posterior("walk", block, prior)[1] for block in ("morning", "midday"))
    assert quiet < busy / 2
