"""Every hyperparameter of the per-patient models in one frozen object.

``ModelPolicy`` bundles the small policies of each component, so an evaluation sweep is a
configuration, not an edit::

    from online_models.policy import ModelPolicy
    from online_models.deviation import DeviationPolicy
    stricter = ModelPolicy(deviation=DeviationPolicy(z_corroborate=3.0))
    replay(cohort, model_policy=stricter)          # vigilstream.evaluation.replay

The alert engine's hyperparameters are ``alerts.engine.AlertPolicy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from online_models.baselines import BaselinePolicy
from online_models.context import ContextPolicy
from online_models.deviation import DeviationPolicy
from online_models.phenotype import PhenotypePolicy
from online_models.suggestions.suggester import SuggesterPolicy

__all__ = [
    "BaselinePolicy",
    "ContextPolicy",
    "DeviationPolicy",
    "ModelPolicy",
    "PhenotypePolicy",
    "SuggesterPolicy",
]


@dataclass(frozen=True)
class ModelPolicy:
    """Hyperparameters of a ``PatientState`` and its components."""

    baselines: BaselinePolicy = field(default_factory=BaselinePolicy)
    deviation: DeviationPolicy = field(default_factory=DeviationPolicy)
    phenotype: PhenotypePolicy = field(default_factory=PhenotypePolicy)
    context: ContextPolicy = field(default_factory=ContextPolicy)
    suggester: SuggesterPolicy = field(default_factory=SuggesterPolicy)
