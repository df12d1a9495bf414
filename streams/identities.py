"""The link from pseudonyms back to a program's patient ids, and erasing a patient.

``IdentityMap`` keeps ``pseudonym -> patient id`` in one Redis hash (``<prefix>vigil:identity``),
written once per patient a worker meets (a local set remembers which it wrote). Only the API's
clinician role reads it. ``erase`` is what ``vigilstream patient forget`` does in Redis.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from streams.failure import retry_until_done
from vigilstream.privacy import Pseudonymizer

KNOWN_KEEP = 200_000  # pseudonyms this process remembers having written


class IdentityMap:
    def __init__(self, client: aioredis.Redis, prefix: str, pseudonym: Pseudonymizer,
                 metrics: Any = None) -> None:  # fmt: skip
        self.client, self.pseudonym, self.metrics = client, pseudonym, metrics
        self.key = identity_key(prefix)
        self._written: set[str] = set()

    async def pseudonymize(self, readings: list[dict[str, Any]]) -> None:
        """Replace each reading's patient id by its pseudonym, remembering the link."""
        new: dict[str, str] = {}
        for reading in readings:
            real = reading["patient_id"]
            alias = reading["patient_id"] = self.pseudonym(real)
            if alias not in self._written and alias != real:
                new[alias] = real
        if new:
            await retry_until_done(lambda: self._remember(new), "redis",
                                   "writing the identity map", self.metrics)  # fmt: skip
            if len(self._written) > KNOWN_KEEP:
                self._written.clear()
            self._written.update(new)

    async def _remember(self, links: dict[str, str]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for alias, real in links.items():
                pipe.hsetnx(self.key, alias, real)
            await pipe.execute()

    async def resolve(self, alias: str) -> str | None:
        found = await self.client.hget(self.key, alias)
        return found.decode() if found is not None else None


def identity_key(prefix: str) -> str:
    return f"{prefix}vigil:identity"


async def erase(client: aioredis.Redis, prefix: str, patient_id: str) -> dict[str, int]:
    """Delete a patient's checkpoint, alerts (with history and acknowledgements) and identity
    link from Redis in one transaction; the key layouts are those of the stores that own them.
    ``patient_id`` is the id the worker uses (the pseudonym when enabled)."""
    from streams.alert_store import AlertStore
    from streams.storage import RedisStateStore

    states, alerts = RedisStateStore(client, prefix), AlertStore(client, prefix)
    alert_ids = [a.decode() for a in await client.smembers(alerts.patient_index(patient_id))]
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(states.prefix + patient_id)
        alerts.queue_erase(pipe, patient_id, alert_ids)
        pipe.hdel(identity_key(prefix), patient_id)
        done = await pipe.execute()
    return {"state": int(done[0]), "alerts": len(alert_ids)}
