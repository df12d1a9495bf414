"""Hyperparameters are arguments: a policy changes behaviour without an edit."""

from __future__ import annotations

from online_models.baselines import BaselinePolicy
from online_models.context import ContextPolicy
from online_models.deviation import DeviationPolicy
from online_models.policy import ModelPolicy
from online_models.state import PatientState

T0 = 1_800_000_000.0


def hr(state: PatientState, n: int, value: float = 62.0) -> None:
    for i in range(n):
        state.update({"signal": "heart_rate", "value": value + i % 3, "ts": T0 + i * 60,
                      "end_ts": None}, now=T0 + i * 60)  # fmt: skip


def test_baseline_warm_up_is_a_policy() -> None:
    quick = ModelPolicy(baselines=BaselinePolicy(warm_n=5, warm_span_s=0.0))
    default, fast = PatientState("p-1"), PatientState("p-2", policy=quick)
    hr(default, 10)
    hr(fast, 10)
    assert default.baselines.summary()["heart_rate/rest"]["warm"] is False
    assert fast.baselines.summary()["heart_rate/rest"]["warm"] is True


def test_context_and_deviation_thresholds_are_policies() -> None:
    lazy = ModelPolicy(context=ContextPolicy(active_cadence=200.0))
    walk = {"signal": "steps", "value": 300, "ts": T0, "end_ts": T0 + 300}
    default, other = PatientState("p-1"), PatientState("p-2", policy=lazy)
    default.update(walk, now=T0)
    other.update(walk, now=T0)
    assert (default.context(T0 + 400), other.context(T0 + 400)) == ("active", "rest")
    strict = PatientState("p-3", policy=ModelPolicy(deviation=DeviationPolicy(z_sustained=99)))
    assert strict.deviation.policy.z_sustained == 99


def test_a_restored_state_keeps_the_policy_it_is_given() -> None:
    quick = ModelPolicy(baselines=BaselinePolicy(warm_n=5, warm_span_s=0.0))
    state = PatientState("p-1", policy=quick)
    hr(state, 10)
    restored, _ = PatientState.from_bytes(state.to_bytes(), "p-1", policy=quick)
    assert restored.baselines.summary() == state.baselines.summary()
