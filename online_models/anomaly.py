"""Multivariate anomaly of a patient's vital signs: River's Half-Space Trees, per patient.

Tan SC, Ting KM, Liu TF. "Fast anomaly detection for streaming data." IJCAI 2011. River's
``anomaly.HalfSpaceTrees`` with small trees (5 trees of height 6) over the smoothed heart
rate, respiration rate and SpO2, with physiological ``limits`` so the random half-spaces split
the clinically meaningful range. One vector every 5 minutes of event time; a reference window
of 144 vectors (12 hours), so the detector knows the patient's own joint pattern (a heart rate
that is normal with a given respiration and SpO2 need not be normal with another) after half a
day. Scores are in [0, 1], higher is more anomalous, 0 until the first window is complete.

The trees are random but seeded per patient, so their structure is rebuilt from the seed and
only the node masses are stored: safe to serialize (plain numbers) and about 2 KB compressed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable
from typing import Any

from river.anomaly import HalfSpaceTrees
from river.tree.padded import make_padded_tree

FEATURES = ("heart_rate", "respiratory_rate", "spo2")
LIMITS = {"heart_rate": (30.0, 200.0), "respiratory_rate": (4.0, 45.0), "spo2": (70.0, 100.0)}
N_TREES, HEIGHT, WINDOW = 5, 6, 144
EVERY_S = 300.0


class VitalsAnomaly:
    """Half-Space Trees over (heart rate, respiration, SpO2) of one patient.

    >>> detector = VitalsAnomaly("p-1")
    >>> for i in range(2 * WINDOW):
    ...     _ = detector.learn_one({"heart_rate": 62.0 + i % 5, "respiratory_rate": 14.0,
    ...                             "spo2": 97.0}, ts=i * EVERY_S)
    >>> normal = detector.score_one({"heart_rate": 64.0, "respiratory_rate": 14.0, "spo2": 97.0})
    >>> odd = detector.score_one({"heart_rate": 150.0, "respiratory_rate": 35.0, "spo2": 85.0})
    >>> odd > normal
    True
    """

    def __init__(self, patient_id: str) -> None:
        self.seed = zlib.crc32(patient_id.encode())
        self.hst = self._new()
        self.last_ts = -math.inf
        self.score = 0.0

    def _new(self) -> HalfSpaceTrees:
        limits: dict[Hashable, tuple[float, float]] = {k: v for k, v in LIMITS.items()}
        return HalfSpaceTrees(n_trees=N_TREES, height=HEIGHT, window_size=WINDOW, limits=limits,
                              seed=self.seed)  # fmt: skip

    def score_one(self, x: dict[str, float]) -> float:
        return float(self.hst.score_one(x))

    def due(self, ts: float) -> bool:
        """Whether a vector at event time ``ts`` would be scored (5 minutes since the last)."""
        return ts - self.last_ts >= EVERY_S

    def learn_one(self, x: dict[str, float], ts: float, learn: bool = True) -> float | None:
        """Score, then learn, one vector when 5 minutes have passed; None when not due."""
        if not self.due(ts):
            return None
        self.last_ts = ts
        self.score = self.score_one(x)
        if learn:
            self.hst.learn_one(x)
        return self.score

    def to_dict(self) -> dict[str, Any]:
        masses = [[n.l_mass for n in nodes] + [n.r_mass for n in nodes]
                  for nodes in self.hst._tree_nodes]  # fmt: skip
        last = self.last_ts if math.isfinite(self.last_ts) else None
        return {"counter": self.hst.counter, "first": self.hst._first_window, "masses": masses,
                "last": last, "score": round(self.score, 4)}  # fmt: skip

    def load(self, data: dict[str, Any]) -> None:
        self.hst = hst = self._new()
        if data["masses"]:
            # Rebuild the seeded trees exactly as HalfSpaceTrees.learn_one builds them.
            hst.trees = [
                make_padded_tree(limits={f: hst.limits[f] for f in sorted(FEATURES)},
                                 height=HEIGHT, padding=0.15, rng=hst.rng, r_mass=0, l_mass=0)
                for _ in range(N_TREES)
            ]  # fmt: skip
            hst._tree_nodes = [list(t.iter_dfs()) for t in hst.trees]
            for nodes, masses in zip(hst._tree_nodes, data["masses"], strict=True):
                half = len(nodes)
                for node, left, right in zip(nodes, masses[:half], masses[half:], strict=True):
                    node.l_mass, node.r_mass = left, right
        hst.counter, hst._first_window = data["counter"], data["first"]
        self.last_ts = data["last"] if data["last"] is not None else -math.inf
        self.score = data["score"]
