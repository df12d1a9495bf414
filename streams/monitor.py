"""Monitor agent: ``vitals.clean`` -> per-patient online models (``online_models.PatientState``).

One owner per patient (the stream is keyed by patient id). The agent restores, updates and
marks states; checkpoints run on a timer, on partition revocation and at shutdown.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from streams.registry import PatientRegistry
from streams.storage import RedisStateStore

if TYPE_CHECKING:
    from streams.app import Application


def register(application: Application) -> PatientRegistry:
    """Attach the monitor agent and its checkpoint hooks; returns the registry."""
    app, settings, metrics = application.faust, application.settings, application.metrics
    registry = PatientRegistry(RedisStateStore(application.redis, settings.topic_prefix), metrics)
    profiles = application.profiles
    clean_topic = application.topics.clean.get_topic_name()

    @app.agent(application.topics.clean, name="monitor")
    async def monitor(stream: Any) -> None:
        async for event in stream.events():
            doc = orjson.loads(event.value)
            patient_id = doc["patient_id"]
            partition, offset = event.message.partition, event.message.offset
            state = await registry.get(patient_id, partition)
            if state.already_applied(partition, offset):
                metrics.replays_skipped.inc()
                continue
            profile = profiles.get(patient_id)
            if profile is not None and profile != state.profile:
                state.set_profile(profile)
            readings = doc.get("readings") or (doc,)
            started = time.perf_counter()
            now = time.time()
            replayed = sum(not state.update(reading, now) for reading in readings)
            if replayed:
                metrics.replayed_readings.inc(replayed)
            state.mark_applied(partition, offset)
            registry.touched(patient_id)
            metrics.model_update_seconds.observe((time.perf_counter() - started) / len(readings))
            metrics.model_updates.inc(len(readings))

    @app.timer(interval=settings.checkpoint_interval_s)
    async def checkpoint() -> None:
        started = time.perf_counter()
        if await registry.checkpoint():
            metrics.checkpoint_seconds.observe(time.perf_counter() - started)
        metrics.patients_active.set(len(registry.states))

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        await registry.release({tp.partition for tp in revoked if tp.topic == clean_topic})
        metrics.patients_active.set(len(registry.states))

    @app.on_before_shutdown.connect
    async def on_shutdown(sender: Any, **kwargs: Any) -> None:
        await registry.checkpoint()

    return registry
