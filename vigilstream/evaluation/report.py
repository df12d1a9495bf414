"""The evaluation as a readable table, and as an HTML report: tables (jinja2), PNG plots
(matplotlib) and interactive patient timelines (plotly)."""

from __future__ import annotations

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
    ci = result.get("confidence")
    if ci:
        lines.append("95 % intervals, bootstrap by patient: " + ", ".join(
            f"{k.replace('median_lead_time_hours_scale_h', 'lead (h)')} {ci[k]['ci']}"
            for k in ("recall", "precision", "f1", "median_lead_time_hours_scale_h")))  # fmt: skip
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
    for family, g in (ci or {}).get("recall_gap_by_family", {}).items():
        lines.append(f"  gap within {family}: {_fmt(g['gap'])} (95 % {g['ci']})")
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
    sections = (
        ("targets (issue #6):", "targets"),
        ("targets (issue #14, on seeds nobody tuned on):", "early_detection_targets"),
    )
    for title, key in sections:
        lines.append(title)
        for name, t in result[key].items():
            mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
            lines.append(
                f"  {name:32} target {t['target']:<6} reached {_fmt(t['value']):>8}  {mark}"
            )
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
        f"{_fmt(section['learned_vs_uniform_raw'])}; oracle / uniform (effect) "
        f"{_fmt(section['oracle_vs_uniform'])}; learned - best fixed arm "
        f"({section['best_fixed_arm']}) {_fmt(section['learned_minus_best_fixed'])} steps; "
        f"unsafe by phase {section['policies']['learned']['unsafe_by_phase']}; exertion "
        f"refused at {_fmt(gate['refused_share'])} of well patients' decisions; "
        f"targets {section['zones']}"
    )
    for name, t in section["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append(f"  {name:32} target {t['target']!s:<6} reached {_fmt(t['value']):>8}  {mark}")
    return lines


UNITS = {"heart_rate": "bpm", "spo2": "%", "respiratory_rate": "breaths/min",
         "body_temperature": "°C"}  # fmt: skip
CLINICAL_KINDS = ("deterioration", "baseline_deviation", "trend", "risk")
KIND_COLOURS = {"deterioration": "#b3261e", "baseline_deviation": "#c77700", "trend": "#6a3d9a",
                "risk": "#1f78b4"}  # fmt: skip


def write_html(result: dict[str, Any], run: Replay, cohort: Cohort, directory: Path) -> Path:
    """``index.html``: the results as HTML tables (jinja2), PNG plots with legends and units
    (matplotlib), and an interactive timeline per traced patient (plotly, its script written
    beside the pages, not fetched from a CDN)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from jinja2 import Environment, PackageLoader, select_autoescape

    directory.mkdir(parents=True, exist_ok=True)
    images, interactive = [], []
    for pid, trace in run.traces.items():
        name = f"timeline-{pid}.png"
        _timeline(plt, pid, trace, run, cohort).savefig(directory / name, dpi=90)
        images.append((name, f"Patient {pid}: vitals with units, resting heart-rate baseline "
                       "(mean ± 2 SD), episodes (shaded, critical point dashed) and alert "
                       "openings by kind"))  # fmt: skip
        page = f"timeline-{pid}.html"
        _interactive_timeline(pid, trace, run, cohort).write_html(
            directory / page, include_plotlyjs="directory", full_html=True)  # fmt: skip
        interactive.append((page, pid))
    _slices(plt, result).savefig(directory / "slices.png", dpi=90)
    images.append(("slices.png", "Recall and false alerts per patient-day by slice"))
    _curves(plt, run).savefig(directory / "risk-roc-pr.png", dpi=90)
    images.append(("risk-roc-pr.png", "Risk model, progressive validation: ROC and PR curves"))
    plt.close("all")
    env = Environment(loader=PackageLoader("vigilstream.evaluation"),
                      autoescape=select_autoescape(["html"]))  # fmt: skip
    env.filters["fmt"] = _fmt
    columns = {"vigilstream": result["system"], "NEWS2 ≥ 5 only": result["baselines"]["news2_only"],
               "fixed thresholds": result["baselines"]["population_thresholds"]}  # fmt: skip
    page = directory / "index.html"
    page.write_text(env.get_template("report.html").render(
        result=result, columns=columns, rows=ROWS, images=images, interactive=interactive,
        policy_columns=POLICY_COLUMNS, text=table(result)))  # fmt: skip
    return page


def _interactive_timeline(pid: str, trace: Any, run: Replay, cohort: Cohort) -> Any:
    """One patient's vitals, baseline band, episodes and alert openings, zoomable (plotly)."""
    from datetime import UTC, datetime

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    signals = [s for s in UNITS if s in trace.vitals]
    fig = make_subplots(rows=len(signals), cols=1, shared_xaxes=True, vertical_spacing=0.03)

    def when(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    for row, signal in enumerate(signals, start=1):
        xs, ys = zip(*trace.vitals[signal], strict=True)
        fig.add_trace(go.Scattergl(x=[when(x) for x in xs], y=ys, mode="markers",
                                   marker={"size": 3}, name=signal.replace("_", " ")),
                      row=row, col=1)  # fmt: skip
        fig.update_yaxes(title_text=f"{signal.replace('_', ' ')} ({UNITS[signal]})", row=row,
                         col=1)  # fmt: skip
        if signal == "heart_rate" and trace.baseline:
            bt, bm, bs = zip(*trace.baseline, strict=True)
            times = [when(t) for t in bt]
            upper = [m + 2 * s for m, s in zip(bm, bs, strict=True)]
            lower = [m - 2 * s for m, s in zip(bm, bs, strict=True)]
            band = go.Scatter(
                x=times + times[::-1],
                y=upper + lower[::-1],
                fill="toself",
                line={"width": 0},
                opacity=0.2,
                name="resting HR baseline ± 2 SD",
            )
            fig.add_trace(band, row=row, col=1)
    for e in cohort.episodes:
        if e.patient_id == pid:
            fig.add_vrect(x0=when(e.onset), x1=when(e.end), fillcolor="red", opacity=0.1,
                          line_width=0)  # fmt: skip
            fig.add_vrect(x0=when(e.onset), x1=when(e.end), opacity=0, line_width=0, row=1,
                          col=1, annotation_text=f"{e.kind} episode",
                          annotation_position="top left")  # fmt: skip
            fig.add_vline(x=when(e.critical).timestamp() * 1000, line_dash="dash",
                          line_color="red")  # fmt: skip
    for a in run.system:
        if a.patient_id == pid and a.kind in CLINICAL_KINDS:
            at = when(a.ts).timestamp() * 1000
            fig.add_vline(x=at, line_color=KIND_COLOURS[a.kind])
            fig.add_vline(x=at, line_width=0, row=1, col=1, annotation_textangle=-90,
                          annotation_text=f"{a.kind} ({a.severity})",
                          annotation_font_color=KIND_COLOURS[a.kind])  # fmt: skip
    fig.update_layout(title=f"{pid}: vitals, baseline, episodes and alerts (UTC)",
                      height=230 * len(signals) + 80, showlegend=True)  # fmt: skip
    return fig


def _timeline(plt: Any, pid: str, trace: Any, run: Replay, cohort: Cohort) -> Any:
    signals = [s for s in UNITS if s in trace.vitals]
    fig, axes = plt.subplots(
        len(signals), 1, figsize=(11, 2.0 * len(signals) + 0.6), sharex=True, squeeze=False
    )
    start = cohort.start
    shown: set[str] = set()

    def once(label: str) -> str:  # a legend entry per kind of mark, not per mark
        if label in shown:
            return "_nolegend_"
        shown.add(label)
        return label

    for ax, signal in zip(axes[:, 0], signals, strict=True):
        xs, ys = zip(*trace.vitals[signal], strict=True)
        ax.plot([(x - start) / 86400 for x in xs], ys, ".", ms=1.5, color="tab:blue",
                label=once("reading"))  # fmt: skip
        ax.set_ylabel(f"{signal.replace('_', ' ')}\n({UNITS[signal]})", fontsize=8)
        if signal == "heart_rate" and trace.baseline:
            bt, bm, bs = zip(*trace.baseline, strict=True)
            days = [(t - start) / 86400 for t in bt]
            ax.plot(days, bm, color="tab:green", lw=1, label=once("resting HR baseline"))
            ax.fill_between(
                days,
                [m - 2 * s for m, s in zip(bm, bs, strict=True)],
                [m + 2 * s for m, s in zip(bm, bs, strict=True)],
                color="tab:green",
                alpha=0.15,
                label=once("baseline ± 2 SD"),
            )
        for e in cohort.episodes:
            if e.patient_id == pid:
                ax.axvspan((e.onset - start) / 86400, (e.end - start) / 86400, color="tab:red",
                           alpha=0.12, label=once(f"{e.kind} episode"))  # fmt: skip
                ax.axvline((e.critical - start) / 86400, color="tab:red", ls="--", lw=1,
                           label=once("critical point"))  # fmt: skip
        for a in run.system:
            if a.patient_id == pid and a.kind in CLINICAL_KINDS:
                ax.axvline((a.ts - start) / 86400, color=KIND_COLOURS[a.kind], lw=0.9,
                           label=once(f"alert: {a.kind.replace('_', ' ')}"))  # fmt: skip
    axes[-1, 0].set_xlabel("day of the cohort")
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(pid)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
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


def write_replay_html(result: dict[str, Any], directory: Path) -> Path:
    """``index.html`` of ``vigilstream replay``: per patient, alerts and daily phenotype; the
    detection table when episodes were given."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    directory.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=PackageLoader("vigilstream.evaluation"),
                      autoescape=select_autoescape(["html"]))  # fmt: skip
    env.filters["fmt"] = _fmt
    page = directory / "index.html"
    page.write_text(env.get_template("replay.html").render(result=result, rows=ROWS))
    return page
