"""The ``simulate`` and ``evaluate`` commands (argument handling and output)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigilstream.config import Settings


class UsageError(ValueError):
    """A bad option value, reported as one line."""


def parse_start(text: str | None, days: int, to_kafka: bool) -> float:
    """``--start``: an RFC 3339 date-time, ``now`` (the cohort ends now), or the default (a
    fixed date for files, so they are reproducible; ending now when producing to Kafka, so the
    worker's clock checks accept the readings)."""
    from vigilstream.simulation.recording import DEFAULT_START

    if text is None:
        text = "now" if to_kafka else None
    if text is None:
        return DEFAULT_START
    if text == "now":
        return time.time() - days * 86400.0
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--start {text!r} is not an RFC 3339 date-time or 'now'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _check_size(patients: int, days: int) -> None:
    if patients < 1 or days < 1:
        raise UsageError("--patients and --days must be at least 1")


def _files_of(path: Path) -> tuple[Path, Path]:
    from vigilstream.simulation.recording import files_of

    return files_of(path)


def run_simulate(
    settings: Settings,
    patients: int,
    days: int,
    seed: int,
    out: str | None,
    to_kafka: bool,
    rate: float | None,
    start: str | None,
) -> int:
    from vigilstream.simulation import simulate

    _check_size(patients, days)
    if not out and not to_kafka:
        raise UsageError("say where the cohort goes: --out FILE and/or --to-kafka")
    if rate is not None and rate <= 0:
        raise UsageError("--rate must be positive (messages per second)")
    cohort = simulate(seed, patients, days, parse_start(start, days, to_kafka))
    counts = cohort.counts
    print(
        f"simulated {patients} patients x {days} days (seed {seed}): {counts['messages']} "
        f"messages, {counts['readings']} readings, {len(cohort.episodes)} episodes, "
        f"{len(cohort.surprises)} benign surprises, {counts['duplicate_readings']} resent "
        f"readings, {counts['malformed_total']} malformed messages {counts['malformed']}"
    )
    if out:
        cohort.write(Path(out))
        print("wrote {} and {}".format(*_files_of(Path(out))))
    if to_kafka:
        horizon_days = settings.stale_horizon_h / 24
        if days > horizon_days:
            print(
                f"note: readings older than VIGIL_STALE_HORIZON_H={settings.stale_horizon_h:g} "
                "h will be dead-lettered as stale by the worker",
                file=sys.stderr,
            )
        from kafka import KafkaProducer

        from vigilstream.simulation.recording import produce

        producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=20)
        names = {t: settings.topic(t) for t in ("vitals.raw", "patients", "outcomes")}
        try:
            sent = produce(cohort, producer, names, rate)
        finally:
            producer.close()
        print(f"produced {sent} messages to {settings.broker}")
    return 0


def run_evaluate(
    patients: int,
    days: int,
    seed: int,
    source: str | None,
    as_json: bool,
    report: str | None,
    markdown: str | None = None,
    also_seeds: list[int] | None = None,
    traced: int = 4,
    also_days: int | None = None,
    fairness_cohort: tuple[int, int, int] | None = None,
) -> int:
    from vigilstream.evaluation.report import table, write_html
    from vigilstream.evaluation.results import evaluate
    from vigilstream.progress import phase
    from vigilstream.simulation import Cohort, simulate

    if source:
        messages, truth = _files_of(Path(source))
        if not messages.is_file() or not truth.is_file():
            raise UsageError(
                f"{source}: not a cohort (needs {messages.name} and {truth.name} beside it, "
                "from 'vigilstream simulate --out')"
            )
        cohort = Cohort.read(Path(source))
    else:
        _check_size(patients, days)
        cohort = simulate(seed, patients, days)
    others = None
    if also_seeds:  # held-out seeds, evaluated in another process while this one works
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=1)
        if also_days is not None and also_days < 1:
            raise UsageError("--also-days must be at least 1")
        size = (len(cohort.patients), also_days or cohort.days)
        others = [pool.submit(evaluate_seed, s, *size) for s in also_seeds]
    large = None
    if fairness_cohort is not None:  # detection and fairness only, in a process of its own
        from concurrent.futures import ProcessPoolExecutor

        large_pool = ProcessPoolExecutor(max_workers=1)
        large = large_pool.submit(evaluate_detection, *fairness_cohort)
    result, run = evaluate(cohort, traced=_traced(cohort, traced) if report else None)
    if report:
        with phase("writing the report"):
            page = write_html(result, run, cohort, Path(report))
        print(f"report: {page}", file=sys.stderr)
    if markdown:
        from vigilstream.evaluation.document import render

        with phase("evaluating the held-out seeds in another process"):
            held_out = [f.result() for f in others] if others else []
        command = " ".join(["vigilstream", *sys.argv[1:]]) if sys.argv[1:] else "vigilstream"
        plots = None
        if report:
            base = Path(markdown).resolve().parent
            plots = [
                str(png.resolve().relative_to(base))
                if png.resolve().is_relative_to(base)
                else str(png)
                for png in sorted(Path(report).glob("*.png"))
            ]
        with phase("evaluating the large fairness cohort in another process"):
            fair = large.result() if large is not None else None
        Path(markdown).write_text(render([result, *held_out], command, plots, fair))
        print(f"wrote {markdown}", file=sys.stderr)
    print(json.dumps(result) if as_json else table(result))
    if others:
        pool.shutdown(cancel_futures=True)
    return 0


def evaluate_detection(patients: int, days: int, seed: int) -> dict[str, Any]:
    """A large cohort's detection and fairness (no suggestion trial), for EVALUATION.md."""
    from vigilstream.evaluation.results import evaluate
    from vigilstream.simulation import simulate

    return evaluate(simulate(seed, patients, days), progress=False, suggestions=False)[0]


def evaluate_seed(seed: int, patients: int, days: int) -> dict[str, Any]:
    """One more cohort's result (no plots), for the held-out columns of EVALUATION.md."""
    from vigilstream.evaluation.results import evaluate
    from vigilstream.simulation import simulate

    return evaluate(simulate(seed, patients, days), progress=False)[0]


def _traced(cohort: Any, n: int) -> set[str]:
    """Patients to plot: one per episode kind first, then one with benign surprises only."""
    chosen: dict[str, str] = {}
    for e in cohort.episodes:
        chosen.setdefault(e.kind, e.patient_id)
    ids = list(dict.fromkeys(chosen.values()))[: n - 1]
    with_episode = {e.patient_id for e in cohort.episodes}
    calm = [s.patient_id for s in cohort.surprises if s.patient_id not in with_episode]
    return set(ids + calm[:1])


def patient_summary(state: Any, openings: list[Any]) -> dict[str, Any]:
    """One patient of a replayed recording: alerts opened by kind, the daily phenotype per
    local day, and the personal baselines at the end."""
    from collections import Counter

    opened = Counter(a.kind for a in openings)
    days = []
    for index in sorted(state.phenotype.days):
        f = state.phenotype.features_of_day(index)
        days.append({"day": datetime.fromtimestamp(index * 86400, UTC).date().isoformat(),
                     **{k: f.get(k) for k in ("steps", "resting_hr", "sleep_min", "wear_min",
                                              "coverage")}})  # fmt: skip
    return {"readings": state.n_readings, "alerts_opened": dict(sorted(opened.items())),
            "days": days, "baselines": state.baselines.summary()}  # fmt: skip


def run_replay(source: str, episodes: str | None, as_json: bool, report: str | None) -> int:
    """``vigilstream replay``: a program's own recording through the worker's core."""
    from vigilstream.evaluation.recordings import RecordingError, read_episodes, read_recording
    from vigilstream.evaluation.replay import replay
    from vigilstream.evaluation.results import detection, truth_of

    try:
        cohort = read_recording(Path(source))
        if episodes:
            cohort.episodes = read_episodes(Path(episodes))
    except RecordingError as exc:
        raise UsageError(str(exc)) from None
    if not cohort.messages:
        raise UsageError(f"{source}: no messages")
    run = replay(cohort)
    by_patient: dict[str, list[Any]] = {}
    for opening in run.system:
        by_patient.setdefault(opening.patient_id, []).append(opening)
    patients = {pid: patient_summary(state, by_patient.get(pid, []))
                for pid, state in sorted(run.states.items())}  # fmt: skip
    result: dict[str, Any] = {
        "input": source, "messages": len(cohort.messages), "readings": run.readings,
        "duplicates": run.duplicates, "dead_letters": dict(sorted(run.rejected.items())),
        "patients": patients,
    }  # fmt: skip
    if episodes:
        patient_days = sum(len(p["days"]) for p in patients.values())
        result["detection"] = detection(truth_of(cohort), run, patient_days)
    if report:
        from vigilstream.evaluation.report import write_replay_html

        print(f"report: {write_replay_html(result, Path(report))}", file=sys.stderr)
    print(json.dumps(result) if as_json else replay_table(result))
    return 0


def replay_table(result: dict[str, Any]) -> str:
    dead = result["dead_letters"] or "none"
    lines = [f"{result['input']}: {result['messages']} messages, {result['readings']} readings, "
             f"{result['duplicates']} duplicates, dead letters {dead}"]  # fmt: skip
    for pid, p in result["patients"].items():
        opened = ", ".join(f"{k} {v}" for k, v in p["alerts_opened"].items()) or "no alerts"
        lines.append(f"  {pid}: {p['readings']} readings over {len(p['days'])} days; {opened}")
        for d in p["days"]:
            lines.append(f"    {d['day']}  steps {d['steps']}  resting HR {d['resting_hr']}  "
                         f"sleep {d['sleep_min']} min  worn {d['wear_min']} min")  # fmt: skip
    found = result.get("detection")
    if found:
        s = found["system"]
        lines.append(f"episodes {found['episodes']}: recall {s['recall']}, precision "
                     f"{s['precision']}, F1 {s['f1']}, median lead (h) "
                     f"{s['median_lead_time_h']}")  # fmt: skip
    return "\n".join(lines)
