"""HTTP views on the worker's web port: ``/health`` and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.app import Application

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


async def broker_status(application: Application) -> dict[str, Any]:
    """Whether the broker answers a metadata request through the worker's producer."""
    try:
        # Faust exposes no public health probe; its aiokafka producer's client is the cheapest
        # real round trip to the cluster that the worker already holds open.
        producer = application.faust.producer._ensure_producer()
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=3.0)
    except Exception as exc:  # any failure means "not reachable", reported, not raised
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True}


async def redis_status(application: Application) -> dict[str, Any]:
    """Whether Redis answers PING."""
    try:
        await asyncio.wait_for(application.redis.ping(), timeout=3.0)
    except Exception as exc:
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True}


def register(application: Application) -> None:
    """Attach the web views to the application."""
    app = application.faust

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        broker, redis = await asyncio.gather(broker_status(application), redis_status(application))
        ok = broker["ok"] and redis["ok"]
        body = {"status": "ok" if ok else "degraded", "broker": broker, "redis": redis}
        return web.json(body, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(application.metrics.exposition(), content_type=PROMETHEUS_TEXT)

    register_api(application)


def register_api(application: Application) -> None:
    """The care-team API views available so far."""
    import time

    from online_models.state import PatientState
    from streams.auth import authorize

    app, settings = application.faust, application.settings
    tokens = settings.tokens

    @app.page("/api/patients/{patient_id}")
    async def patient(web: Any, request: Any, patient_id: str) -> Any:
        denied = authorize(request.headers.get("Authorization"), tokens, "viewer")
        if denied is not None:
            return web.json({"error": "unauthorized" if denied[0] == 401 else "forbidden",
                             "detail": denied[1]}, status=denied[0])  # fmt: skip
        now = time.time()
        state = application.registry.states.get(patient_id)
        source = "live"
        if state is None:  # owned by another worker, or not seen since a restart
            blob = await application.registry.store.load(patient_id)
            if blob is None:
                return web.json({"error": "not_found", "detail": "no such patient"}, status=404)
            state, _ = PatientState.from_bytes(blob, patient_id)
            source = "checkpoint"
        snapshot = state.snapshot(now, application.risk_model)
        snapshot["open_alerts"] = []  # alerts arrive with issue #5
        snapshot["source"] = source
        return web.json(snapshot)
