"""A per-patient policy that learns which suggestion works: Thompson sampling with a floor.

Each arm (``walk``, ``break_sedentary``, ``rest``, ``sleep_routine`` and ``none`` — sending
nothing is a real arm) has a Gaussian posterior over its mean proximal reward (steps in the 30
minutes after a decision minus the 30 before; Klasnja P et al., "Efficacy of contextually
tailored suggestions for physical activity: a micro-randomized optimization trial of
HeartSteps", Ann Behav Med 2019;53:573-82), per time-of-day block. A new patient starts from
the population prior (``prior_mean``), so early decisions are sensible; each reward moves the
patient's own posterior (conjugate normal update with known reward variance; Russo D et al.,
"A Tutorial on Thompson Sampling", Found Trends Mach Learn 2018;11:1-96).

Decisions are randomized with known probabilities, as in a micro-randomized trial: every
eligible arm keeps a propensity of at least ``floor`` (0.05), so each arm's effect stays
estimable and the logged propensities support off-policy evaluation. The propensities of
Thompson sampling are computed by Monte Carlo with a generator seeded by the patient and the
decision's event time, so a replay of the same data decides exactly as the live worker did.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ARMS", "BanditPolicy", "Choice", "Chooser", "FixedArm", "Prior", "SuggestionBandit",
           "UniformRandom", "block_of"]  # fmt: skip

ARMS = ("walk", "break_sedentary", "rest", "sleep_routine", "none")
# Contexts of the posteriors: the time-of-day blocks of scheduled decisions, and "sitting" for
# the decisions an hour of sitting triggers (their steps before are ~0, so their rewards run
# higher whatever is chosen: pooled with the others they would flatter the arms offered there).
BLOCKS = ("morning", "midday", "evening", "sitting")


def block_of(local_hour: float) -> str:
    """The time-of-day block of a local hour.

    >>> block_of(8.5), block_of(12.0), block_of(20.5)
    ('morning', 'midday', 'evening')
    """
    return "morning" if local_hour < 11 else "midday" if local_hour < 17 else "evening"


@dataclass(frozen=True)
class BanditPolicy:
    """Hyperparameters of the suggestion bandit."""

    floor: float = 0.05  # every eligible arm at least this likely (micro-randomized trials)
    # Steps: spread of one proximal reward (measured: ~500 in the evaluation's cohorts, whatever
    # was suggested; walking bouts the patient would have taken anyway dominate it), until the
    # population's baseline measures each block's own spread around it (``PopulationPrior``).
    reward_sd: float = 500.0
    prior_sd: float = 150.0  # steps: how far a patient may be from the population on an arm
    block_sd: float = 75.0  # steps: how far one time of day may be from the patient's others
    # Population prior of the mean proximal reward per arm (HeartSteps: a walking suggestion
    # adds roughly a quarter to the ~150 steps of the following 30 minutes).
    prior_mean: tuple[tuple[str, float], ...] = (
        ("walk", 35.0), ("break_sedentary", 25.0), ("rest", 0.0), ("sleep_routine", 0.0),
        ("none", 0.0),
    )  # fmt: skip
    draws: int = 128  # Monte Carlo draws for the propensities (±4 % at p = 0.5)


@dataclass(frozen=True)
class Choice:
    """A decision: the arm, its propensity, and the propensities of every eligible arm."""

    arm: str
    propensity: float
    propensities: dict[str, float]


class Prior(Protocol):
    """A population prior: the mean reward of an arm in a block for any patient, and how far
    patients spread around it (None: the policy's ``prior_sd``)."""

    def mean(self, arm: str, block: str) -> float: ...

    def spread(self, arm: str) -> float | None: ...

    def noise(self, block: str) -> float | None: ...


class Chooser(Protocol):
    """What a suggester asks of its policy: choose among eligible arms, learn from rewards."""

    def choose(self, eligible: list[str], block: str, seed: str,
               prior: Prior | None = None) -> Choice: ...  # fmt: skip

    def learn(self, arm: str, block: str, reward: float) -> None: ...

    def to_dict(self) -> dict[str, Any]: ...

    def load(self, data: dict[str, Any]) -> None: ...


@dataclass
class SuggestionBandit:
    """One patient's posterior per (arm, block): [n, sum of rewards]."""

    policy: BanditPolicy = field(default_factory=BanditPolicy)
    stats: dict[str, list[float]] = field(default_factory=dict)

    def noise(self, prior: Prior | None = None) -> dict[str, float]:
        """One reward's variance per block: the spread around the population's baseline, once
        fitted (``PopulationPrior.noise``), else the policy's ``reward_sd``."""
        sd = self.policy.reward_sd
        return {b: ((prior.noise(b) if prior is not None else None) or sd) ** 2 for b in BLOCKS}

    def posterior(self, arm: str, block: str, prior: Prior | None = None,
                  noise: dict[str, float] | None = None) -> tuple[float, float]:  # fmt: skip
        """Mean and SD of the arm's mean reward for this patient in this block.

        Two levels, so that one patient's few rewards go further: how the patient differs
        from the prior on this arm (``prior_sd``) is learned from their rewards in the *other*
        blocks, and this block may differ from that by ``block_sd`` more; this block's own
        rewards then update it (normal-normal conjugate updates throughout). ``prior`` (the
        ``PopulationPrior``) gives the prior mean and the spread between patients, else the
        literature's mean and ``prior_sd``. ``noise``: ``self.noise(prior)``, when the caller
        has it already (a decision asks for every eligible arm).

        >>> b = SuggestionBandit()
        >>> for _ in range(30):
        ...     b.learn("walk", "morning", 435.0)        # 400 steps above the prior, mornings
        >>> round(b.posterior("walk", "morning")[0]), round(b.posterior("walk", "evening")[0])
        (344, 327)
        """
        policy = self.policy

        def base(b: str) -> float:
            return prior.mean(arm, b) if prior is not None else dict(policy.prior_mean)[arm]

        noise = noise or self.noise(prior)
        info = residual = 0.0
        for other in BLOCKS:
            if other != block:
                n, total = self.stats.get(f"{arm}/{other}", (0.0, 0.0))
                info += n / noise[other]
                residual += (total - n * base(other)) / noise[other]
        # The patient's offset on this arm, from the other blocks.
        between = (prior.spread(arm) if prior is not None else None) or policy.prior_sd
        precision = 1.0 / between**2 + info
        offset, offset_var = residual / precision, 1.0 / precision
        # This block: prior from the offset, widened, then its own rewards.
        prior_var = offset_var + policy.block_sd**2
        n, total = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
        precision = 1.0 / prior_var + n / noise[block]
        mean = ((base(block) + offset) / prior_var + total / noise[block]) / precision
        return mean, math.sqrt(1.0 / precision)

    def choose(self, eligible: list[str], block: str, seed: str,
               prior: Prior | None = None) -> Choice:  # fmt: skip
        """Thompson sampling over the eligible arms, with the floor; deterministic in ``seed``.

        >>> bandit = SuggestionBandit()
        >>> choice = bandit.choose(["walk", "none"], "morning", seed="p-1|1800000000")
        >>> choice.arm in ("walk", "none"), round(sum(choice.propensities.values()), 6)
        (True, 1.0)
        >>> bandit.choose(["walk", "none"], "morning", seed="p-1|1800000000") == choice
        True
        """
        rng = _rng(seed)
        noise = self.noise(prior)
        posteriors = [self.posterior(arm, block, prior, noise) for arm in eligible]
        wins = [0] * len(eligible)
        draws, k = self.policy.draws, len(eligible)
        z = normals(rng, draws * k)
        for d in range(draws):  # the first best arm of each draw wins it
            best, best_value = 0, -math.inf
            for i, (m, s) in enumerate(posteriors):
                value = m + z[d * k + i] * s
                if value > best_value:
                    best, best_value = i, value
            wins[best] += 1
        floor = min(self.policy.floor, 1.0 / len(eligible))
        free = 1.0 - floor * len(eligible)
        propensities = {arm: floor + free * won / self.policy.draws
                        for arm, won in zip(eligible, wins, strict=True)}  # fmt: skip
        pick, acc = rng.random(), 0.0
        arm = eligible[-1]
        for candidate in eligible:
            acc += propensities[candidate]
            if pick < acc:
                arm = candidate
                break
        return Choice(arm, propensities[arm], propensities)

    def arm_mean(self, arm: str) -> tuple[float, float]:
        """How many rewards the patient gave on ``arm`` (all blocks) and their mean."""
        n = total = 0.0
        for block in BLOCKS:
            got = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
            n, total = n + got[0], total + got[1]
        return n, (total / n if n else 0.0)

    def learn(self, arm: str, block: str, reward: float) -> None:
        """A closed reward window of a decision made with ``arm`` in ``block``."""
        n, total = self.stats.get(f"{arm}/{block}", [0.0, 0.0])
        self.stats[f"{arm}/{block}"] = [n + 1, total + reward]

    def to_dict(self) -> dict[str, Any]:
        return {"stats": self.stats}

    def load(self, data: dict[str, Any]) -> None:
        self.stats = {k: list(v) for k, v in data["stats"].items()}


def normals(rng: random.Random, n: int) -> list[float]:
    """``n`` standard normal draws, the very numbers ``n`` calls of ``rng.gauss(0, 1)`` on a
    fresh generator return (the same Box-Muller pairs, cosine first, as CPython's
    ``random.gauss``), without a Python call per number: Thompson sampling's propensities
    take hundreds per decision.

    >>> a, b = random.Random(7), random.Random(7)
    >>> normals(a, 5) == [b.gauss(0.0, 1.0) for _ in range(5)]
    True
    """
    rand = rng.random
    out: list[float] = []
    two_pi, log, sqrt, cos, sin = math.tau, math.log, math.sqrt, math.cos, math.sin
    for _ in range((n + 1) // 2):
        x2pi = rand() * two_pi
        g2rad = sqrt(-2.0 * log(1.0 - rand()))
        out += (cos(x2pi) * g2rad, sin(x2pi) * g2rad)
    return out[:n]


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


class UniformRandom:
    """Comparison policy: every eligible arm equally likely, learning nothing.

    >>> UniformRandom().choose(["walk", "none"], "morning", seed="s").propensity
    0.5
    """

    def choose(self, eligible: list[str], block: str, seed: str,
               prior: Prior | None = None) -> Choice:  # fmt: skip
        p = 1.0 / len(eligible)
        return Choice(_rng(seed).choice(eligible), p, dict.fromkeys(eligible, p))

    def learn(self, arm: str, block: str, reward: float) -> None:
        """Learns nothing."""

    def to_dict(self) -> dict[str, Any]:
        return {}

    def load(self, data: dict[str, Any]) -> None:
        """Nothing to restore."""


@dataclass(frozen=True)
class FixedArm(UniformRandom):
    """Comparison policy: always ``arm`` when eligible, else nothing.

    >>> FixedArm("walk").choose(["rest", "none"], "evening", seed="s").arm
    'none'
    """

    arm: str = "none"

    def choose(self, eligible: list[str], block: str, seed: str,
               prior: Prior | None = None) -> Choice:  # fmt: skip
        arm = self.arm if self.arm in eligible else "none"
        return Choice(arm, 1.0, {a: float(a == arm) for a in eligible})
