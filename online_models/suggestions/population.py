"""The population prior of the suggestion bandit, learned from every patient's rewards.

One patient gives a few decisions a day and a proximal reward is noisy (the 30 minutes after a
decision minus the 30 before vary by hundreds of steps whatever was suggested), so a policy
that learns from one patient alone barely moves from its prior in a month. HeartSteps pooled
information across people for this reason (Tomkins S, Liao P, Klasnja P, Murphy S,
"IntelligentPooling: practical Thompson sampling for mHealth", Mach Learn 2021;110:2685-727).
Here, empirically Bayesian and simple: the prior mean of an arm in a time-of-day block is the
mean reward of that arm and block over all patients this worker has seen, shrunk towards the
literature value (``BanditPolicy.prior_mean``) with the weight of ``strength`` decisions. Each
patient's posterior then starts from it and moves with their own rewards
(``SuggestionBandit``), so a new patient starts from what works for people like them.

Shared state: the worker keeps one next to the risk model and saves it to Redis with it; a
replay of the same data in the same order decides as the worker did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from online_models.suggestions.bandit import BanditPolicy

__all__ = ["PopulationPrior"]


@dataclass
class PopulationPrior:
    """Pooled reward sums per ``arm/block``: [n, sum]."""

    policy: BanditPolicy = field(default_factory=BanditPolicy)
    strength: float = 200.0  # the literature prior weighs as much as this many decisions
    stats: dict[str, list[float]] = field(default_factory=dict)

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

    def learn(self, arm: str, block: str, reward: float) -> None:
        n, total = self.stats.get(f"{arm}/{block}", (0.0, 0.0))
        self.stats[f"{arm}/{block}"] = [n + 1, total + reward]

    @property
    def decisions(self) -> int:
        return int(sum(n for n, _ in self.stats.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"stats": self.stats}

    def load(self, data: dict[str, Any]) -> None:
        self.stats = {k: list(v) for k, v in data.get("stats", {}).items()}
