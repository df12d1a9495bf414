"""``vigilstream patient forget ID``: erase a patient (GDPR Art. 17 "right to erasure").

What is erased, at once: the patient's checkpoint (state, baselines, phenotype, alert episodes),
their alerts with history and acknowledgements in the alert store, and the pseudonym link. The
profile gets a tombstone on the compacted ``patients`` topic, which compaction then removes. The
worker that owns the patient receives a ``forget`` event on ``vitals.clean``, in order with the
patient's readings, and drops what it holds in memory so no later checkpoint brings it back.

What Kafka keeps until its retention expires (the topics' ``retention.ms``, 7 days by default):
the raw readings on ``vitals.raw`` and ``vitals.clean``, dead letters, and alert messages on
``alerts``; the audit trail keeps who viewed the patient (it is the record of access). Readings
that arrive after the erasure start a new state: withdraw consent first to stop collection.
"""

from __future__ import annotations

import asyncio
import json

from vigilstream.config import Settings
from vigilstream.privacy import Pseudonymizer


def forget(settings: Settings, patient_id: str) -> dict[str, object]:
    """Erase one patient; returns what was done."""
    import redis.asyncio as aioredis
    from kafka import KafkaProducer

    from streams.identities import erase

    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
    alias = Pseudonymizer(key)(patient_id)

    async def in_redis() -> dict[str, int]:
        client = aioredis.from_url(settings.redis_url, socket_timeout=5.0,
                                   **settings.redis_options())  # fmt: skip
        try:
            return await erase(client, settings.topic_prefix, alias)
        finally:
            await client.aclose()

    # Redis first, then the owner: the owner erases again when the forget event reaches it (so a
    # checkpoint it saved in between goes too), and what this reports is what it found. The
    # other order let a quick owner erase first and this report "0 alert(s) deleted".
    erased = asyncio.run(in_redis())
    producer = KafkaProducer(**settings.kafka_client_options(), request_timeout_ms=15_000,
                             max_block_ms=15_000)  # fmt: skip
    try:
        control = json.dumps({"patient_id": alias, "forget": True}).encode()
        producer.send(settings.topic("vitals.clean"), control, key=alias.encode())
        producer.send(settings.topic("patients"), None, key=patient_id.encode())
        producer.flush(timeout=15)
    finally:
        producer.close(timeout=5)
    return {"patient": patient_id, "checkpoint": bool(erased["state"]), "alerts": erased["alerts"]}
