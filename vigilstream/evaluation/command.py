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
        Path(markdown).write_text(render([result, *held_out], command, plots))
        print(f"wrote {markdown}", file=sys.stderr)
    print(json.dumps(result) if as_json else table(result))
    if others:
        pool.shutdown(cancel_futures=True)
    return 0


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
