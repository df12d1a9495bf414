"""Ingest agent: ``vitals.raw`` -> ``vitals.clean`` (keyed by patient) or ``vitals.deadletter``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from streams.normalize import Rejection, clean_events, normalize

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.app import Application

PAYLOAD_LIMIT = 8 * 1024


def dead_letter(rejection: Rejection, raw: bytes, event: EventT, received_at: float) -> bytes:
    """The dead-letter message of SPEC.md for one rejection of a raw message."""
    from datetime import UTC, datetime

    message = event.message
    doc: dict[str, Any] = {
        "reason": rejection.reason,
        "detail": rejection.detail,
        "payload": raw[:PAYLOAD_LIMIT].decode("utf-8", errors="replace"),
        "source_topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "received_at": datetime.fromtimestamp(received_at, UTC).isoformat(),
    }
    return orjson.dumps(doc)


def register(application: Application) -> None:
    """Attach the ingest agent to the application."""
    topics, metrics = application.topics, application.metrics

    @application.faust.agent(topics.raw, name="ingest")
    async def ingest(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            raw: bytes = event.value if isinstance(event.value, bytes) else b""
            received_at = time.time()
            result = normalize(raw, received_at)
            for key, value in clean_events(result.readings):
                await topics.clean.send(key=key.encode(), value=orjson.dumps(value))
            for rejection in result.rejections:
                metrics.rejected.labels(rejection.reason).inc()
                await topics.deadletter.send(
                    key=event.key, value=dead_letter(rejection, raw, event, received_at)
                )
            for reading in result.readings:
                metrics.readings.labels(reading["signal"], reading["source_format"]).inc()
            metrics.process_seconds.observe(time.perf_counter() - started)
