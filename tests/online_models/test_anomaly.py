"""The flat-array Half-Space Trees must score exactly as River's ``HalfSpaceTrees``."""

from __future__ import annotations

import random

from river.anomaly import HalfSpaceTrees

from online_models.anomaly import FEATURES, HEIGHT, LIMITS, N_TREES, WINDOW, VitalsAnomaly


def _river(patient_id: str) -> HalfSpaceTrees:
    return HalfSpaceTrees(n_trees=N_TREES, height=HEIGHT, window_size=WINDOW,
                          limits=dict(LIMITS), seed=VitalsAnomaly(patient_id).seed)  # fmt: skip


def _vitals(rng: random.Random, sick: bool) -> dict[str, float]:
    if sick:
        return {"heart_rate": rng.uniform(110, 190), "respiratory_rate": rng.uniform(22, 44),
                "spo2": rng.uniform(72, 92)}  # fmt: skip
    return {"heart_rate": rng.gauss(66, 6), "respiratory_rate": rng.gauss(15, 2),
            "spo2": min(100.0, rng.gauss(97, 1))}  # fmt: skip


def test_scores_equal_rivers_through_several_windows_and_a_checkpoint() -> None:
    for patient in ("p-1", "ps-9f2c", "bench-000123"):
        rng = random.Random(patient)
        ours, river = VitalsAnomaly(patient), _river(patient)
        for i in range(3 * WINDOW + 17):
            x = _vitals(rng, sick=i % 37 == 0)
            expected = river.score_one(x)
            assert ours.score_one(x) == expected
            assert ours.learn_one(x, ts=i * 300.0) == expected  # scored and learnt in one walk
            river.learn_one(x)
            if i == 2 * WINDOW + 5:  # a checkpoint mid-window, restored into a new object
                restored = VitalsAnomaly(patient)
                restored.load(ours.to_dict())
                ours = restored
        probes = [_vitals(rng, sick=k % 2 == 0) for k in range(50)]
        assert [ours.score_one(x) for x in probes] == [river.score_one(x) for x in probes]
        assert max(ours.score_one(x) for x in probes) > 0.5  # the probes do reach anomalies


def test_a_checkpoint_keeps_rivers_layout() -> None:
    """Per tree: left masses then right masses in River's depth-first node order, so the
    checkpoints written before the flat arrays restore unchanged."""
    ours, river = VitalsAnomaly("p-7"), _river("p-7")
    rng = random.Random(7)
    for i in range(WINDOW + 30):
        x = _vitals(rng, sick=False)
        ours.learn_one(x, ts=i * 300.0)
        river.learn_one(x)
    expected = [[n.l_mass for n in nodes] + [n.r_mass for n in nodes]
                for nodes in river._tree_nodes]  # fmt: skip
    assert ours.to_dict()["masses"] == expected
    assert sorted(FEATURES) == sorted(LIMITS)
