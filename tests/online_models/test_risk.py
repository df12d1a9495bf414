"""The risk model's per-event estimate: its probability and explanation are the pipeline's own."""

from __future__ import annotations

import random

from online_models.risk import RiskModel

FEATURES = ("news2_total", "deviation_score", "anomaly", "hr_trend")


def test_the_estimate_is_the_pipelines_prediction_and_explanation() -> None:
    rng = random.Random(7)
    model = RiskModel()
    for _ in range(300):
        x = {f: rng.gauss(0, 1 + i) for i, f in enumerate(FEATURES)}
        model.learn_one(x, x["news2_total"] + x["deviation_score"] > 1.5)
    probabilities = set()
    for _ in range(50):
        x = {f: rng.gauss(0, 2) for f in FEATURES if rng.random() < 0.9}
        estimate = model.estimate(x)
        assert estimate.probability == round(model.predict_one(x), 4)
        assert estimate.top_features == model.top_features(x)
        probabilities.add(estimate.probability)
    assert len(probabilities) > 40  # the model discriminates: the comparison is not of constants
