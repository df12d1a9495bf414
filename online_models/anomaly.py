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

The trees are River's: drawn with the seeded generator exactly as ``HalfSpaceTrees`` draws
them (``make_padded_tree``), held as flat arrays in heap order (node ``i`` has children
``2i+1`` and ``2i+2``) and walked by ``learn_one``/``score_one`` below, which follow
``river.anomaly.hst`` step for step; ``tests/online_models/test_anomaly.py`` holds the scores
and the checkpoint layout equal to River's own ``HalfSpaceTrees``. River's node
objects cost ~135 KB per patient in memory; the arrays cost ~8 KB, which is what lets one
worker hold tens of thousands of patients; drawing them without River's node objects takes
a tenth of the time, which a worker pays for every patient it restores after a rebalance.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import zlib
from array import array
from operator import itemgetter
from typing import Any

# The smoothed vitals of a vector, the rarest on a wrist first (a patient state gives a vector up
# at the first one missing); the trees use them in sorted order (``_ORDER``).
FEATURES = ("spo2", "respiratory_rate", "heart_rate")
LIMITS = {"heart_rate": (30.0, 200.0), "respiratory_rate": (4.0, 45.0), "spo2": (70.0, 100.0)}
N_TREES, HEIGHT, WINDOW = 5, 6, 144
EVERY_S = 300.0
PADDING = 0.15  # River's HalfSpaceTrees
BRANCHES: int = 2**HEIGHT - 1  # per tree
NODES: int = 2 ** (HEIGHT + 1) - 1
SIZE_LIMIT = 0.1 * WINDOW  # River: the walk stops at a node seen less often in the window
MAX_SCORE: int = N_TREES * WINDOW * (2 ** (HEIGHT + 1) - 1)
_ORDER = sorted(FEATURES)  # River builds on the sorted feature names of the first vector


def _grow(rng: random.Random, limits: dict[str, tuple[float, float]], height: int, i: int,
          tree: tuple[list[int], list[float], list[int]]) -> None:  # fmt: skip
    """Node ``i`` and its subtree, drawn as River's ``make_padded_tree`` draws them (the same
    generator calls in the same order: a feature weighted by its range, a padded split point,
    the left subtree, then the right), into (features, thresholds, depth-first order)."""
    features, thresholds, order = tree
    order.append(i)
    if height == 0:
        return
    names = list(limits)
    # rng.choices(names, weights)[0] and rng.uniform(a, b), spelled out as CPython computes
    # them (one random() each), without their per-call overhead: ~300 draws per patient.
    cumulative = list(itertools.accumulate(limits[n][1] - limits[n][0] for n in names))
    on = names[bisect.bisect(cumulative, rng.random() * cumulative[-1], 0, len(names) - 1)]
    low, high = limits[on]
    a, b = low + PADDING * (high - low), high - PADDING * (high - low)
    at = a + (b - a) * rng.random()
    features[i], thresholds[i] = _ORDER.index(on), at
    limits[on] = (low, at)
    _grow(rng, limits, height - 1, 2 * i + 1, tree)
    limits[on] = (at, high)
    _grow(rng, limits, height - 1, 2 * i + 2, tree)
    limits[on] = (low, high)


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
        self.counter = 0
        self.first_window = True
        self.last_ts = -math.inf
        self.score = 0.0
        self.built = False  # the trees are built when first needed, as River builds them

    def _build(self) -> None:
        """The seeded trees (about 1 ms): only for patients whose vitals reach the detector."""
        rng = random.Random(self.seed)
        features: list[int] = []
        thresholds: list[float] = []
        order_of_trees: list[int] = []
        for t in range(N_TREES):
            tree: tuple[list[int], list[float], list[int]] = ([0] * BRANCHES, [0.0] * BRANCHES, [])
            _grow(rng, {f: LIMITS[f] for f in _ORDER}, HEIGHT, 0, tree)
            features += tree[0]
            thresholds += tree[1]
            order_of_trees += [t * NODES + i for i in tree[2]]
        self.dfs = array("H", order_of_trees)  # heap index of each node in River's order
        self.feature = bytes(features)
        self.threshold = array("d", thresholds)
        self.l_mass = array("i", [0]) * (N_TREES * NODES)  # this window's counts
        self.r_mass = array("i", [0]) * (N_TREES * NODES)  # the reference window's
        self.built = True

    def _vector(self, x: dict[str, float]) -> tuple[float, ...]:
        return tuple(x[f] for f in _ORDER)

    def score_one(self, x: dict[str, float]) -> float:
        """River's ``HalfSpaceTrees.score_one``: 0 during the first window, else in [0, 1]."""
        if self.first_window:
            return 0.0
        v, feature, threshold, r_mass = self._vector(x), self.feature, self.threshold, self.r_mass
        score = 0.0
        for t in range(N_TREES):
            b, n, i, depth_pow = t * BRANCHES, t * NODES, 0, 1
            for _ in range(HEIGHT):
                r = r_mass[n + i]
                score += r * depth_pow
                if r < SIZE_LIMIT:
                    break
                i = 2 * i + 1 if v[feature[b + i]] < threshold[b + i] else 2 * i + 2
                depth_pow <<= 1
            else:
                score += r_mass[n + i] * depth_pow
        return 1.0 - score / MAX_SCORE

    def _score_and_learn(self, x: dict[str, float]) -> float:
        """``score_one`` then River's ``HalfSpaceTrees.learn_one`` (count the path, pivot at the
        window's end) in one walk: both follow the same path down each tree, the score reading
        the reference masses until it reaches a node seen too rarely, the learning counting
        every node of it in this window's masses."""
        if not self.built:
            self._build()
        v, feature, threshold = self._vector(x), self.feature, self.threshold
        l_mass, r_mass, scoring = self.l_mass, self.r_mass, not self.first_window
        score = 0.0
        for t in range(N_TREES):
            b, n, i, depth_pow, open_ = t * BRANCHES, t * NODES, 0, 1, scoring
            for _ in range(HEIGHT):
                l_mass[n + i] += 1
                if open_:
                    r = r_mass[n + i]
                    score += r * depth_pow
                    open_ = r >= SIZE_LIMIT
                    depth_pow <<= 1
                i = 2 * i + 1 if v[feature[b + i]] < threshold[b + i] else 2 * i + 2
            l_mass[n + i] += 1
            if open_:
                score += r_mass[n + i] * depth_pow
        self._pivot()
        return 1.0 - score / MAX_SCORE if scoring else 0.0

    def _pivot(self) -> None:
        """One more vector in this window; at its end it becomes the reference window."""
        self.counter += 1
        if self.counter == WINDOW:
            self.r_mass, self.l_mass = self.l_mass, array("i", [0]) * len(self.l_mass)
            self.first_window = False
            self.counter = 0

    def due(self, ts: float) -> bool:
        """Whether a vector at event time ``ts`` would be scored (5 minutes since the last)."""
        return ts - self.last_ts >= EVERY_S

    def learn_one(self, x: dict[str, float], ts: float, learn: bool = True) -> float | None:
        """Score, then learn, one vector when 5 minutes have passed; None when not due."""
        if not self.due(ts):
            return None
        self.last_ts = ts
        self.score = self._score_and_learn(x) if learn else self.score_one(x)
        return self.score

    def to_dict(self) -> dict[str, Any]:
        """River's layout: per tree, the left masses then the right masses in depth-first order
        (empty before the first vector, as River's trees do not exist until then)."""
        learned = self.built and (self.counter or not self.first_window)
        masses = [[*get(self.l_mass), *get(self.r_mass)]
                  for get in _tree_getters(self.dfs)] if learned else []  # fmt: skip
        last = self.last_ts if math.isfinite(self.last_ts) else None
        return {"counter": self.counter, "first": self.first_window, "masses": masses,
                "last": last, "score": round(self.score, 4)}  # fmt: skip

    def _trees(self) -> list[array[int]]:
        return [self.dfs[t * NODES : (t + 1) * NODES] for t in range(N_TREES)]

    def load(self, data: dict[str, Any]) -> None:
        if data["masses"]:
            if not self.built:
                self._build()
            for nodes, masses in zip(self._trees(), data["masses"], strict=True):
                half = len(nodes)
                for k, left, right in zip(nodes, masses[:half], masses[half:], strict=True):
                    self.l_mass[k], self.r_mass[k] = left, right
        self.counter, self.first_window = data["counter"], data["first"]
        self.last_ts = data["last"] if data["last"] is not None else -math.inf
        self.score = data["score"]


_GETTERS: dict[bytes, list[itemgetter[Any]]] = {}


def _tree_getters(dfs: array[int]) -> list[itemgetter[Any]]:
    """Per tree, one C call that reads its nodes' masses in River's order (a checkpoint reads
    1,270 of them; indexing each in Python took half the state's serialization). Every tree
    is complete, so every patient's trees share one order: the cache holds one entry."""
    key = dfs.tobytes()
    getters = _GETTERS.get(key)
    if getters is None:
        getters = _GETTERS[key] = [itemgetter(*dfs[t * NODES : (t + 1) * NODES])
                                   for t in range(N_TREES)]  # fmt: skip
    return getters
