"""The evaluation's result object (docs/spec.md, ``evaluate --json``) and its targets."""

from __future__ import annotations

from typing import Any

from vigilstream.evaluation.replay import Replay, replay
from vigilstream.evaluation.scoring import (
    MIN_OBSERVED,
    Truth,
    bootstrap,
    by_kind,
    fairness,
    percentiles,
    score,
)
from vigilstream.evaluation.suggestions import SuggestionTrial
from vigilstream.simulation.recording import Cohort

TARGETS = {  # issue #6
    "recall": 0.90,
    "false_alerts_per_patient_day": 0.2,
    "f1_vs_news2_only": 1.2,
    "max_recall_disparity": 0.05,
    "lead_time_hours_scale_h": 2.0,
    "lead_time_days_scale_h": 24.0,
}
EARLY_TARGETS = {  # issue #14, on seeds nobody tuned on
    "fever_recall": 0.92,
    "hypoxemia_recall": 0.92,
    "lead_time_hours_scale_h": 2.5,
    "false_alerts_per_patient_day": 0.05,
    "f1_vs_news2_only": 1.4,
    "max_family_recall_gap": 0.05,  # per slice family; measurable on the large cohort only
}
SUGGESTION_TARGETS = {  # issue #12, on cohorts of >= 200 patients x 28 days
    "learned_vs_uniform": 1.3,  # mean proximal reward, learned / uniform random
    "learned_minus_best_fixed": 0.0,  # steps: above every fixed arm
    "unsafe_exertion": 0,  # exertion suggestions during a true episode or an open alert
    "max_sent_in_a_day": 3,  # suggestions sent to one patient on one local day
}


def slices_of(cohort: Cohort) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in cohort.patients:
        for name in (f"sex={p.sex}", f"age={p.age_band}", f"condition={p.condition}",
                     f"skin={p.skin_group}"):  # fmt: skip
            out.setdefault(name, set()).add(p.patient_id)
    return dict(sorted(out.items()))


def evaluate(
    cohort: Cohort,
    progress: bool | None = None,
    traced: set[str] | None = None,
    suggestions: bool = True,
) -> tuple[dict[str, Any], Replay]:
    """Replay and score a cohort: (result object, the replay for plots). ``suggestions``
    False skips the suggestion trial (detection and fairness only, about half the time)."""
    trial = SuggestionTrial(cohort) if suggestions else None
    run = replay(cohort, traced, progress, trial=trial)
    truth = truth_of(cohort)
    result: dict[str, Any] = {
        "patients": len(cohort.patients),
        "days": cohort.days,
        "seed": cohort.seed,
        **detection(truth, run, len(cohort.patients) * cohort.days),
        "fairness": fairness(truth, run.system, slices_of(cohort), cohort.days),
        "confidence": bootstrap(
            truth, run.system, [p.patient_id for p in cohort.patients], slices_of(cohort)
        ),
        "state_bytes": percentiles(run.state_bytes),
        "risk_model": {"examples": run.risk_model.examples, **run.risk_model.validation.report()},
        "suggestions": run.suggestions,
        "speed": {
            "events": run.events,
            "readings": run.readings,
            "seconds": round(run.seconds, 1),
            "readings_per_s": round(run.readings / run.seconds) if run.seconds else None,
        },
    }
    result["fairness"]["kind_by_skin"] = kind_by_skin(truth, run, cohort)
    result["ingest"]["expected_malformed"] = cohort.counts.get("malformed", {})
    result["targets"] = check_targets(result)
    result["early_detection_targets"] = check_early_targets(result)
    if trial is not None:
        result["suggestions"]["targets"] = check_suggestion_targets(result["suggestions"])
    return result, run


def kind_by_skin(truth: list[Truth], run: Replay, cohort: Cohort) -> dict[str, Any]:
    """Recall of each episode kind per skin group: pulse oximetry errs by skin tone, so
    hypoxaemia is the kind to watch (Sjoding et al. 2020)."""
    out: dict[str, Any] = {}
    for name, members in slices_of(cohort).items():
        if name.startswith("skin="):
            mine = [t for t in truth if t.patient_id in members]
            out[name] = by_kind(mine, [a for a in run.system if a.patient_id in members])
    return out


def truth_of(cohort: Cohort) -> list[Truth]:
    return [Truth(e.patient_id, e.kind, e.scale, e.onset, e.critical, e.end)
            for e in cohort.episodes]  # fmt: skip


def detection(truth: list[Truth], run: Replay, patient_days: float) -> dict[str, Any]:
    """How the system, NEWS2 alone and fixed thresholds detect the episodes (``evaluate`` and
    ``replay`` of a program's recordings score alike)."""
    observable = {i for i, n in run.observed.items() if n >= MIN_OBSERVED}
    return {
        "episodes": len(truth),
        "system": score(truth, run.system, patient_days, observable),
        "baselines": {"news2_only": score(truth, run.news2_only, patient_days, observable),
                      "population_thresholds": score(truth, run.thresholds, patient_days,
                                                     observable)},
        "episodes_by_kind": {
            "system": by_kind(truth, run.system),
            "news2_only": by_kind(truth, run.news2_only),
            "population_thresholds": by_kind(truth, run.thresholds),
        },
        "alerts_by_kind": _count_kinds(run),
        "ingest": {"readings": run.readings, "duplicates": run.duplicates,
                   "dead_letters": dict(sorted(run.rejected.items()))},
    }  # fmt: skip


def _count_kinds(run: Replay) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in run.system:
        counts[f"{a.kind}/{a.severity}"] = counts.get(f"{a.kind}/{a.severity}", 0) + 1
    return dict(sorted(counts.items()))


def check_targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue #6: the value reached and whether it is met."""
    system, news2 = result["system"], result["baselines"]["news2_only"]
    lead = system["median_lead_time_h"]
    ratio = (system["f1"] / news2["f1"]) if news2["f1"] else None
    values = {
        "recall": (system["recall"], lambda v: v >= TARGETS["recall"]),
        "false_alerts_per_patient_day": (
            system["false_alerts_per_patient_day"],
            lambda v: v <= TARGETS["false_alerts_per_patient_day"],
        ),
        "f1_vs_news2_only": (
            round(ratio, 2) if ratio is not None else None,
            lambda v: v >= TARGETS["f1_vs_news2_only"],
        ),
        "max_recall_disparity": (
            result["fairness"]["max_recall_disparity"],
            lambda v: v <= TARGETS["max_recall_disparity"],
        ),
        "lead_time_hours_scale_h": (
            lead["hours_scale"],
            lambda v: v >= TARGETS["lead_time_hours_scale_h"],
        ),
        "lead_time_days_scale_h": (
            lead["days_scale"],
            lambda v: v >= TARGETS["lead_time_days_scale_h"],
        ),
    }
    return {
        name: {"target": TARGETS[name], "value": v, "met": None if v is None else ok(v)}
        for name, (v, ok) in values.items()
    }


def check_early_targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue #14 (earlier fever and hypoxaemia, fewer false alerts, fairness
    measured with power): the value reached and whether it is met."""
    kinds, targets = result["episodes_by_kind"]["system"], result["targets"]
    gaps = [g["gap"] for g in result["confidence"]["recall_gap_by_family"].values()]
    known_gaps = [g for g in gaps if g is not None]
    values: dict[str, float | None] = {
        "fever_recall": kinds.get("fever", {}).get("recall"),
        "hypoxemia_recall": kinds.get("hypoxemia", {}).get("recall"),
        "lead_time_hours_scale_h": targets["lead_time_hours_scale_h"]["value"],
        "false_alerts_per_patient_day": result["system"]["false_alerts_per_patient_day"],
        "f1_vs_news2_only": targets["f1_vs_news2_only"]["value"],
        "max_family_recall_gap": max(known_gaps) if known_gaps else None,
    }
    at_most = {"false_alerts_per_patient_day", "max_family_recall_gap"}
    out = {}
    for name, v in values.items():
        target = EARLY_TARGETS[name]
        met = v is not None and (v <= target if name in at_most else v >= target)
        out[name] = {"target": target, "value": v, "met": met}
    return out


def check_suggestion_targets(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of issue #12: the value reached and whether it is met."""
    learned = section["policies"]["learned"]
    values = {
        "learned_vs_uniform": (section["learned_vs_uniform"], lambda v: v >= 1.3),
        "learned_minus_best_fixed": (section["learned_minus_best_fixed"], lambda v: v > 0),
        "unsafe_exertion": (learned["unsafe_exertion"], lambda v: v == 0),
        "max_sent_in_a_day": (learned["max_sent_in_a_day"], lambda v: v <= 3),
    }
    return {
        name: {"target": SUGGESTION_TARGETS[name], "value": v, "met": None if v is None else ok(v)}
        for name, (v, ok) in values.items()
    }
