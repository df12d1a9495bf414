"""One ``vitals.clean`` event folded into one patient: the loop the worker and the evaluator
share, so what ``vigilstream evaluate`` scores is exactly what the monitor agent runs.

Pure: the caller passes processing time ``now`` and keeps the objects.
"""

from __future__ import annotations

from typing import Any

from alerts.engine import TECHNICAL, AlertEngine
from online_models.risk import RiskModel
from online_models.state import PatientState


def apply_event(
    doc: dict[str, Any], state: PatientState, engine: AlertEngine, model: RiskModel, now: float,
    metrics: Any = None,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Fold one ``vitals.clean`` event into a patient: (readings that were replays, alerts).

    The event is a reading, a batch of readings, an outcome (labels for the risk model) or a
    care-team verdict (stops escalation, labels the latest risk snapshot).
    """
    verdict = doc.get("feedback")
    if verdict is not None:
        episode = engine.acknowledge(verdict["alert_id"], verdict["verdict"])
        if episode is not None and metrics is not None:
            metrics.ack_seconds.observe(max(0.0, verdict["at"] - episode.opened_at))
        if episode is not None and episode.kind not in TECHNICAL and state.snapshots:
            x = state.snapshots.pop()[1]  # the care team's verdict labels the latest snapshot
            model.learn_one(x, verdict["verdict"] == "actionable")
        return 0, []
    outcome = doc.get("outcome")
    if outcome is not None:
        for x, y in state.label(outcome["kind"], outcome["ts"], outcome.get("onset_ts")):
            model.learn_one(x, y)
        return 0, []
    readings = doc.get("readings") or (doc,)
    replayed = sum(not state.update(reading, now) for reading in readings)
    event_ts = max(r["ts"] for r in readings)
    state.maybe_snapshot(event_ts)
    device = {key: state.latest[key][0] for key in ("battery", "worn") if key in state.latest}
    alerts = engine.decide(state.assess(event_ts, model), event_ts, now, device)
    state.learning = not engine.open_episode  # an episode is not the new normal
    return replayed, alerts
