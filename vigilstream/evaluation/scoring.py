"""Match alerts to ground-truth episodes and compute the evaluation's numbers.

Matching rules (also in EVALUATION.md):

- Clinical alerts are the openings of ``deterioration``, ``baseline_deviation``, ``risk`` and
  ``trend`` episodes (an ``updated`` or re-opened message of the same alert is not a new alert);
  technical ones (``battery_low``, ``not_worn``, ``device_offline``) only count in
  ``alerts_per_patient_day``.
- An episode is *detected* when one of its patient's clinical alerts opens between its onset and
  ``DETECTION_GRACE_S`` (1 h) after its critical point. Lead time = critical point minus the first
  such opening (negative when it came in the grace hour).
- A clinical alert is *true* when it opens between the onset and the end (recovery) of one of its
  patient's episodes; otherwise it is a false alert. Precision = true / all clinical alerts.
- Recall = detected / episodes; F1 = 2PR / (P + R).
- Rates are per patient-day of the cohort.
- An episode is *observable* when at least ``MIN_OBSERVED`` readings from its onset to its
  critical point arrived by the end of its detection window; ``recall_observable`` is the recall
  among those (the others fell into charging, off-wrist time or phone-offline gaps).
- Fairness: recall and false-alert rate per slice (sex, age band, condition); the disparity is the
  largest recall difference between slices that have at least ``MIN_SLICE_EPISODES`` episodes.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CLINICAL = frozenset(
    {"deterioration", "baseline_deviation", "risk", "trend", "news2", "population_threshold"}
)
DETECTION_GRACE_S = 3600.0
MIN_SLICE_EPISODES = 10
MIN_OBSERVED = 3


@dataclass(frozen=True)
class Truth:
    """One ground-truth episode as the scorer needs it."""

    patient_id: str
    kind: str
    scale: str
    onset: float
    critical: float
    end: float


@dataclass(frozen=True)
class Alert:
    patient_id: str
    kind: str
    ts: float


def _by_patient(items: Iterable[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(item.patient_id, []).append(item)
    return out


def match(episodes: Sequence[Truth], alerts: Sequence[Any]) -> tuple[dict[int, float], list[bool]]:
    """(lead time in seconds of each detected episode by index, is-true flag of each clinical
    alert in the order given)."""
    episodes_of = _by_patient(episodes)
    index = {id(e): i for i, e in enumerate(episodes)}
    leads: dict[int, float] = {}
    flags: list[bool] = []
    for a in alerts:
        if a.kind not in CLINICAL:
            continue
        mine = episodes_of.get(a.patient_id, [])
        flags.append(any(e.onset <= a.ts <= e.end for e in mine))
        for e in mine:
            if e.onset <= a.ts <= e.critical + DETECTION_GRACE_S:
                i = index[id(e)]
                leads[i] = max(leads.get(i, -float("inf")), e.critical - a.ts)
    return leads, flags


def score(
    episodes: Sequence[Truth],
    alerts: Sequence[Any],
    patient_days: float,
    observable: set[int] | None = None,
) -> dict[str, Any]:
    """Recall, precision, F1, lead times and alert rates of one detector.

    >>> eps = [Truth("p", "fever", "hours", 0, 7200, 20000)]
    >>> s = score(eps, [Alert("p", "deterioration", 3600), Alert("p", "deterioration", 90000)],
    ...           patient_days=2)
    >>> s["recall"], s["precision"], s["false_alerts_per_patient_day"], s["median_lead_time_h"]
    (1.0, 0.5, 0.5, {'hours_scale': 1.0, 'days_scale': None})
    """
    leads, flags = match(episodes, alerts)
    n_clinical = len(flags)
    true = sum(flags)
    recall = len(leads) / len(episodes) if episodes else None
    precision = true / n_clinical if n_clinical else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision and recall
        else 0.0
        if episodes
        else None
    )
    by_scale: dict[str, list[float]] = {"hours": [], "days": []}
    for i, lead in leads.items():
        by_scale[episodes[i].scale].append(lead / 3600.0)
    return {
        "recall": _r(recall),
        "precision": _r(precision),
        "f1": _r(f1),
        "false_alerts_per_patient_day": _r((n_clinical - true) / patient_days),
        "alerts_per_patient_day": _r(len(alerts) / patient_days),
        "clinical_alerts_per_patient_day": _r(n_clinical / patient_days),
        "median_lead_time_h": {
            f"{s}_scale": _r(statistics.median(v)) if v else None for s, v in by_scale.items()
        },
        "episodes": len(episodes),
        "detected": len(leads),
        **_observable(leads, observable),
        "clinical_alerts": n_clinical,
        "false_alerts": n_clinical - true,
    }


def _observable(leads: dict[int, float], observable: set[int] | None) -> dict[str, Any]:
    """Recall among the episodes whose data arrived in time to be seen at all."""
    if observable is None:
        return {}
    found = sum(i in leads for i in observable)
    return {
        "observable_episodes": len(observable),
        "recall_observable": _r(found / len(observable)) if observable else None,
    }


def by_kind(episodes: Sequence[Truth], alerts: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Recall and median lead time per episode kind."""
    leads, _ = match(episodes, alerts)
    out = {}
    for kind in sorted({e.kind for e in episodes}):
        idx = [i for i, e in enumerate(episodes) if e.kind == kind]
        found = [leads[i] / 3600.0 for i in idx if i in leads]
        out[kind] = {
            "episodes": len(idx),
            "recall": _r(len(found) / len(idx)),
            "median_lead_time_h": _r(statistics.median(found)) if found else None,
        }
    return out


def fairness(
    episodes: Sequence[Truth], alerts: Sequence[Any], slices: dict[str, set[str]], days: float
) -> dict[str, Any]:
    """Recall and false alerts per patient-day per slice (``slices``: name -> patient ids)."""
    recall, false, sizes = {}, {}, {}
    for name, members in slices.items():
        eps = [e for e in episodes if e.patient_id in members]
        mine = [a for a in alerts if a.patient_id in members]
        s = score(eps, mine, max(len(members) * days, 1e-9))
        recall[name], false[name] = s["recall"], s["false_alerts_per_patient_day"]
        sizes[name] = {"patients": len(members), "episodes": len(eps)}
    counted = [
        r
        for name, r in recall.items()
        if r is not None and sizes[name]["episodes"] >= MIN_SLICE_EPISODES
    ]
    return {
        "recall_by_slice": recall,
        "max_recall_disparity": _r(max(counted) - min(counted)) if counted else None,
        "false_alerts_by_slice": false,
        "slice_sizes": sizes,
        "min_slice_episodes": MIN_SLICE_EPISODES,
    }


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95)) -> dict[str, int]:
    """Nearest-rank percentiles.

    >>> percentiles([1, 2, 3, 4, 100])
    {'p50': 3, 'p95': 100}
    """
    ordered = sorted(values)
    out = {}
    for q in qs:
        rank = max(1, -(-q * len(ordered) // 100))
        out[f"p{q}"] = int(ordered[rank - 1]) if ordered else 0
    return out


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


BOOTSTRAP_REPS = 400
BOOTSTRAP_SEED = 20261128  # fixed, so a document regenerated from the same cohort is the same


@dataclass
class _PatientTally:
    """What one patient contributes to the detection numbers (the bootstrap's unit)."""

    episodes: int = 0
    detected: int = 0
    clinical: int = 0
    true: int = 0
    leads_h: tuple[float, ...] = ()  # hours-scale lead times of its detected episodes


def _tallies(episodes: Sequence[Truth], alerts: Sequence[Any],
             patients: Iterable[str]) -> dict[str, _PatientTally]:  # fmt: skip
    leads, flags = match(episodes, alerts)
    out = {pid: _PatientTally() for pid in patients}
    for i, e in enumerate(episodes):
        t = out.setdefault(e.patient_id, _PatientTally())
        t.episodes += 1
        if i in leads:
            t.detected += 1
            if e.scale == "hours":
                t.leads_h += (leads[i] / 3600.0,)
    clinical = [a for a in alerts if a.kind in CLINICAL]
    for a, true in zip(clinical, flags, strict=True):
        t = out.setdefault(a.patient_id, _PatientTally())
        t.clinical += 1
        t.true += true
    return out


def _stats(sample: Sequence[_PatientTally]) -> dict[str, float | None]:
    episodes = sum(t.episodes for t in sample)
    clinical = sum(t.clinical for t in sample)
    recall = sum(t.detected for t in sample) / episodes if episodes else None
    precision = sum(t.true for t in sample) / clinical if clinical else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    leads = [x for t in sample for x in t.leads_h]
    lead = statistics.median(leads) if leads else None
    return {"recall": recall, "precision": precision, "f1": f1,
            "median_lead_time_hours_scale_h": lead}  # fmt: skip


def _interval(values: list[float]) -> list[float] | None:
    """The 2.5th and 97.5th percentiles (percentile bootstrap; Efron & Tibshirani 1993)."""
    if not values:
        return None
    ordered = sorted(values)
    lo = ordered[int(0.025 * (len(ordered) - 1))]
    hi = ordered[round(0.975 * (len(ordered) - 1))]
    return [round(lo, 3), round(hi, 3)]


def bootstrap(episodes: Sequence[Truth], alerts: Sequence[Any], patients: Sequence[str],
              slices: dict[str, set[str]], reps: int = BOOTSTRAP_REPS,
              seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:  # fmt: skip
    """95 % confidence intervals by resampling *patients* with replacement (a cluster bootstrap:
    a patient's episodes and alerts are not independent of each other; Field & Welsh 2007).

    Intervals for recall, precision, F1 and the hours-scale median lead time of the cohort, the
    recall of every slice, and per slice family (``sex``, ``age``, ...) the largest recall gap
    between its slices with at least ``MIN_SLICE_EPISODES`` episodes — each replicate resamples
    every slice's own patients, so a slice keeps its size.

    >>> eps = [Truth(f"p{i}", "fever", "hours", 0, 7200, 9000) for i in range(20)]
    >>> found = [Alert(f"p{i}", "deterioration", 3600) for i in range(15)]
    >>> ci = bootstrap(eps, found, [f"p{i}" for i in range(20)], {}, reps=200)
    >>> lo, hi = ci["recall"]["ci"]; lo < 0.75 < hi, ci["recall"]["value"]
    (True, 0.75)
    """
    import random

    rng = random.Random(seed)
    tallies = _tallies(episodes, alerts, patients)
    everyone = list(tallies.values())
    members = {name: [tallies[p] for p in sorted(ids) if p in tallies]
               for name, ids in slices.items()}  # fmt: skip
    families: dict[str, list[str]] = {}
    for name, group in members.items():
        if sum(t.episodes for t in group) >= MIN_SLICE_EPISODES:
            families.setdefault(name.split("=")[0], []).append(name)
    draws: dict[str, list[float]] = {}

    def keep(key: str, value: float | None) -> None:
        if value is not None:
            draws.setdefault(key, []).append(value)

    for _ in range(reps):
        for key, value in _stats(rng.choices(everyone, k=len(everyone))).items():
            keep(key, value)
        recalls = {}
        for name, group in members.items():
            if group:
                recalls[name] = _stats(rng.choices(group, k=len(group)))["recall"]
                keep(f"slice:{name}", recalls[name])
        for family, names in families.items():
            seen = [r for n in names if (r := recalls.get(n)) is not None]
            if len(seen) >= 2:
                keep(f"gap:{family}", max(seen) - min(seen))
    point = _stats(everyone)
    gaps = {}
    for family, names in sorted(families.items()):
        rates = {n: _stats(members[n])["recall"] for n in names}
        seen = [r for r in rates.values() if r is not None]
        if len(seen) >= 2:
            gaps[family] = {"gap": _r(max(seen) - min(seen)), "ci": _interval(draws.get(
                f"gap:{family}", [])), "slices": names}  # fmt: skip
    return {
        "reps": reps,
        **{key: {"value": _r(point[key]), "ci": _interval(draws.get(key, []))} for key in point},
        "recall_by_slice": {n: _interval(draws.get(f"slice:{n}", [])) for n in members},
        "recall_gap_by_family": gaps,
    }
