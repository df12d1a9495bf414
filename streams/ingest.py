"""Ingest agent: ``vitals.raw`` -> ``vitals.clean`` (keyed by patient) or ``vitals.deadletter``.

The parsing and validation are the pure ``Ingestor`` (streams/normalize.py); this agent only
moves bytes, keeps the counters and stamps processing time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from streams.dedupe import DuplicateFilter
from streams.normalize import Ingestor, IngestPolicy, Rejection, clean_events

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.app import Application
    from vigilstream.config import Settings

PAYLOAD_LIMIT = 8 * 1024


def dead_letter(
    rejection: Rejection, raw: bytes, event: EventT, received_at: float | None = None
) -> bytes:
    """The dead-letter message of docs/spec.md for one rejection of a consumed record."""
    message = event.message
    when = received_at if received_at is not None else time.time()
    doc: dict[str, Any] = {
        "reason": rejection.reason,
        "detail": rejection.detail,
        "payload": raw[:PAYLOAD_LIMIT].decode("utf-8", errors="replace"),
        "source_topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "received_at": datetime.fromtimestamp(when, UTC).isoformat(),
    }
    return orjson.dumps(doc)


def ingest_policy(settings: Settings) -> IngestPolicy:
    """The ingest limits of the configuration."""
    return IngestPolicy(
        max_bytes=settings.max_message_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        stale_horizon_s=settings.stale_horizon_h * 3600.0,
        consent_required=settings.consent_required,
    )


def register(application: Application) -> None:
    """Attach the ingest agent to the application."""
    settings, topics, metrics = application.settings, application.topics, application.metrics
    directory, pseudonym = application.profiles, application.pseudonym
    dedupe = DuplicateFilter(settings.dedupe_window_s, settings.dedupe_max_entries)
    consent = directory.consent if not pseudonym.enabled else (
        lambda pid: directory.consent(pseudonym(pid)))  # fmt: skip
    ingestor = Ingestor(ingest_policy(settings), dedupe, consent)

    @application.faust.agent(topics.raw, name="ingest")
    async def ingest(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            raw = event.value if isinstance(event.value, bytes) else b""
            received_at = time.time()
            result = ingestor.ingest(raw, received_at)
            readings = result.readings
            if pseudonym.enabled:
                await application.identities.pseudonymize(readings)
            if any(directory.get(r["patient_id"]) is None for r in readings):
                # A profile sent just before this message may not have been read yet.
                await directory.current_as_of(event.message.timestamp or received_at)
                readings = await refuse_withdrawn(readings, directory, event, raw, received_at)
            for key, value in clean_events(readings):
                await topics.clean.send(key=key.encode(), value=orjson.dumps(value))
            for rejection in result.rejections:
                await send_dead_letter(application, rejection, raw, event, received_at)
            metrics.count_readings(readings, result.duplicates)
            metrics.process_seconds.observe(time.perf_counter() - started)

    async def refuse_withdrawn(readings: list[dict[str, Any]], directory: Any, event: EventT,
                               raw: bytes, received_at: float) -> list[dict[str, Any]]:  # fmt: skip
        """Readings of patients whose just-read profile refuses consent become dead letters."""
        kept = [r for r in readings if directory.consent(r["patient_id"]) is not False]
        if len(kept) < len(readings):
            refused = Rejection("no_consent", "monitoring consent withdrawn or refused")
            await send_dead_letter(application, refused, raw, event, received_at)
        return kept


async def send_dead_letter(
    application: Application, rejection: Rejection, raw: bytes, event: EventT,
    received_at: float | None = None,
) -> None:  # fmt: skip
    """Count a rejection and send its dead letter: the one way every agent rejects input."""
    application.metrics.rejected.labels(rejection.reason).inc()
    await application.topics.deadletter.send(
        key=event.key, value=dead_letter(rejection, raw, event, received_at)
    )
