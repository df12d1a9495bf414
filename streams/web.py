"""HTTP on the worker's web port: ``/health``, ``/metrics``, the care-team API, and the guard
in front of all of them.

The guard (an aiohttp middleware) answers only the routes this package serves: anything else is
a JSON 404, whatever Faust or aiohttp would have answered; every error is JSON
``{"error", "detail"}``; clients with too many failed authentications in a minute get 429; the
``Server`` header names no version.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web as aioweb

from streams.auth import FailureLimiter

if TYPE_CHECKING:
    from streams.app import Application

log = logging.getLogger(__name__)
PROMETHEUS_TEXT = "text/plain; version=0.0.4"
PUBLIC = frozenset({"/health", "/metrics", "/api/openapi.json", "/api/docs"})
SERVED_PREFIXES = ("/api/", "/board")
MAX_BODY_BYTES = 64 * 1024
ERROR_NAMES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 422: "unprocessable",
               429: "too_many_requests", 500: "internal", 503: "unavailable"}  # fmt: skip


def json_error(status: int, detail: str) -> aioweb.Response:
    return aioweb.json_response(
        {"error": ERROR_NAMES.get(status, "error"), "detail": detail}, status=status
    )


def web_options(application: Application) -> dict[str, Any]:
    """aiohttp application options of the worker: the guard and a request size limit."""
    limiter = FailureLimiter(application.settings.auth_failures_per_minute)

    @aioweb.middleware
    async def guard(request: aioweb.Request, handler: Any) -> aioweb.StreamResponse:
        path = request.path
        if path not in PUBLIC and not path.startswith(SERVED_PREFIXES):
            response: aioweb.StreamResponse = json_error(404, "no such route")
        elif path not in PUBLIC and limiter.blocked(request.remote or "?"):
            response = json_error(429, "too many failed authentications; try again later")
        else:
            try:
                response = await handler(request)
            except aioweb.HTTPException as exc:
                response = json_error(exc.status, exc.reason)
            except Exception as exc:  # Redis away mid-request, or a defect: still JSON
                log.warning("request failed: %s", type(exc).__name__)
                unavailable = type(exc).__module__.startswith("redis")
                response = json_error(503 if unavailable else 500, type(exc).__name__)
            if response.status == 401:
                limiter.fail(request.remote or "?")
                application.metrics.auth_failures.inc()
        response.headers["Server"] = "vigilstream"
        return response

    return {"middlewares": [guard], "client_max_size": MAX_BODY_BYTES}


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
        stalled = application.progress.stalled
        ok = broker["ok"] and redis["ok"] and not stalled
        status = "ok" if ok else ("stalled" if stalled else "degraded")
        body = {"status": status, "broker": broker, "redis": redis,
                "stalled_partitions": stalled}  # fmt: skip
        return web.json(body, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(application.metrics.exposition(), content_type=PROMETHEUS_TEXT)

    from streams import api, board, docs

    care_team_api = api.register(application)
    board.register(application, care_team_api)
    docs.register(application)
