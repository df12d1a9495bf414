"""The population prior of the suggestion bandit, learned from every patient's rewards.

One patient gives a few decisions a day and a proximal reward is noisy (the 30 minutes after a
decision minus the 30 before vary by hundreds of steps whatever was suggested), so a policy
that learns from one patient alone barely moves from its prior in a month. HeartSteps pooled
information across people for this reason (Tomkins S, Liao P, Klasnja P, Murphy S,
"IntelligentPooling: practical Thompson sampling for mHealth", Mach Learn 2021;110:2685-727).
Here, empirically Bayesian and simple: the prior mean of an arm in a time-of-day block is the
mean reward of that arm and block over all patients this worker has seen, shrunk towards the
literature value (``BanditPolicy.prior_mean``) with the weight of ``strength`` decisions. How far
patients spread around it is learned too, by the method of moments: a patient's mean reward on
an arm after n rewards differs from the population's by the true spread plus the noise of n
rewards, so E[(mean - pooled)^2 - noise^2 / n] is the between-patient variance (the variance
components of empirical Bayes; Morris CN, JASA 1983;78:47-55). Each patient's posterior then
starts from it and moves with their own rewards (``SuggestionBandit``): a new patient starts from
what works for people like them, and explores only as widely as people actually differ.

Shared state: the worker keeps one next to the risk model and saves it to Redis with it; a
replay of the same data in the same order decides as the worker did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from online_models.suggestions.bandit import BLOCKS, BanditPolicy

__all__ = ["PopulationPrior"]


@dataclass
class PopulationPrior:
    """Pooled reward sums per ``arm/block``: [n, sum]."""

    policy: BanditPolicy = field(default_factory=BanditPolicy)
    strength: float = 200.0  # the literature prior weighs as much as this many decisions
    stats: dict[str, list[float]] = field(default_factory=dict)
    # arm -> [updates, sum of (patient mean - pooled mean)^2 - noise^2 / n]
    moments: dict[str, list[float]] = field(default_factory=dict)
    min_updates: int = 100  # before this many, the policy's prior_sd
    min_rewards: int = 3  # a patient's mean counts once it holds this many rewards
    spread_bounds: tuple[float, float] = (25.0, 300.0)  # steps

    def mean(self, arm: str, block: str) -> float:
        """The prior mean reward of ``arm`` in ``block`` for any patient.

        >>> prior = PopulationPrior()
        >>> prior.mean("walk", "morning")           # nothing seen yet: the literature
        35.0
        >>> for _ in range(200):
        ...     prior.learn("walk", "morning", 135.0)
        >>> prior.mean("walk", "morning")           # halfway to what the patients showed
        85.0
        """
        n, total = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
        literature = dict(self.policy.prior_mean)[arm]
        return (literature * self.strength + total) / (self.strength + n)

    def learn(self, arm: str, block: str, reward: float,
              patient: tuple[float, float] | None = None) -> None:  # fmt: skip
        """One closed reward window; ``patient`` is that patient's (rewards, mean) on the arm
        over all blocks, for the spread between patients."""
        n, total = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
        self.stats[f"{arm}/{block}"] = [n + 1, total + reward]
        if patient is not None and patient[0] >= self.min_rewards:
            pooled = self.arm_mean(arm)
            excess = (patient[1] - pooled) ** 2 - self.policy.reward_sd**2 / patient[0]
            updates, acc = self.moments.get(arm, (0.0, 0.0))
            self.moments[arm] = [updates + 1, acc + excess]

    def arm_mean(self, arm: str) -> float:
        """The pooled mean reward of ``arm`` over all blocks (shrunk like ``mean``)."""
        n = total = 0.0
        for block in BLOCKS:
            got = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
            n, total = n + got[0], total + got[1]
        literature = dict(self.policy.prior_mean)[arm]
        return (literature * self.strength + total) / (self.strength + n)

    def spread(self, arm: str) -> float | None:
        """The between-patient SD of the arm's mean reward, once estimated (else None).

        >>> prior = PopulationPrior()
        >>> prior.spread("walk") is None
        True
        >>> for i in range(400):                 # patients 80 steps either side, many rewards
        ...     prior.learn("walk", "midday", 35.0, patient=(10_000, 35.0 + (80 if i % 2 else -80)))
        >>> round(prior.spread("walk"))
        80
        """
        updates, acc = self.moments.get(arm, (0.0, 0.0))
        if updates < self.min_updates:
            return None
        low, high = self.spread_bounds
        return float(min(high, max(low, math.sqrt(max(0.0, acc / updates)))))

    @property
    def decisions(self) -> int:
        return int(sum(n for n, _ in self.stats.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"stats": self.stats, "moments": self.moments}

    def load(self, data: dict[str, Any]) -> None:
        self.stats = {k: list(v) for k, v in data.get("stats", {}).items()}
        self.moments = {k: list(v) for k, v in data.get("moments", {}).items()}
