"""Ingest agent: ``vitals.raw`` -> ``vitals.clean`` (keyed by patient) or ``vitals.deadletter``.

The parsing and validation are the pure ``Ingestor`` (streams/normalize.py); this agent only
moves bytes, keeps the counters and stamps processing time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from streams.app import FetchWait
from streams.dedupe import DuplicateFilter
from streams.fold import CleanFold
from streams.normalize import Ingestor, IngestPolicy, Rejection

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.app import Application
    from vigilstream.config import Settings

PAYLOAD_LIMIT = 8 * 1024
FOLD_IDLE_FLUSH_S = 0.05  # a fold left behind by a stream that went quiet goes out this soon
FOLD_MAX_HOLD_S = 1.0  # a fold is held this long, or longer when the ingest is far behind:
FOLD_HOLD_SHARE = 1.0  # ... up to this share of how late its first record was read,
FOLD_HOLD_CAP_S = 10.0  # ... and never longer than this
FOLD_BEHIND_S = 0.5  # a record read this long after it was written may wait in the fold


class CleanFlow:
    """The ingest's output to ``vitals.clean`` through a ``CleanFold`` (streams/fold.py).

    Readings are held in the fold only while the ingest is behind: the record in hand was read
    more than ``FOLD_BEHIND_S`` after it was written (its CreateTime) and more records of its
    partition are waiting, fetched or not. A record read on time, the last one of a backlog,
    a fold held for its limit (``hold_limit``) and a timer when the stream went quiet all drain
    the fold, so a monitor that keeps up sends every message on at once. Raw events are
    acknowledged only once every reading they carried has been sent, so a crash with readings
    still in the fold reads them again.
    """

    def __init__(self, application: Application, fold: CleanFold) -> None:
        self.application = application
        self.fold = fold
        self.unacked: list[EventT] = []
        self.lock = asyncio.Lock()
        self.held_since = 0.0
        self.held_for = FOLD_MAX_HOLD_S
        self.taken = 0
        self.taken_at_last_check = 0

    async def take(self, event: EventT, readings: list[dict[str, Any]], received_at: float,
                   more_waiting: bool) -> None:  # fmt: skip
        """Send or fold one raw event's readings; ``more_waiting``: the next record is queued."""
        async with self.lock:
            self.taken += 1
            self.unacked.append(event)
            if not self.fold.pending:
                self.held_since = received_at
                self.held_for = hold_limit(read_late(event.message, received_at))
            await self._send(self.fold.add(readings))
            if self.fold.pending and not self._may_hold(event, received_at, more_waiting):
                await self._send(self.fold.drain())
            if not self.fold.pending:
                self._ack()

    def _may_hold(self, event: EventT, received_at: float, more_waiting: bool) -> bool:
        """Behind (the record is old), not held too long, and more records of the partition
        waiting: queued here, or after it on the broker (its highwater as of the last fetch)."""
        message = event.message
        if (read_late(message, received_at) <= FOLD_BEHIND_S
                or received_at - self.held_since >= self.held_for):  # fmt: skip
            return False
        return more_waiting or self._more_on_broker(message)

    def _more_on_broker(self, message: Any) -> bool:
        """Records after ``message`` in its partition (its highwater as of the last fetch)."""
        try:
            highwater = self.application.faust.consumer.highwater(message.tp)
        except Exception:  # no fetch position known: hold nothing back
            return False
        return highwater is not None and message.offset + 1 < highwater

    async def flush(self) -> None:
        async with self.lock:
            await self._send(self.fold.drain())
            self._ack()

    async def flush_if_idle(self, now: float) -> None:
        """Drain a fold that no event has added to since the last check, unless the ingest only
        had no turn (the monitor held the event loop) while records of its last partition are
        waiting and the fold is within its hold: that stream has not gone quiet."""
        idle = self.taken == self.taken_at_last_check
        self.taken_at_last_check = self.taken
        if not (idle and self.unacked):
            return
        if now - self.held_since < self.held_for and self._more_on_broker(
                self.unacked[-1].message):  # fmt: skip
            return
        await self.flush()

    async def _send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        send = self.application.topics.clean.send
        for key, value in events:
            await send(key=key.encode(), value=orjson.dumps(value))

    def _ack(self) -> None:
        for event in self.unacked:
            event.ack()
        self.unacked = []


def read_late(message: Any, received_at: float) -> float:
    """Seconds between a record's CreateTime and ``received_at`` (0 without a timestamp)."""
    return received_at - (message.timestamp or received_at)


def hold_limit(late_s: float) -> float:
    """How long a fold started by a record read ``late_s`` after it was written may be held.

    A patient's next message comes a whole round of the other patients later: with 50,000
    watches sending every 5 s, that is 5 s of input, so a one-second hold never joins two
    messages of one patient in the backlog of a large program. A worker already ``late_s``
    behind loses little by holding a share of that longer, and catches up sooner for it.

    >>> hold_limit(0.6), hold_limit(8.0), hold_limit(600.0)
    (1.0, 8.0, 10.0)
    """
    return min(FOLD_HOLD_CAP_S, max(FOLD_MAX_HOLD_S, late_s * FOLD_HOLD_SHARE))


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

    flow = CleanFlow(application, CleanFold(max_span_s=settings.fold_span_s))
    fetch_wait = FetchWait(settings.fetch_max_wait_ms)

    @application.faust.agent(topics.raw, name="ingest")
    async def ingest(stream: Any) -> None:
        queue = stream.channel.queue  # the records fetched and not yet taken
        async for event in stream.noack().events():
            started = time.perf_counter()
            raw = event.value if isinstance(event.value, bytes) else b""
            received_at = time.time()
            fetch_wait.note(read_late(event.message, received_at))
            result = ingestor.ingest(raw, received_at)
            readings = result.readings
            if pseudonym.enabled:
                await application.identities.pseudonymize(readings)
            if directory.first_contact(r["patient_id"] for r in readings):
                # A profile sent just before this message may not have been read yet.
                produced_at = event.message.timestamp or received_at
                await directory.look_up([r["patient_id"] for r in readings], produced_at)
                readings = await refuse_withdrawn(readings, directory, event, raw, received_at)
            for rejection in result.rejections:
                await send_dead_letter(application, rejection, raw, event, received_at)
            await flow.take(event, readings, received_at, not queue.empty())
            metrics.count_readings(readings, result.duplicates)
            metrics.process_seconds.observe(time.perf_counter() - started)

    @application.faust.timer(interval=FOLD_IDLE_FLUSH_S)
    async def flush_idle_fold() -> None:
        await flow.flush_if_idle(time.time())

    @application.faust.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        await flow.flush()

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
