"""Monitor: ``vitals.clean`` -> per-patient online models (``online_models.PatientState``).

One owner per patient (the stream is keyed by patient id). ``Monitor`` restores, updates and
marks states, decides alerts (``alerts.engine``) and publishes them to ``alerts``, and turns
outcome events into labelled examples for the shared risk model. The Faust agent, timers and
rebalance hooks at the bottom only call its methods.

Exactly-once effect per reading: the agent consumes without automatic acknowledgement; an
event is acknowledged (so Faust may commit its offset) only once the checkpoint that holds its
effect has been saved. A crash therefore replays every event whose effect was not saved, and
the offsets each state keeps skip every event whose effect was. Alerts re-derived by a replay
carry the same deterministic ``alert_id``: an open episode continues under its id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from alerts.engine import AlertEngine, AlertPolicy
from alerts.patient_loop import Applied, apply_event, tick
from online_models.policy import ModelPolicy
from online_models.risk import RiskModel
from online_models.state import PatientState
from online_models.suggestions.population import PopulationPrior
from online_models.suggestions.suggester import SuggesterPolicy, Suggestions
from streams.failure import retry_until_done
from streams.registry import PatientRegistry
from streams.storage import RedisStateStore, StateStore

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.app import Application

log = logging.getLogger(__name__)
ESCALATION_CHECK_S = 30.0
# The agent takes the events waiting, up to this many, and handles them as one batch; an event
# that finds none waiting behind it waits at most this long for company.
MONITOR_BATCH = 500
MONITOR_BATCH_WAIT_S = 0.01


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

    def open_by_severity(self) -> tuple[dict[str, int], dict[str, int]]:
        """Open episodes by severity: (all, not yet acknowledged by the care team)."""
        counts = dict.fromkeys(("info", "low", "medium", "high"), 0)
        unacknowledged = dict(counts)
        for _, engine in self._engines.values():
            for episode in engine.episodes.values():
                if episode.status != "resolved":
                    counts[episode.severity] += 1
                    unacknowledged[episode.severity] += not episode.acked
        return counts, unacknowledged

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


class Monitor:
    """The monitor's logic between Faust and the pure core; every part is a method."""

    def __init__(self, application: Application, store: StateStore | None = None) -> None:
        settings = application.settings
        self.application = application
        self.metrics = application.metrics
        self.engines = AlertEngines(AlertPolicy(
            escalate_after_s=settings.escalate_after_s, offline_after_s=settings.offline_after_s,
            risk_alerts=settings.risk_alerts,
            horizon_s=settings.alert_horizon_h * 3600.0))  # fmt: skip
        store = store or RedisStateStore(application.redis, settings.topic_prefix)
        self.registry = PatientRegistry(
            store, self.metrics,
            self.engines.save_into, log_id=application.layout_id("vitals.clean"),
            policy=ModelPolicy(suggester=SuggesterPolicy(
                stale_after_s=settings.suggestion_stale_after_s)),
        )  # fmt: skip
        self.model = RiskModel()
        self.model_key = f"{settings.topic_prefix}vigil:risk-model"
        self.population = PopulationPrior()  # the suggestion bandit's pooled prior
        self.population_key = f"{settings.topic_prefix}vigil:suggestion-prior"
        self.saved_decisions = 0
        self.saved_examples = 0
        self.unacked: list[EventT] = []  # applied, not yet covered by a saved checkpoint
        self.clean_topic = application.topics.clean.get_topic_name()

    # ---------------------------------------------------------------- per event
    async def handle_many(
        self, events: Sequence[EventT], current: Callable[[EventT], bool] = lambda event: True
    ) -> None:
        """Handle a batch of events in order, after restoring every patient they meet for the
        first time in one round trip. ``current`` tells an event the worker still owns from one
        of a partition revoked while it waited in the batch (Faust skips those the same way: the
        partition's new owner handles it)."""
        batch = [(event, orjson.loads(event.value)) for event in events if current(event)]
        await self.registry.restore({doc["patient_id"]: event.message.partition
                                     for event, doc in batch if not doc.get("forget")})  # fmt: skip
        for event, doc in batch:
            if current(event):  # still: a rebalance may have come while the batch was handled
                await self.handle(event, doc)

    async def handle(self, event: EventT, doc: dict[str, Any] | None = None) -> None:
        """Fold one ``vitals.clean`` event into its patient and publish the alerts it raises."""
        if doc is None:
            doc = orjson.loads(event.value)
        partition, offset = event.message.partition, event.message.offset
        if doc.get("forget"):
            await self.forget(doc["patient_id"])
            self.unacked.append(event)
            return
        state = await self.registry.get(doc["patient_id"], partition)
        self.unacked.append(event)
        self.application.progress.note(self.clean_topic, partition, offset)
        if state.already_applied(partition, offset):
            self.metrics.replays_skipped.inc()
            return
        profile = self.application.profiles.get(state.patient_id)
        if profile is not None and profile != state.profile:
            state.set_profile(profile)
        started, n_before, now = time.perf_counter(), state.n_readings, time.time()
        try:
            applied = apply_event(
                doc, state, self.engines.of(state), self.model, now, self.population
            )
        except Exception as exc:  # a defect in the core must not stop every other patient
            log.error("event not applied: %s in the core", type(exc).__name__)
            self.metrics.events_failed.inc()
            return
        state.mark_applied(partition, offset)
        self.registry.touched(state.patient_id)
        self._count(doc, state.n_readings - n_before, applied, started)
        await self.publish(applied.alerts, now)
        await self.publish_suggestions(applied.suggestions)

    def _count(self, doc: dict[str, Any], folded: int, applied: Applied, started: float) -> None:
        metrics = self.metrics
        if folded:
            metrics.model_update_seconds.observe((time.perf_counter() - started) / folded)
            metrics.model_updates.inc(folded)
        if applied.replayed:
            metrics.replayed_readings.inc(applied.replayed)
        if applied.late:
            metrics.late.inc(applied.late)
        if applied.ack_seconds is not None:
            metrics.ack_seconds.observe(applied.ack_seconds)
        if "outcome" in doc:
            metrics.outcomes.labels(doc["outcome"]["kind"]).inc()
        if "feedback" in doc:
            metrics.verdicts.labels(doc["feedback"]["verdict"]).inc()

    async def publish(self, alerts: list[dict[str, Any]], now: float) -> None:
        """Alerts go to the ``alerts`` topic (the alert store and the API follow it) and to the
        webhooks; counted once each."""
        for alert in alerts:
            body = orjson.dumps(alert)
            await self.application.topics.alerts.send(key=alert["patient_id"].encode(),
                                                      value=body)  # fmt: skip
            self.application.pager.offer(alert, now)
            self.metrics.alerts.labels(alert["kind"], alert["severity"]).inc()
            if alert["status"] == "open":
                self.metrics.event_to_alert.observe(max(0.0, now - event_time(alert)))

    async def forget(self, patient_id: str) -> None:
        """Erase a patient (``vigilstream patient forget``): the owner drops the state it holds
        and deletes the checkpoint and alerts, so no later checkpoint brings them back."""
        from streams.identities import erase

        self.registry.forget(patient_id)
        self.engines.forget({patient_id})
        settings = self.application.settings
        await retry_until_done(
            lambda: erase(self.application.redis, settings.topic_prefix, patient_id), "redis",
            "erasing a patient", self.metrics,
        )  # fmt: skip
        self.metrics.patients_forgotten.inc()

    async def publish_suggestions(self, out: Suggestions) -> None:
        """Every decision to ``suggestions.decisions``, sent ones to ``suggestions``, closed
        reward windows to ``suggestions.outcomes``; counted without patient labels."""
        topics, metrics = self.application.topics, self.metrics
        for decision in out.decisions:
            key = decision["patient_id"].encode()
            await topics.decisions.send(key=key, value=orjson.dumps(decision))
            if decision["suppressed"] is not None:
                metrics.suggestions_suppressed.labels(decision["suppressed"]).inc()
        if out.sent:
            links = {s["suggestion_id"]: s["patient_id"] for s in out.sent}
            index = self.application.suggestion_index
            await retry_until_done(lambda: index.remember(links), "redis",
                                   "writing the suggestion index", metrics)  # fmt: skip
        for suggestion in out.sent:
            key = suggestion["patient_id"].encode()
            await topics.suggestions.send(key=key, value=orjson.dumps(suggestion))
            metrics.suggestions.labels(suggestion["kind"]).inc()
        for outcome in out.outcomes:
            key = outcome["patient_id"].encode()
            await topics.suggestion_outcomes.send(key=key, value=orjson.dumps(outcome))
            metrics.suggestion_reward.observe(outcome["reward"])

    # ---------------------------------------------------------------- on processing time
    async def tick(self, now: float) -> None:
        """Processing-time checks of every held patient (``patient_loop.tick``): an unanswered
        alert or a silent device must not wait for data to be noticed."""
        for state in list(self.registry.states.values()):
            alerts = tick(state, self.engines.of(state), self.model, now)
            if alerts:
                self.registry.touched(state.patient_id)
                await self.publish(alerts, now)

    async def checkpoint(self) -> bool:
        """Save changed states, then acknowledge the events they cover; True when saved."""
        covered, self.unacked = self.unacked, []
        changed = set(self.registry.dirty)
        started = time.perf_counter()
        saved = await self.registry.checkpoint()
        if saved < 0:
            self.unacked = covered + self.unacked
            return False
        if saved:
            self.metrics.checkpoint_seconds.observe(time.perf_counter() - started)
        for event in covered:
            event.ack()
        await self.refresh_open_alerts(changed)
        self.metrics.patients_active.set(len(self.registry.states))
        counts, unacknowledged = self.engines.open_by_severity()
        for severity, count in counts.items():
            self.metrics.open_alerts.labels(severity).set(count)
            self.metrics.open_unacknowledged.labels(severity).set(unacknowledged[severity])
        try:
            await self.save_shared_models()
        except Exception as exc:
            log.warning("shared models not saved: %s", type(exc).__name__)
            self.metrics.checkpoint_failures.inc()
        return True

    async def refresh_open_alerts(self, patient_ids: set[str]) -> None:
        """Write the current explanation of the changed patients' open clinical alerts into the
        alert store (best effort: the next checkpoint writes it again)."""
        updates = []
        for pid in patient_ids:
            state = self.registry.states.get(pid)
            if state is None:
                continue
            engine = self.engines.of(state)
            if engine.open_episode:  # clinical ones only: technical ones have no explanation
                as_of = state.last_event_ts(default=time.time())
                updates += engine.current(state.assess(as_of, self.model), as_of)
        if not updates:
            return
        try:
            await self.application.alert_store.refresh(updates)
        except Exception as exc:
            log.warning("open alerts not refreshed: %s", type(exc).__name__)

    async def restore_shared_models(self) -> None:
        """The models all patients share: the risk model and the suggestions' pooled prior."""
        try:
            blob = await self.application.redis.get(self.model_key)
            if blob is not None:
                self.model.load(orjson.loads(blob))
                self.saved_examples = self.model.examples
            blob = await self.application.redis.get(self.population_key)
            if blob is not None:
                self.population.load(orjson.loads(blob))
                self.saved_decisions = self.population.decisions
        except Exception as exc:  # a missing or unreadable model starts afresh
            log.warning("shared models not restored: %s", type(exc).__name__)

    async def save_shared_models(self) -> None:
        if self.model.examples != self.saved_examples:
            await self.application.redis.set(self.model_key, orjson.dumps(self.model.to_dict()))
            self.saved_examples = self.model.examples
        if self.population.decisions != self.saved_decisions:
            blob = orjson.dumps(self.population.to_dict())
            await self.application.redis.set(self.population_key, blob)
            self.saved_decisions = self.population.decisions
        for name, value in self.model.validation.report().items():
            if value is not None:
                self.metrics.risk_validation.labels(name).set(value)

    # ---------------------------------------------------------------- ownership changes
    async def release(self, partitions: set[int]) -> None:
        """Partitions revoked: checkpoint and forget their patients. Their unacknowledged
        events are left to the next owner, whose offsets skip what was saved here."""
        before = set(self.registry.states)
        await self.registry.release(partitions)
        self.engines.forget(before - set(self.registry.states))
        self.unacked = [e for e in self.unacked if e.message.partition not in partitions]
        self.metrics.patients_active.set(len(self.registry.states))

    async def stop(self) -> None:
        await self.checkpoint()


def register(application: Application) -> Monitor:
    """Attach the monitor agent, its timers and its rebalance hooks."""
    app, settings = application.faust, application.settings
    monitor = Monitor(application)

    def current(event: EventT) -> bool:  # as Faust's own stream checks each event
        return (app.flow_control.is_active()
                and event.message.generation_id == app.consumer_generation_id)  # fmt: skip

    @app.agent(application.topics.clean, name="monitor")
    async def consume(stream: Any) -> None:
        async for events in stream.noack_take(MONITOR_BATCH, within=MONITOR_BATCH_WAIT_S):
            await monitor.handle_many(events, current)

    shortest = min(settings.escalate_after_s, settings.offline_after_s)

    @app.timer(interval=min(ESCALATION_CHECK_S, max(1.0, shortest / 4)))
    async def escalate() -> None:
        await monitor.tick(time.time())

    @app.task
    async def restore_shared_models() -> None:
        await monitor.restore_shared_models()

    @app.timer(interval=settings.checkpoint_interval_s)
    async def checkpoint() -> None:
        await monitor.checkpoint()

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        await monitor.release({tp.partition for tp in revoked if tp.topic == monitor.clean_topic})

    @app.on_before_shutdown.connect
    async def on_shutdown(sender: Any, **kwargs: Any) -> None:
        await monitor.stop()

    return monitor
