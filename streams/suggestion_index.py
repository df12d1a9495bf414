"""Which patient a suggestion was sent to, so feedback by suggestion id reaches its owner.

One Redis key per sent suggestion (``<prefix>vigil:suggestion:<id>`` -> patient id), kept
``KEEP_S`` (14 days: feedback on older suggestions is not asked for), written by the monitor
when it sends (at most a few per patient and day, never per reading).
"""

from __future__ import annotations

import redis.asyncio as aioredis

KEEP_S = 14 * 86400


class SuggestionIndex:
    def __init__(self, client: aioredis.Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = f"{prefix}vigil:suggestion:"

    async def remember(self, links: dict[str, str]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for suggestion_id, patient_id in links.items():
                pipe.set(self.prefix + suggestion_id, patient_id, ex=KEEP_S)
            await pipe.execute()

    async def patient_of(self, suggestion_id: str) -> str | None:
        found = await self.client.get(self.prefix + suggestion_id)
        return found.decode() if found is not None else None
