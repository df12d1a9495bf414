"""Monitor agent: ``vitals.clean`` -> per-patient online models (``online_models.PatientState``).

One owner per patient (the stream is keyed by patient id). The agent restores, updates and
marks states, keeps hourly risk-feature snapshots, and turns outcome events into labelled
examples for the shared risk model. Checkpoints (patients and the risk model) run on a timer,
on partition revocation and at shutdown.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from online_models.risk import RiskModel
from online_models.state import PatientState
from streams.registry import PatientRegistry
from streams.storage import RedisStateStore

if TYPE_CHECKING:
    from streams.app import Application

log = logging.getLogger(__name__)


def apply_event(doc: dict[str, Any], state: PatientState, model: RiskModel, now: float) -> int:
    """Fold one ``vitals.clean`` event into a patient; returns readings that were replays."""
    outcome = doc.get("outcome")
    if outcome is not None:
        for x, y in state.label(outcome["kind"], outcome["ts"], outcome.get("onset_ts")):
            model.learn_one(x, y)
        return 0
    readings = doc.get("readings") or (doc,)
    replayed = sum(not state.update(reading, now) for reading in readings)
    state.maybe_snapshot(max(r["ts"] for r in readings))
    return replayed


def register(application: Application) -> tuple[PatientRegistry, RiskModel]:
    """Attach the monitor agent and its checkpoint hooks."""
    app, settings, metrics = application.faust, application.settings, application.metrics
    registry = PatientRegistry(RedisStateStore(application.redis, settings.topic_prefix), metrics)
    model = RiskModel()
    model_key = f"{settings.topic_prefix}vigil:risk-model"
    saved_examples = [0]
    profiles = application.profiles
    clean_topic = application.topics.clean.get_topic_name()

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
            started, n_before = time.perf_counter(), state.n_readings
            replayed = apply_event(doc, state, model, time.time())
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
        try:
            await save_risk_model()
        except Exception as exc:
            log.warning("risk model not saved: %s", type(exc).__name__)
            metrics.checkpoint_failures.inc()

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        await registry.release({tp.partition for tp in revoked if tp.topic == clean_topic})
        metrics.patients_active.set(len(registry.states))

    @app.on_before_shutdown.connect
    async def on_shutdown(sender: Any, **kwargs: Any) -> None:
        await registry.checkpoint()
        await save_risk_model()

    return registry, model
