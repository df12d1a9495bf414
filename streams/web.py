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

    from streams import api

    api.register(application)
