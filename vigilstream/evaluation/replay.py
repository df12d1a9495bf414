"""Replay a cohort through the worker's core, in delivery order, with the baselines beside it.

Per message on ``vitals.raw``: ``Ingestor.ingest`` (validation, units, plausibility, clock,
consent, duplicates) with the delivery time as processing time, then ``clean_events``, then
``apply_event`` per patient event, exactly as the ingest and monitor agents do. ``patients``
messages set profiles (and consent), ``outcomes`` label the shared risk model. Device-offline
and escalation checks (``patient_loop.tick``) run every 5 minutes of delivery time, like the
worker's timer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from alerts.engine import AlertEngine, AlertPolicy
from alerts.messages import AlertMessage
from alerts.patient_loop import apply_event, tick
from online_models.policy import ModelPolicy
from online_models.risk import RiskModel
from online_models.state import PatientState
from online_models.suggestions.population import PopulationPrior
from streams.dedupe import DuplicateFilter
from streams.fold import clean_events
from streams.normalize import Ingestor, IngestPolicy
from vigilstream.evaluation.baselines import NEWS2_TRIGGER, Rearm, out_of_limits
from vigilstream.evaluation.scoring import DETECTION_GRACE_S
from vigilstream.evaluation.suggestions import SuggestionTrial
from vigilstream.progress import Progress
from vigilstream.simulation.recording import Cohort

OFFLINE_CHECK_S = 300.0
TRACED_SIGNALS = ("heart_rate", "respiratory_rate", "spo2", "body_temperature")


@dataclass(frozen=True)
class Opening:
    """An alert as the evaluation sees it: who, what, and the event time it opened at."""

    patient_id: str
    kind: str
    ts: float
    severity: str = ""
    alert_id: str = ""
    summary: str = ""


@dataclass
class Trace:
    """A patient's vitals and resting heart-rate baseline over time, for the report's plots."""

    vitals: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    baseline: list[tuple[float, float, float]] = field(default_factory=list)  # ts, mean, sd


@dataclass
class Replay:
    system: list[Opening] = field(default_factory=list)
    news2_only: list[Opening] = field(default_factory=list)
    thresholds: list[Opening] = field(default_factory=list)
    readings: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    events: int = 0
    seconds: float = 0.0
    state_bytes: list[int] = field(default_factory=list)
    risk_model: RiskModel = field(default_factory=RiskModel)
    traces: dict[str, Trace] = field(default_factory=dict)
    # Readings of each episode (by index) from its onset to its critical point that arrived in
    # time to detect it: an episode with none was unobservable (device off, phone offline).
    observed: Counter[int] = field(default_factory=Counter)
    suggestions: dict[str, Any] = field(default_factory=dict)  # the trial's result
    states: dict[str, PatientState] = field(default_factory=dict)  # every patient at the end


def replay(
    cohort: Cohort,
    traced: set[str] | None = None,
    progress: bool | None = None,
    model_policy: ModelPolicy | None = None,
    alert_policy: AlertPolicy | None = None,
    trial: SuggestionTrial | None = None,
) -> Replay:
    """Run every message of the cohort through the core; see the module doc. The policies are
    the models' and the alert engine's hyperparameters (defaults: the worker's); ``trial``
    compares suggestion policies beside the patients' own (``suggestions``)."""
    out = Replay()
    traced = traced or set()
    out.traces = {pid: Trace() for pid in traced}
    windows: dict[str, list[tuple[int, float, float]]] = {}  # pid -> (episode, onset, due)
    for i, e in enumerate(cohort.episodes):
        windows.setdefault(e.patient_id, []).append((i, e.onset, e.critical))
    consent: dict[str, bool | None] = {}
    ingestor = Ingestor(IngestPolicy(), DuplicateFilter(), consent.get)
    states: dict[str, PatientState] = {}
    engines: dict[str, AlertEngine] = {}
    model, population = out.risk_model, PopulationPrior()
    news2_rearm, limit_rearm = Rearm(), Rearm()
    next_offline_check = -1.0
    started = time.perf_counter()

    def patient(pid: str) -> tuple[PatientState, AlertEngine]:
        state = states.get(pid)
        if state is None:
            state = states[pid] = PatientState(pid, policy=model_policy)
            engines[pid] = AlertEngine(pid, alert_policy)
        return state, engines[pid]

    def record(alerts: list[AlertMessage]) -> None:
        for a in alerts:
            if a["status"] == "open":
                ts = _epoch(a["event_time"])
                out.system.append(
                    Opening(
                        a["patient_id"], a["kind"], ts, a["severity"], a["alert_id"], a["summary"]
                    )
                )

    with Progress(len(cohort.messages), "evaluating", enabled=progress) as bar:
        for n, message in enumerate(cohort.messages):
            if n and n % 2000 == 0:
                bar.update(2000)
            now = message.at
            if now >= next_offline_check:
                for pid, state in states.items():
                    record(tick(state, engines[pid], model, now))
                next_offline_check = now + OFFLINE_CHECK_S
            if message.topic == "patients":
                profile = orjson.loads(message.value)
                consent[profile["patient_id"]] = profile.get("consent")
                patient(profile["patient_id"])[0].set_profile(profile)
                continue
            if message.topic == "outcomes":
                outcome = orjson.loads(message.value)
                state, engine = patient(outcome["patient_id"])
                apply_event({"outcome": outcome}, state, engine, model, now, population)
                continue
            result = ingestor.ingest(message.value, now)
            out.rejected.update(r.reason for r in result.rejections)
            out.duplicates += result.duplicates
            for pid, doc in clean_events(result.readings):
                state, engine = patient(pid)
                readings = doc.get("readings") or (doc,)
                out.readings += len(readings)
                out.events += 1
                for i, onset, critical in windows.get(pid, ()):
                    if now <= critical + DETECTION_GRACE_S:
                        out.observed[i] += sum(onset <= r["ts"] <= critical for r in readings)
                for r in readings:
                    bad = out_of_limits(r["signal"], r["value"])
                    if bad is not None and limit_rearm.step(f"{pid}|{r['signal']}", bad, r["ts"]):
                        out.thresholds.append(Opening(pid, "population_threshold", r["ts"]))
                if trial is not None:
                    trial.before(pid, readings, state)
                applied = apply_event(doc, state, engine, model, now, population)
                record(applied.alerts)
                if trial is not None:
                    trial.after(pid, readings, state, engine, applied.suggestions, now)
                event_ts = max(r["ts"] for r in readings)
                if news2_rearm.step(pid, state.news2(event_ts).total >= NEWS2_TRIGGER, event_ts):
                    out.news2_only.append(Opening(pid, "news2", event_ts))
                if pid in traced:
                    _trace(out.traces[pid], state, readings, event_ts)
        bar.update(len(cohort.messages) - bar.done)
    # Core speed: the comparison policies' parallel worlds are the evaluation's, not the core's.
    out.seconds = time.perf_counter() - started - (trial.seconds if trial is not None else 0.0)
    if trial is not None:
        out.suggestions = trial.result(states)
    for pid, state in states.items():
        state.extras["alerts"] = engines[pid].to_dict()
        out.state_bytes.append(len(state.to_bytes()))
    out.states = states
    return out


def _trace(trace: Trace, state: PatientState, readings: Any, event_ts: float) -> None:
    for r in readings:
        if r["signal"] in TRACED_SIGNALS:
            trace.vitals.setdefault(r["signal"], []).append((r["ts"], float(r["value"])))
    _, ref = state.baselines.z("heart_rate", 0.0, "rest")
    trace.baseline.append((event_ts, ref.mean, ref.sd))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
