"""Patient profiles from the compacted ``patients`` topic, held by every worker.

Ingest needs a patient's consent whatever partition the reading came in on, so every worker
holds every profile (~200 bytes each; 100 000 patients are ~20 MB). ``ProfileDirectory`` reads
the whole topic with a plain consumer outside any consumer group, from the earliest offset at
every start: the compacted topic *is* the store, so there is no changelog topic whose partition
count could disagree with it. A null value (a tombstone) deletes the profile.

Ordering across topics: a profile and a reading travel on different topics, so the worker makes
the directory current before it judges a message: ``current_as_of(t)`` returns once every profile
written to the broker before ``t`` (the message's producer timestamp) has been read. It waits
once per patient it has no profile for (``first_contact``): after that, a new profile of that
patient is read within a poll (``IDLE_POLL_MS``), as a changed profile of a known patient always
was. Waiting on every message of a patient without a profile stalled the whole ingest on a
directory round trip per message (hop 1 took 100-260 ms at half load). The ``profiles`` agent,
in the worker's consumer group, dead-letters invalid profiles once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from streams.candidates import Rejection
from vigilstream.messages import PatientProfile, describe_error

if TYPE_CHECKING:
    from streams.app import Application

log = logging.getLogger(__name__)
IDLE_POLL_MS = 100  # how often the directory looks for new profiles when nobody waits
MAX_LOOKED_UP = 200_000  # patients without a profile remembered as looked up (then start over)


def parse_profile(key: bytes | None, value: bytes | None) -> tuple[str, dict | None] | Rejection:
    """(patient_id, profile or None for a tombstone) from one ``patients`` record."""
    key_id = key.decode("utf-8", errors="replace") if key else None
    if not value:
        if key_id is None:
            return Rejection("schema", "tombstone without a key")
        return key_id, None
    try:
        profile = PatientProfile.model_validate_json(value)
    except ValidationError as exc:
        reason = "invalid_json" if exc.errors()[0]["type"] == "json_invalid" else "schema"
        return Rejection(reason, describe_error(exc))
    if key_id is not None and key_id != profile.patient_id:
        return Rejection("schema", "record key and patient_id differ")
    return profile.patient_id, profile.model_dump(mode="json")


class ProfileDirectory:
    """Every profile of the ``patients`` topic, kept current by a group-less consumer."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self.profiles: dict[str, dict[str, Any]] = {}
        self.caught_up_at = 0.0  # every record produced before this was read
        self._changed = asyncio.Condition()
        self._wanted = asyncio.Event()  # a reading waits: look now, not at the next poll
        self._looked_up: set[str] = set()  # no profile when the directory was made current

    def get(self, patient_id: str) -> dict[str, Any] | None:
        return self.profiles.get(patient_id)

    def consent(self, patient_id: str) -> bool | None:
        """The ingest consent question: True, False (refused/withdrawn) or None (no profile)."""
        profile = self.profiles.get(patient_id)
        return None if profile is None else profile.get("consent")

    def first_contact(self, patient_ids: Iterable[str]) -> bool:
        """True when one of these patients has no profile and was never looked up for one."""
        profiles, looked_up = self.profiles, self._looked_up
        return any(p not in profiles and p not in looked_up for p in patient_ids)

    async def look_up(self, patient_ids: Iterable[str], produced_at: float) -> None:
        """Make the directory current as of ``produced_at`` for the first message of patients
        it has no profile for; later messages of theirs do not wait (see the module)."""
        await self.current_as_of(produced_at)
        if len(self._looked_up) >= MAX_LOOKED_UP:
            self._looked_up.clear()
        self._looked_up.update(p for p in patient_ids if p not in self.profiles)

    async def current_as_of(self, produced_at: float) -> None:
        """Wait until every profile produced before ``produced_at`` has been read."""
        if produced_at < self.caught_up_at:
            return
        self._wanted.set()
        async with self._changed:
            while produced_at >= self.caught_up_at:
                await self._changed.wait()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        parsed = parse_profile(key, value)
        if isinstance(parsed, Rejection):
            return  # the profiles agent dead-letters it
        patient_id, profile = parsed
        patient_id = self.application.pseudonym(patient_id)
        if profile is not None:
            profile["patient_id"] = patient_id
        if profile is None:
            self.profiles.pop(patient_id, None)
        else:
            self.profiles[patient_id] = profile

    async def run(self) -> None:
        """Read the topic for ever; reconnects are aiokafka's, restarts are Faust's."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        settings = self.application.settings
        topic = settings.topic("patients")
        consumer = AIOKafkaConsumer(
            **settings.kafka_client_options(), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", client_id="vigilstream-profiles",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,  # bounds a fetch while catching up
        )  # fmt: skip
        await consumer.start()
        try:
            partitions = await _partitions(consumer, topic)
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            consumer.pause(*tps)  # fetches only while there is something to read
            await consumer.seek_to_beginning(*tps)
            while True:
                started = time.time()
                await _read_to(consumer, await consumer.end_offsets(tps), self._apply_batch)
                async with self._changed:
                    self.caught_up_at = started
                    self._changed.notify_all()
                self.application.metrics.profiles.set(len(self.profiles))
                await self._idle()
        finally:
            await consumer.stop()

    async def _idle(self) -> None:
        """Until the next look at the topic's end: ``IDLE_POLL_MS``, or at once when a reading
        waits (a waiter then learns of new profiles within about two round trips instead of
        a whole poll; the ingest waits with it)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wanted.wait(), IDLE_POLL_MS / 1000)
        self._wanted.clear()

    def _apply_batch(self, batch: dict[Any, list[Any]]) -> None:
        for records in batch.values():
            for record in records:
                self.apply(record.key, record.value)


async def _read_to(consumer: Any, ends: dict[Any, int], apply: Any) -> None:
    """Read every partition up to its end offset in ``ends`` and hand the records to ``apply``.

    The consumer is resumed only while there is something to read and paused otherwise:
    aiokafka fetches in the background for ever, a fetch of a quiet topic lasts its whole wait
    on the embedded Tansu (50 empty fetches a second per worker at 20 ms, a tenth of a core of
    the broker's with two workers), and the next ``end_offsets`` queues behind it on the
    connection, so a reading waiting for the directory waited for it too.
    """
    tps = list(ends)
    behind = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
    if not behind:
        return
    consumer.resume(*tps)
    try:
        while behind:
            apply(await consumer.getmany(*behind, timeout_ms=200))
            behind = [tp for tp in behind if await consumer.position(tp) < ends[tp]]
    finally:
        consumer.pause(*tps)


async def _partitions(consumer: Any, topic: str) -> list[int]:
    for delay in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0):
        found = consumer.partitions_for_topic(topic)
        if found:
            return sorted(found)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(delay)
    raise RuntimeError(f"topic {topic} has no partitions")


def register(application: Application) -> ProfileDirectory:
    """Attach the profile directory and the agent that dead-letters invalid profiles."""
    from streams.ingest import send_dead_letter

    directory = ProfileDirectory(application)
    application.faust.task(directory.run)

    @application.faust.agent(application.topics.patients, name="profiles")
    async def profiles(stream: Any) -> None:
        async for event in stream.events():
            parsed = parse_profile(event.key, event.value)
            if isinstance(parsed, Rejection):
                await send_dead_letter(application, parsed, event.value or b"", event)

    return directory
