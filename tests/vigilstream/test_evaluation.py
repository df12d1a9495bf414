"""The evaluator: metrics on hand-built cases with known answers, and a whole small run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigilstream.cli import main
from vigilstream.evaluation.baselines import Rearm, out_of_limits
from vigilstream.evaluation.results import EARLY_TARGETS
from vigilstream.evaluation.scoring import (
    Alert,
    Truth,
    bootstrap,
    fairness,
    match,
    percentiles,
    score,
)

H = 3600.0
FEVER = Truth("a", "fever", "hours", onset=10 * H, critical=16 * H, end=30 * H)
HF = Truth("b", "hf_decompensation", "days", onset=100 * H, critical=220 * H, end=300 * H)


def test_metrics_of_a_hand_built_case() -> None:
    alerts = [
        Alert("a", "deterioration", 13 * H),  # detects the fever, 3 h ahead
        Alert("a", "baseline_deviation", 25 * H),  # during recovery: true, not a detection
        Alert("a", "deterioration", 40 * H),  # after the end: false
        Alert("b", "trend", 180 * H),  # detects the decompensation 40 h ahead
        Alert("b", "battery_low", 50 * H),  # technical: neither true nor false
        Alert("c", "deterioration", 5 * H),  # a patient without episodes: false
    ]
    s = score([FEVER, HF], alerts, patient_days=30)
    assert (s["recall"], s["detected"], s["clinical_alerts"], s["false_alerts"]) == (1.0, 2, 5, 2)
    assert s["precision"] == 0.6 and s["f1"] == 0.75
    assert s["false_alerts_per_patient_day"] == round(2 / 30, 3)
    assert s["alerts_per_patient_day"] == 0.2
    assert s["median_lead_time_h"] == {"hours_scale": 3.0, "days_scale": 40.0}
    seen_only_hf = score([FEVER, HF], alerts[3:], patient_days=30, observable={1})
    assert (seen_only_hf["recall"], seen_only_hf["recall_observable"]) == (0.5, 1.0)
    assert seen_only_hf["observable_episodes"] == 1


def test_detection_window_ends_an_hour_after_the_critical_point() -> None:
    on_time = Alert("a", "deterioration", FEVER.critical + 3600)
    too_late = Alert("a", "deterioration", FEVER.critical + 3601)
    before = Alert("a", "deterioration", FEVER.onset - 1)
    assert match([FEVER], [on_time]) == ({0: -3600.0}, [True])
    assert match([FEVER], [too_late]) == ({}, [True])  # still about the episode, but late
    assert match([FEVER], [before]) == ({}, [False])
    s = score([FEVER], [too_late], patient_days=1)
    assert s["recall"] == 0.0 and s["f1"] == 0.0


def test_fairness_slices_and_the_disparity_over_big_enough_slices() -> None:
    episodes = [Truth(f"f{i}", "fever", "hours", 0, H, 2 * H) for i in range(10)]
    episodes += [Truth(f"m{i}", "fever", "hours", 0, H, 2 * H) for i in range(10)]
    episodes += [Truth("x0", "fever", "hours", 0, H, 2 * H)]
    alerts = [Alert(f"f{i}", "deterioration", 0.5 * H) for i in range(9)]
    alerts += [Alert(f"m{i}", "deterioration", 0.5 * H) for i in range(10)]
    alerts += [Alert("m0", "deterioration", 10 * H)]  # one false alert among the men
    slices = {"sex=F": {f"f{i}" for i in range(10)}, "sex=M": {f"m{i}" for i in range(10)},
              "sex=X": {"x0"}}  # fmt: skip
    fair = fairness(episodes, alerts, slices, days=2)
    assert fair["recall_by_slice"] == {"sex=F": 0.9, "sex=M": 1.0, "sex=X": 0.0}
    assert fair["max_recall_disparity"] == 0.1  # sex=X has 1 episode: too few to count
    assert fair["false_alerts_by_slice"]["sex=M"] == 0.05
    assert fair["slice_sizes"]["sex=X"] == {"patients": 1, "episodes": 1}

    # The same cohort bootstrapped by patient: intervals around the point values, and the sex
    # gap of 0.1 between two slices of 10 episodes is well within what chance gives.
    patients = sorted(set().union(*slices.values()))
    ci = bootstrap(episodes, alerts, patients, slices, reps=300)
    assert ci["recall"]["value"] == round(19 / 21, 3)
    lo, hi = ci["recall"]["ci"]
    assert lo < 19 / 21 <= hi <= 1.0
    gap = ci["recall_gap_by_family"]["sex"]
    assert gap["gap"] == 0.1 and gap["slices"] == ["sex=F", "sex=M"]  # sex=X too small
    assert gap["ci"][0] == 0.0 and gap["ci"][1] >= 0.2
    assert ci["recall_by_slice"]["sex=M"] == [1.0, 1.0]
    assert bootstrap(episodes, alerts, patients, slices, reps=300) == ci  # seeded: reproducible


def test_baselines_rearm_and_limits() -> None:
    r = Rearm(hold_s=1800)
    steps = [(True, 0), (False, 600), (True, 1200), (False, 1300), (False, 3100), (True, 3200)]
    opened = [r.step("p", bad, t) for bad, t in steps]
    assert opened == [True, False, False, False, False, True]
    assert out_of_limits("heart_rate", 121) and not out_of_limits("heart_rate", 120)
    assert out_of_limits("spo2", 89) and out_of_limits("blood_pressure", {"systolic": 85})
    assert out_of_limits("steps", 10_000) is None
    assert percentiles([5, 1, 3]) == {"p50": 3, "p95": 5}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cohort written as docs/spec.md says: one JSONL file (its ground truth beside it)."""
    cohort = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    assert main(["simulate", "--patients", "6", "--days", "6", "--seed", "3", "--out",
                 str(cohort)]) == 0  # fmt: skip
    return cohort


def test_evaluate_json_has_the_spec_shape_and_matches_ingest(small_run: Path, capsys) -> None:
    capsys.readouterr()
    report = small_run.parent / "report"
    assert main(["evaluate", "--input", str(small_run), "--json", "--report", str(report)]) == 0
    result = json.loads(capsys.readouterr().out)
    truth = json.loads(small_run.with_suffix(".truth.json").read_text())
    assert (result["patients"], result["days"], result["seed"]) == (6, 6, 3)
    assert result["episodes"] == len(truth["episodes"])
    for column in (result["system"], *result["baselines"].values()):
        assert {"recall", "precision", "f1", "false_alerts_per_patient_day"} <= set(column)
    assert set(result["baselines"]) == {"news2_only", "population_thresholds"}
    assert {"recall_by_slice", "max_recall_disparity", "false_alerts_by_slice"} <= set(
        result["fairness"])  # fmt: skip
    assert 0 < result["state_bytes"]["p50"] <= result["state_bytes"]["p95"] < 20_000
    assert result["ingest"]["dead_letters"] == truth["counts"]["malformed"]
    assert result["ingest"]["readings"] == truth["counts"]["readings"]
    assert result["speed"]["readings_per_s"] > 0
    pngs = sorted(p.name for p in report.glob("*.png"))
    assert "slices.png" in pngs and "risk-roc-pr.png" in pngs
    assert any(name.startswith("timeline-") for name in pngs)
    page = (report / "index.html").read_text()
    # Real tables carrying the JSON's numbers, and interactive timelines that load no CDN.
    recall = f"<td>{result['system']['recall']:.3f}</td>"
    assert '<table id="detection">' in page and recall in page and "NEWS2" in page
    for kind in result["episodes_by_kind"]["system"]:
        assert f"<td>{kind.replace('_', ' ')}</td>" in page
    timelines = sorted(report.glob("timeline-*.html"))
    assert timelines and (report / "plotly.min.js").is_file()
    assert all('src="plotly.min.js"' in t.read_text() and "cdn." not in t.read_text()
               for t in timelines)  # fmt: skip
    check_suggestions(result["suggestions"])
    check_early_targets(result)


def check_early_targets(result: dict) -> None:
    """Issue #14's targets carry the numbers of the result they judge, and judge them."""
    early = result["early_detection_targets"]
    kinds = result["episodes_by_kind"]["system"]
    assert early["fever_recall"]["value"] == kinds.get("fever", {}).get("recall")
    assert early["hypoxemia_recall"]["value"] == kinds.get("hypoxemia", {}).get("recall")
    false = result["system"]["false_alerts_per_patient_day"]
    assert early["false_alerts_per_patient_day"] == {"target": 0.05, "value": false,
                                                     "met": false <= 0.05}  # fmt: skip
    ratio = result["targets"]["f1_vs_news2_only"]["value"]
    assert early["f1_vs_news2_only"]["met"] is (ratio is not None and ratio >= 1.4)
    gaps = [g["gap"] for g in result["confidence"]["recall_gap_by_family"].values()
            if g["gap"] is not None]  # fmt: skip
    assert early["max_family_recall_gap"]["value"] == (max(gaps) if gaps else None)


def test_the_document_has_a_row_per_target_of_issue_14() -> None:
    from vigilstream.evaluation.document import early_targets_table

    def cohort(seed: int, fever: float, gap: float) -> dict:
        early = {name: {"target": 0.0, "value": fever, "met": fever >= 0.92}
                 for name in EARLY_TARGETS}  # fmt: skip
        early["max_family_recall_gap"] = {"target": 0.05, "value": gap, "met": gap <= 0.05}
        return {"seed": seed, "patients": 200, "days": 28, "early_detection_targets": early}

    lines = early_targets_table([cohort(101, 0.95, 0.1)], cohort(303, 0.9, 0.03))
    assert "seed 101, 200 x 28 d" in lines[0] and "seed 303, 200 x 28 d" in lines[0]
    rows = {line.split(" (target")[0].strip("| "): line for line in lines[2:]}
    assert set(rows) == set(EARLY_TARGETS)
    assert rows["fever_recall"].endswith("| 0.950 ✔ | 0.900 ✘ |")
    assert rows["max_family_recall_gap"].endswith("| 0.100 ✘ | 0.030 ✔ |")


def check_suggestions(section: dict) -> None:
    """Every policy decided at the same points; each comparison did only what it is."""
    policies = section["policies"]
    assert set(policies) == {"learned", "uniform_random", "walk", "break_sedentary", "rest",
                             "sleep_routine", "none", "oracle"}  # fmt: skip
    assert len({p["decisions"] for p in policies.values()}) == 1 and policies["none"]["decisions"]
    assert (
        policies["none"]["sent_per_patient_day"] == 0
        and policies["none"]["extra_steps_per_day"] == 0
    )
    for arm in ("walk", "break_sedentary", "rest", "sleep_routine"):
        assert set(policies[arm]["sent_by_kind"]) <= {arm}
    # The oracle sends only what adds steps, and its ratio is its effect over uniform's.
    assert set(policies["oracle"]["sent_by_kind"]) <= {"walk", "break_sedentary"}
    uniform = policies["uniform_random"]["effect_vs_none"]
    if uniform > 0:
        oracle = round(policies["oracle"]["effect_vs_none"] / uniform, 2)
        assert section["oracle_vs_uniform"] == oracle
    assert section["best_fixed_arm"] in {"walk", "break_sedentary", "rest", "sleep_routine",
                                         "none"}  # fmt: skip
    for name in ("rest", "sleep_routine", "none"):  # nothing asks for exertion
        assert policies[name]["unsafe_exertion"] == 0 and policies[name]["extra_steps_per_day"] == 0
    assert all(p["max_sent_in_a_day"] <= 3 for p in policies.values())
    assert policies["learned"]["sent_per_patient_day"] > 0
    assert set(section["targets"]) == {"learned_vs_uniform", "learned_minus_best_fixed",
                                       "unsafe_exertion", "max_sent_in_a_day"}  # fmt: skip


def test_evaluate_table_names_the_targets(small_run: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["evaluate", "--input", str(small_run)]) == 0
    out = capsys.readouterr().out
    assert "episode recall" in out and "NEWS2>=5 only" in out and "targets (issue #6)" in out
    assert "targets (issue #14" in out and "fever_recall" in out
    assert "suggestions (proximal reward" in out and "learned_vs_uniform" in out
