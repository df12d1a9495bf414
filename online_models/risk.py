"""Online risk of deterioration: one River model shared across patients, with progressive
validation.

Personalization comes from the features, which are all patient-relative or clinical: NEWS2,
the corroborated personal deviation, each signal's smoothed z against the personal baseline,
and the phenotype's 7-vs-28-day trends (``features``). The model is River's
``StandardScaler | LogisticRegression`` (SGD), learning one labelled example at a time.

Labels (``label_snapshots``): the monitor keeps an hourly feature snapshot per patient for the
last ``HORIZON_S`` (24 h). A deterioration outcome at time T (``deterioration``,
``hospitalization``, ``rapid_response``, ``death``) labels the snapshots within the horizon
before T (or its onset) positive and older ones negative; ``no_event`` and ``recovered`` label
them all negative. Care-team verdicts on alerts arrive as labels the same way (issue #5).

Progressive validation (Blum A, Kalai A, Langford J. "Beating the hold-out: bounds for k-fold
and progressive cross-validation." COLT 1999): every labelled example is first predicted, then
learned, so the running ROC AUC, precision, recall and F1 are out-of-sample estimates.

State is exported as plain numbers (``to_dict`` / ``load``), never pickled.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from river import compose, linear_model, optim, preprocessing

HORIZON_S = 24 * 3600.0
SNAPSHOT_S = 3600.0
POSITIVE = frozenset({"deterioration", "hospitalization", "rapid_response", "death"})
NEGATIVE = frozenset({"no_event", "recovered"})
BINS = 20
MODEL_NAME = "lr-sgd"
ALERT_MIN_PRECISION = 0.9  # of hourly snapshots, before a risk alert may page anyone


def label_snapshots(
    snapshots: list[list[Any]], kind: str, ts: float, onset_ts: float | None = None
) -> tuple[list[tuple[dict[str, float], bool]], list[list[Any]]]:
    """Labelled examples from a patient's snapshots, and the snapshots left unlabelled.

    >>> snaps = [[0.0, {"news2": 1}], [80_000.0, {"news2": 6}], [200_000.0, {"news2": 2}]]
    >>> examples, left = label_snapshots(snaps, "deterioration", ts=100_000.0)
    >>> [y for _, y in examples], len(left)
    ([False, True], 1)
    """
    if kind not in POSITIVE and kind not in NEGATIVE:
        return [], snapshots
    critical = onset_ts if onset_ts is not None else ts
    examples, left = [], []
    for snap_ts, feats in snapshots:
        if snap_ts > ts:
            left.append([snap_ts, feats])  # after the outcome: not about this one
        elif kind in POSITIVE:
            examples.append((feats, critical - HORIZON_S <= snap_ts <= critical))
        else:
            examples.append((feats, False))
    return examples, left


def features(news2: Any, deviation: Any, deviation_signals: dict[str, float],
             trends: dict[str, dict[str, float | None]]) -> dict[str, float]:  # fmt: skip
    """The model's inputs from one assessment (absent values are simply left out)."""
    out: dict[str, float] = {
        "news2_total": float(news2.total),
        "news2_params": float(len(news2.subscores)),
        "news2_red_flag": float(news2.red_flag),
        "deviation": float(deviation.score),
        "corroborated": float(deviation.corroborated),
    }
    for signal, z in deviation_signals.items():
        out[f"z_{signal}"] = z
    for feature in ("resting_hr", "hrv", "sleep_min"):
        delta = trends.get(feature, {}).get("delta")
        if delta is not None:
            out[f"trend_{feature}"] = float(delta)
    steps = trends.get("steps", {})
    steps_delta, steps_mean = steps.get("delta"), steps.get("mean_28d")
    if steps_delta is not None and steps_mean:
        out["trend_steps_rel"] = float(steps_delta) / float(steps_mean)
    return out


class ProgressiveValidation:
    """Running out-of-sample ROC AUC (from score histograms), precision, recall and F1."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.cm: Counter[str] = Counter()  # tp, fp, fn, tn
        self.hist: dict[bool, list[int]] = {True: [0] * BINS, False: [0] * BINS}

    def learn_one(self, p: float, y: bool) -> None:
        predicted = p >= self.threshold
        self.cm[("t" if predicted == y else "f") + ("p" if predicted else "n")] += 1
        self.hist[y][min(BINS - 1, int(p * BINS))] += 1

    def report(self) -> dict[str, float | None]:
        tp, fp, fn = self.cm["tp"], self.cm["fp"], self.cm["fn"]
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = (2 * precision * recall / (precision + recall)
              if precision and recall else None)  # fmt: skip
        return {"roc_auc": self.roc_auc(), "precision": precision, "recall": recall, "f1": f1,
                "examples": float(sum(self.cm.values()))}  # fmt: skip

    def threshold_for(self, min_precision: float, min_positives: int = 20) -> float | None:
        """The lowest probability (a bin edge) above which the out-of-sample precision is at
        least ``min_precision`` with ``min_positives`` true positives; None when none is.

        >>> v = ProgressiveValidation()
        >>> for p, y in [(0.95, True)] * 30 + [(0.9, False)] * 5 + [(0.6, False)] * 50:
        ...     v.learn_one(p, y)
        >>> v.threshold_for(0.8)   # nothing between 0.65 and 0.9, so from 0.65 on
        0.65
        >>> v.threshold_for(0.99)
        0.95
        """
        pos = neg = 0
        best = None
        for b in range(BINS - 1, -1, -1):
            pos, neg = pos + self.hist[True][b], neg + self.hist[False][b]
            if pos >= min_positives and pos / (pos + neg) >= min_precision:
                best = b / BINS
        return best

    def roc_auc(self) -> float | None:
        """P(score of a positive > score of a negative), ties counted half (Mann-Whitney)."""
        pos, neg = self.hist[True], self.hist[False]
        n_pos, n_neg = sum(pos), sum(neg)
        if not n_pos or not n_neg:
            return None
        below = 0
        wins = 0.0
        for b in range(BINS):
            wins += pos[b] * (below + neg[b] / 2)
            below += neg[b]
        return wins / (n_pos * n_neg)

    def to_dict(self) -> dict[str, Any]:
        return {"cm": dict(self.cm), "pos": self.hist[True], "neg": self.hist[False]}

    def load(self, data: dict[str, Any]) -> None:
        self.cm = Counter(data["cm"])
        self.hist = {True: list(data["pos"]), False: list(data["neg"])}


@dataclass(frozen=True)
class RiskEstimate:
    """One patient's risk from the shared model: the probability, what pushes it up, and from
    which probability the model's own out-of-sample precision allows a risk alert (None: not
    yet). ``examples`` is how many labels the model has learned from."""

    probability: float
    model_version: str
    top_features: list[str]
    alert_threshold: float | None
    examples: int

    def as_dict(self) -> dict[str, Any]:
        """The ``risk`` part of an alert's explanation and of the patient view, as the
        contract's alert schema has it (the alert threshold is the engine's business)."""
        return {"probability": self.probability, "model_version": self.model_version,
                "top_features": self.top_features}  # fmt: skip


class RiskModel:
    """Shared online logistic model of deterioration within ``HORIZON_S``.

    >>> model = RiskModel()
    >>> for i in range(200):
    ...     model.learn_one({"news2_total": float(i % 10)}, i % 10 >= 6)
    >>> model.predict_one({"news2_total": 9.0}) > 0.5 > model.predict_one({"news2_total": 1.0})
    True
    """

    def __init__(self, learning_rate: float = 0.05) -> None:
        self.learning_rate = learning_rate
        self.pipeline = self._new_pipeline()
        self.validation = ProgressiveValidation()
        self.examples = 0
        self._threshold: tuple[int, float | None] = (-1, None)

    def _new_pipeline(self) -> compose.Pipeline:
        return preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(self.learning_rate), l2=1e-4
        )

    @property
    def version(self) -> str:
        return f"{MODEL_NAME}-{self.examples}"

    def alert_threshold(self, min_precision: float = ALERT_MIN_PRECISION) -> float | None:
        """The probability from which a risk alert may open: where the model's own
        out-of-sample (progressive) precision reaches ``min_precision``; None while it does not,
        so a poorly discriminating model pages nobody. Cached per number of examples."""
        if self._threshold[0] != self.examples:
            self._threshold = (self.examples, self.validation.threshold_for(min_precision))
        return self._threshold[1]

    def estimate(self, x: dict[str, float]) -> RiskEstimate:
        """The risk of one patient now, with what explains it and the model's alert threshold.

        Asked at every event: ``x`` is standardized once for both the probability (the
        pipeline's own prediction is exactly this: scaler, then the logistic model) and the
        explanation."""
        scaled = self.pipeline["StandardScaler"].transform_one(x)
        proba = self.pipeline["LogisticRegression"].predict_proba_one(scaled).get(True, 0.0)
        return RiskEstimate(
            probability=round(float(proba), 4), model_version=self.version,
            top_features=self._top_features(scaled), alert_threshold=self.alert_threshold(),
            examples=self.examples,
        )  # fmt: skip

    def predict_one(self, x: dict[str, float]) -> float:
        return float(self.pipeline.predict_proba_one(x).get(True, 0.0))

    def learn_one(self, x: dict[str, float], y: bool) -> None:
        self.validation.learn_one(self.predict_one(x), y)
        self.pipeline.learn_one(x, y)
        self.examples += 1

    def top_features(self, x: dict[str, float], k: int = 3) -> list[str]:
        """The features pushing this prediction up most (weight x standardized value)."""
        return self._top_features(self.pipeline["StandardScaler"].transform_one(x), k)

    def _top_features(self, scaled: dict[str, float], k: int = 3) -> list[str]:
        weights = self.pipeline["LogisticRegression"].weights
        contributions = {f: weights.get(f, 0.0) * v for f, v in scaled.items()}
        ranked = sorted(contributions, key=contributions.__getitem__, reverse=True)
        return [f for f in ranked[:k] if contributions[f] > 0]

    def to_dict(self) -> dict[str, Any]:
        scaler, lr = self.pipeline["StandardScaler"], self.pipeline["LogisticRegression"]
        return {
            "examples": self.examples,
            "scaler": {"counts": dict(scaler.counts), "means": dict(scaler.means),
                       "vars": dict(scaler.vars)},
            "weights": dict(lr.weights), "intercept": lr.intercept,
            "sgd_iterations": lr.optimizer.n_iterations,
            "validation": self.validation.to_dict(),
        }  # fmt: skip

    def load(self, data: dict[str, Any]) -> None:
        self.pipeline = self._new_pipeline()
        scaler, lr = self.pipeline["StandardScaler"], self.pipeline["LogisticRegression"]
        scaler.counts = Counter(data["scaler"]["counts"])
        scaler.means = defaultdict(float, data["scaler"]["means"])
        scaler.vars = defaultdict(float, data["scaler"]["vars"])
        for feature, weight in data["weights"].items():
            lr._weights[feature] = weight
        lr.intercept = data["intercept"]
        lr.optimizer.n_iterations = data["sgd_iterations"]
        self.validation.load(data["validation"])
        self.examples = data["examples"]


def finite(x: dict[str, float]) -> dict[str, float]:
    """Drop non-finite inputs, which would poison SGD."""
    return {k: v for k, v in x.items() if math.isfinite(v)}
