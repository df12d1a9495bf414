"""The evaluation as a readable table, and as an HTML report with PNG plots (matplotlib)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from vigilstream.evaluation.replay import Replay
from vigilstream.simulation.recording import Cohort

ROWS = (
    ("recall", "episode recall"),
    ("recall_observable", "recall, episodes with data in time"),
    ("precision", "precision of clinical alerts"),
    ("f1", "F1"),
    ("false_alerts_per_patient_day", "false clinical alerts / patient-day"),
    ("clinical_alerts_per_patient_day", "clinical alerts / patient-day"),
    ("alerts_per_patient_day", "all alerts / patient-day"),
)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def table(result: dict[str, Any]) -> str:
    """The main results as aligned text."""
    columns = {
        "vigilstream": result["system"],
        **{
            {"news2_only": "NEWS2>=5 only", "population_thresholds": "fixed thresholds"}[k]: v
            for k, v in result["baselines"].items()
        },
    }
    lines = [
        f"cohort: {result['patients']} patients x {result['days']} days, seed "
        f"{result['seed']}, {result['episodes']} episodes"
    ]
    lines.append(f"{'':38}" + "".join(f"{name:>18}" for name in columns))
    for key, label in ROWS:
        lines.append(f"{label:38}" + "".join(f"{_fmt(c.get(key)):>18}" for c in columns.values()))
    for scale in ("hours_scale", "days_scale"):
        label = f"median lead time, {scale.replace('_', '-')} (h)"
        lines.append(
            f"{label:38}"
            + "".join(f"{_fmt(c['median_lead_time_h'][scale]):>18}" for c in columns.values())
        )
    lines.append("")
    lines.append("recall by episode kind (vigilstream / NEWS2 only / fixed thresholds):")
    kinds = result["episodes_by_kind"]
    for kind, row in kinds["system"].items():
        others = [
            kinds[b].get(kind, {}).get("recall") for b in ("news2_only", "population_thresholds")
        ]
        lines.append(
            f"  {kind:20} n={row['episodes']:<4} {_fmt(row['recall'])} / "
            f"{_fmt(others[0])} / {_fmt(others[1])}   lead {_fmt(row['median_lead_time_h'])} h"
        )
    fair = result["fairness"]
    lines.append("")
    lines.append(
        f"fairness (slices with >= {fair['min_slice_episodes']} episodes count for the "
        f"disparity): max recall gap {_fmt(fair['max_recall_disparity'])}"
    )
    for name, recall in fair["recall_by_slice"].items():
        size = fair["slice_sizes"][name]
        lines.append(
            f"  {name:24} patients {size['patients']:<4} episodes {size['episodes']:<4} "
            f"recall {_fmt(recall):>6}  false/pt-day {_fmt(fair['false_alerts_by_slice'][name])}"
        )
    risk = result["risk_model"]
    lines.append("")
    lines.append(
        f"risk model (progressive validation, {int(risk['examples'])} labels): ROC AUC "
        f"{_fmt(risk['roc_auc'])}, precision {_fmt(risk['precision'])}, recall "
        f"{_fmt(risk['recall'])}, F1 {_fmt(risk['f1'])}"
    )
    sb, speed, ingest = result["state_bytes"], result["speed"], result["ingest"]
    lines.append(f"state bytes per patient: p50 {sb['p50']}, p95 {sb['p95']}")
    lines.append(
        f"core speed: {speed['readings']} readings in {speed['seconds']} s = "
        f"{speed['readings_per_s']} readings/s (one core, ingest + models + alerts)"
    )
    lines.append(
        f"ingest: duplicates {ingest['duplicates']}, dead letters {ingest['dead_letters']} "
        f"(simulator's malformed share {ingest['expected_malformed']})"
    )
    lines += ["", *suggestion_lines(result["suggestions"])]
    lines.append("")
    lines.append("targets (issue #6):")
    for name, t in result["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append(f"  {name:32} target {t['target']:<6} reached {_fmt(t['value']):>8}  {mark}")
    return "\n".join(lines)


POLICY_COLUMNS = (
    ("mean_reward", "reward"),
    ("effect_vs_none", "effect"),
    ("extra_steps_per_day", "extra/day"),
    ("sent_per_patient_day", "sent/pt-day"),
    ("followed_share", "followed"),
    ("goal_attainment", "goal met"),
    ("unsafe_exertion", "unsafe"),
)


def suggestion_lines(section: dict[str, Any]) -> list[str]:
    """The suggestions trial: every policy on the same cohort, and the targets of issue #12."""
    lines = ["suggestions (proximal reward = steps 30 min after minus 30 min before a decision):",
             f"  {'policy':16}" + "".join(f"{h:>13}" for _, h in POLICY_COLUMNS)]  # fmt: skip
    for name, row in section["policies"].items():
        lines.append(f"  {name:16}" + "".join(f"{_fmt(row[k]):>13}" for k, _ in POLICY_COLUMNS))
    gate = section["gate_on_well_patients"]
    lines.append(
        f"  learned / uniform (effect) {_fmt(section['learned_vs_uniform'])}, (raw reward) "
        f"{_fmt(section['learned_vs_uniform_raw'])}; learned - best fixed arm "
        f"({section['best_fixed_arm']}) {_fmt(section['learned_minus_best_fixed'])} steps; "
        f"unsafe by phase {section['policies']['learned']['unsafe_by_phase']}; exertion "
        f"refused at {_fmt(gate['refused_share'])} of well patients' decisions; "
        f"targets {section['zones']}"
    )
    for name, t in section["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append(f"  {name:32} target {t['target']!s:<6} reached {_fmt(t['value']):>8}  {mark}")
    return lines


def write_html(result: dict[str, Any], run: Replay, cohort: Cohort, directory: Path) -> Path:
    """``index.html`` with the table and PNG plots: patient timelines, slices, ROC and PR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    images = []
    for pid, trace in run.traces.items():
        name = f"timeline-{pid}.png"
        _timeline(plt, pid, trace, run, cohort).savefig(directory / name, dpi=90)
        images.append(
            (
                name,
                f"Patient {pid}: vitals, resting heart-rate baseline (mean ± 2 SD), "
                "episodes (shaded, critical point dashed) and alert openings",
            )
        )
    _slices(plt, result).savefig(directory / "slices.png", dpi=90)
    images.append(("slices.png", "Recall and false alerts per patient-day by slice"))
    _curves(plt, run).savefig(directory / "risk-roc-pr.png", dpi=90)
    images.append(("risk-roc-pr.png", "Risk model, progressive validation: ROC and PR curves"))
    plt.close("all")
    body = [f"<h1>vigilstream evaluation</h1><pre>{html.escape(table(result))}</pre>"]
    body += [
        f"<figure><img src='{n}'><figcaption>{html.escape(c)}</figcaption></figure>"
        for n, c in images
    ]
    page = directory / "index.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>vigilstream evaluation</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "img{max-width:100%}</style>" + "".join(body)
    )
    return page


def _timeline(plt: Any, pid: str, trace: Any, run: Replay, cohort: Cohort) -> Any:
    signals = [
        s
        for s in ("heart_rate", "spo2", "respiratory_rate", "body_temperature")
        if s in trace.vitals
    ]
    fig, axes = plt.subplots(
        len(signals), 1, figsize=(11, 2.0 * len(signals)), sharex=True, squeeze=False
    )
    start = cohort.start
    for ax, signal in zip(axes[:, 0], signals, strict=True):
        xs, ys = zip(*trace.vitals[signal], strict=True)
        ax.plot([(x - start) / 86400 for x in xs], ys, ".", ms=1.5, color="tab:blue")
        ax.set_ylabel(signal.replace("_", " "), fontsize=8)
        if signal == "heart_rate" and trace.baseline:
            bt, bm, bs = zip(*trace.baseline, strict=True)
            days = [(t - start) / 86400 for t in bt]
            ax.plot(days, bm, color="tab:green", lw=1)
            ax.fill_between(
                days,
                [m - 2 * s for m, s in zip(bm, bs, strict=True)],
                [m + 2 * s for m, s in zip(bm, bs, strict=True)],
                color="tab:green",
                alpha=0.15,
            )
        for e in cohort.episodes:
            if e.patient_id == pid:
                ax.axvspan(
                    (e.onset - start) / 86400, (e.end - start) / 86400, color="tab:red", alpha=0.12
                )
                ax.axvline((e.critical - start) / 86400, color="tab:red", ls="--", lw=1)
        for a in run.system:
            if a.patient_id == pid and a.kind in (
                "deterioration",
                "baseline_deviation",
                "trend",
                "risk",
            ):
                ax.axvline((a.ts - start) / 86400, color="black", lw=0.8)
    axes[-1, 0].set_xlabel("day")
    fig.suptitle(pid)
    fig.tight_layout()
    return fig


def _slices(plt: Any, result: dict[str, Any]) -> Any:
    fair = result["fairness"]
    names = list(fair["recall_by_slice"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.barh(names, [fair["recall_by_slice"][n] or 0 for n in names], color="tab:blue")
    a1.set_xlabel("episode recall")
    a1.set_xlim(0, 1)
    a2.barh(names, [fair["false_alerts_by_slice"][n] or 0 for n in names], color="tab:orange")
    a2.set_xlabel("false clinical alerts / patient-day")
    fig.tight_layout()
    return fig


def _curves(plt: Any, run: Replay) -> Any:
    hist = run.risk_model.validation.hist
    pos, neg = hist[True], hist[False]
    n_pos, n_neg = max(sum(pos), 1), max(sum(neg), 1)
    tpr, fpr, prec = [0.0], [0.0], []
    tp = fp = 0
    for b in range(len(pos) - 1, -1, -1):
        tp, fp = tp + pos[b], fp + neg[b]
        tpr.append(tp / n_pos)
        fpr.append(fp / n_neg)
        prec.append(tp / (tp + fp) if tp + fp else 1.0)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    a1.plot(fpr, tpr)
    a1.plot([0, 1], [0, 1], ls=":", color="grey")
    a1.set_xlabel("false positive rate")
    a1.set_ylabel("true positive rate")
    a1.set_title("ROC")
    a2.plot(tpr[1:], prec)
    a2.set_xlabel("recall")
    a2.set_ylabel("precision")
    a2.set_title("precision-recall")
    fig.tight_layout()
    return fig
