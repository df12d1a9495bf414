"""Monitor agent: ``vitals.clean`` -> per-patient online models (``online_models.PatientState``).

One owner per patient (the stream is keyed by patient id). The agent restores, updates and
marks states, keeps hourly risk-feature snapshots, decides alerts (``alerts.engine``) and
publishes them to ``alerts``, and turns outcome events into labelled examples for the shared
risk model. Checkpoints (patients and the risk model) run on a timer,
on partition revocation and at shutdown.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from alerts.engine import AlertEngine, AlertPolicy
from alerts.patient_loop import apply_event
from online_models.risk import RiskModel
from online_models.state import PatientState
from streams.registry import PatientRegistry
from streams.storage import RedisStateStore

if TYPE_CHECKING:
    from streams.app import Application

log = logging.getLogger(__name__)
ESCALATION_CHECK_S = 30.0


class AlertEngines:
    """The alert engine of each patient in memory, kept in step with its state object."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy
        self._engines: dict[str, tuple[PatientState, AlertEngine]] = {}

    def of(self, state: PatientState) -> AlertEngine:
        held = self._engines.get(state.patient_id)
        if held is not None and held[0] is state:
            return held[1]
        engine = AlertEngine(state.patient_id, self.policy)
        engine.load(state.extras.get("alerts", {}))
        self._engines[state.patient_id] = (state, engine)
        return engine

    def open_by_severity(self) -> dict[str, int]:
        counts = dict.fromkeys(("info", "low", "medium", "high"), 0)
        for _, engine in self._engines.values():
            for episode in engine.episodes.values():
                if episode.status != "resolved":
                    counts[episode.severity] += 1
        return counts

    def open_ones(self) -> list[tuple[PatientState, AlertEngine]]:
        return [held for held in self._engines.values() if held[1].open_episode]

    def forget(self, patient_ids: set[str]) -> None:
        for pid in patient_ids:
            self._engines.pop(pid, None)

    def save_into(self, state: PatientState) -> None:
        """Before a checkpoint: the episodes travel in the patient's state."""
        held = self._engines.get(state.patient_id)
        if held is not None and held[0] is state:
            state.extras["alerts"] = held[1].to_dict()


def event_time(alert: dict[str, Any]) -> float:
    return datetime.fromisoformat(alert["event_time"]).timestamp()


def register(application: Application) -> tuple[PatientRegistry, RiskModel]:
    """Attach the monitor agent and its checkpoint hooks."""
    app, settings, metrics = application.faust, application.settings, application.metrics
    engines = AlertEngines(AlertPolicy(escalate_after_s=settings.escalate_after_s,
                                       offline_after_s=settings.offline_after_s,
                                       risk_alerts=settings.risk_alerts))  # fmt: skip
    registry = PatientRegistry(
        RedisStateStore(application.redis, settings.topic_prefix), metrics, engines.save_into
    )
    model = RiskModel()
    model_key = f"{settings.topic_prefix}vigil:risk-model"
    saved_examples = [0]
    profiles = application.profiles
    clean_topic = application.topics.clean.get_topic_name()
    alerts_topic = application.topics.alerts

    @app.agent(application.topics.clean, name="monitor")
    async def monitor(stream: Any) -> None:
        async for event in stream.events():
            doc = orjson.loads(event.value)
            partition, offset = event.message.partition, event.message.offset
            state = await registry.get(doc["patient_id"], partition)
            if state.already_applied(partition, offset):
                metrics.replays_skipped.inc()
                continue
            profile = profiles.get(state.patient_id)
            if profile is not None and profile != state.profile:
                state.set_profile(profile)
            started, n_before, now = time.perf_counter(), state.n_readings, time.time()
            replayed, alerts = apply_event(doc, state, engines.of(state), model, now, metrics)
            state.mark_applied(partition, offset)
            registry.touched(state.patient_id)
            applied = state.n_readings - n_before
            if applied:
                metrics.model_update_seconds.observe((time.perf_counter() - started) / applied)
                metrics.model_updates.inc(applied)
            if replayed:
                metrics.replayed_readings.inc(replayed)
            if "outcome" in doc:
                metrics.outcomes.labels(doc["outcome"]["kind"]).inc()
            if "feedback" in doc:
                metrics.verdicts.labels(doc["feedback"]["verdict"]).inc()
            await publish(alerts, now)

    async def publish(alerts: list[dict[str, Any]], now: float) -> None:
        for alert in alerts:
            key = alert["patient_id"].encode()
            body = orjson.dumps(alert)
            await alerts_topic.send(key=key, value=body)
            for notifier in application.webhooks:
                notifier.offer(body)
            await application.alert_store.record(alert, now)
            metrics.alerts.labels(alert["kind"], alert["severity"]).inc()
            if alert["status"] == "open":
                metrics.event_to_alert.observe(max(0.0, now - event_time(alert)))

    shortest = min(settings.escalate_after_s, settings.offline_after_s)

    @app.timer(interval=min(ESCALATION_CHECK_S, max(1.0, shortest / 4)))
    async def escalate() -> None:
        """Escalation and device-offline checks run on processing time: an unanswered alert or a
        silent device must not wait for data to be noticed."""
        now = time.time()
        for state in list(registry.states.values()):
            engine = engines.of(state)
            if engine.offline_due(state.received_at, now, state.worn()):
                last_ts = max((t for _, t in state.latest.values()), default=now)
                offline = engine.check_offline(
                    state.assess(last_ts, model), state.received_at, now, state.worn()
                )
                registry.touched(state.patient_id)
                await publish(offline, now)
        for state, engine in engines.open_ones():
            last_ts = max((t for _, t in state.latest.values()), default=now)
            escalated = engine.escalate(state.assess(last_ts, model), now)
            if escalated:
                registry.touched(state.patient_id)
                await publish(escalated, now)

    @app.task
    async def restore_risk_model() -> None:
        try:
            blob = await application.redis.get(model_key)
            if blob is not None:
                model.load(orjson.loads(blob))
                saved_examples[0] = model.examples
        except Exception as exc:  # a missing or unreadable model starts afresh
            log.warning("risk model not restored: %s", type(exc).__name__)

    async def save_risk_model() -> None:
        if model.examples != saved_examples[0]:
            await application.redis.set(model_key, orjson.dumps(model.to_dict()))
            saved_examples[0] = model.examples
        for name, value in model.validation.report().items():
            if value is not None:
                metrics.risk_validation.labels(name).set(value)

    @app.timer(interval=settings.checkpoint_interval_s)
    async def checkpoint() -> None:
        started = time.perf_counter()
        if await registry.checkpoint():
            metrics.checkpoint_seconds.observe(time.perf_counter() - started)
        metrics.patients_active.set(len(registry.states))
        for severity, count in engines.open_by_severity().items():
            metrics.open_alerts.labels(severity).set(count)
        try:
            await save_risk_model()
        except Exception as exc:
            log.warning("risk model not saved: %s", type(exc).__name__)
            metrics.checkpoint_failures.inc()

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        before = set(registry.states)
        await registry.release({tp.partition for tp in revoked if tp.topic == clean_topic})
        engines.forget(before - set(registry.states))
        metrics.patients_active.set(len(registry.states))

    @app.on_before_shutdown.connect
    async def on_shutdown(sender: Any, **kwargs: Any) -> None:
        await registry.checkpoint()
        await save_risk_model()

    return registry, model
