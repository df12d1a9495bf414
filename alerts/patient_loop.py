"""One patient's loop, shared by the worker and the evaluator so that what ``vigilstream
evaluate`` scores is exactly what the monitor runs: ``apply_event`` folds one ``vitals.clean``
event in, ``tick`` runs the processing-time checks (device offline, escalation).

Pure: the caller passes processing time ``now`` and keeps the objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from alerts.engine import TECHNICAL, AlertEngine
from alerts.messages import AlertMessage, DeviceState
from online_models.risk import RiskModel
from online_models.state import PatientState
from online_models.suggestions.population import PopulationPrior
from online_models.suggestions.situation import situation
from online_models.suggestions.suggester import Suggestions


@dataclass(frozen=True)
class Applied:
    """What one event did: readings skipped as replays, alert messages raised, and for a
    care-team verdict the seconds from the episode's opening to it (for the ack-latency
    metric, which the caller keeps)."""

    replayed: int = 0
    late: int = 0  # readings older than the alerting horizon: models only (``AlertPolicy``)
    alerts: list[AlertMessage] = field(default_factory=list)
    ack_seconds: float | None = None
    suggestions: Suggestions = field(default_factory=Suggestions)


def apply_event(doc: dict[str, Any], state: PatientState, engine: AlertEngine,
                model: RiskModel, now: float,
                population: PopulationPrior | None = None) -> Applied:  # fmt: skip
    """Fold one ``vitals.clean`` event into a patient.

    The event is a reading, a batch of readings, an outcome (labels for the risk model) or a
    care-team verdict (stops escalation, labels the latest risk snapshot). ``model`` and
    ``population`` (the suggestion bandit's pooled prior) are shared by all patients.
    """
    verdict = doc.get("feedback")
    if verdict is not None:
        episode = engine.acknowledge(verdict["alert_id"], verdict["verdict"])
        if episode is None:
            return Applied()
        if episode.kind not in TECHNICAL and state.snapshots:
            x = state.snapshots.pop()[1]  # the care team's verdict labels the latest snapshot
            model.learn_one(x, verdict["verdict"] == "actionable")
        return Applied(ack_seconds=max(0.0, verdict["at"] - episode.opened_at))
    answer = doc.get("suggestion_feedback")
    if answer is not None:  # the patient's answer to a suggestion: their policy adapts
        state.suggester.feedback(answer["suggestion_id"], answer["response"])
        return Applied()
    outcome = doc.get("outcome")
    if outcome is not None:
        for x, y in state.label(outcome["kind"], outcome["ts"], outcome.get("onset_ts")):
            model.learn_one(x, y)
        return Applied()
    readings = doc.get("readings") or (doc,)
    horizon = now - engine.policy.horizon_s
    replayed = late = 0
    event_ts = -math.inf
    for reading in readings:  # one pass: this runs for every reading
        if not state.update(reading, now):
            replayed += 1
        ts = reading["ts"]
        if ts < horizon:
            late += 1
        if ts > event_ts:
            event_ts = ts
    state.maybe_snapshot(event_ts)
    device: DeviceState = {}
    if "battery" in state.latest:
        device["battery"] = state.latest["battery"][0]
    if "worn" in state.latest:
        device["worn"] = state.latest["worn"][0]
    alerts = [] if event_ts < horizon else \
        engine.decide(state.assess(event_ts, model), event_ts, now, device)  # fmt: skip
    state.learning = not engine.open_episode  # an episode is not the new normal
    suggestions = state.suggester.step(
        event_ts, now, state.profile, lambda t: situation(state, engine.status(), t), population,
        still_since=state.phenotype.moved_at,
    )  # fmt: skip
    return Applied(replayed, late, alerts, suggestions=suggestions)


def tick(state: PatientState, engine: AlertEngine, model: RiskModel,
         now: float) -> list[AlertMessage]:  # fmt: skip
    """Processing-time checks of one patient at ``now``: ``device_offline`` when the device has
    been silent for the policy's ``offline_after_s``, then escalation of clinical episodes left
    unacknowledged. The messages explain the latest data the patient sent (the assessment at
    their last event time), not an empty present."""
    worn = state.worn()
    offline = engine.offline_due(state.received_at, now, worn)
    if not (offline or engine.open_episode):
        return []
    assessment = state.assess(state.last_event_ts(default=now), model)
    out: list[AlertMessage] = []
    if offline:
        out += engine.check_offline(assessment, state.received_at, now, worn)
    if engine.open_episode:
        out += engine.escalate(assessment, now)
    return out
