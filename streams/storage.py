"""Where patient state lives between workers: a small storage interface and its Redis version.

Checkpoints are written in one pipelined round trip for many patients (never one per reading);
a patient's state is read once, when its owner first meets it after an assignment (the
patients first met in one batch of events: one round trip for all of them).
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis


class StateStore(Protocol):
    """Load, save and delete serialized patient states."""

    async def load(self, patient_id: str) -> bytes | None: ...

    async def load_many(self, patient_ids: list[str]) -> list[bytes | None]:
        """The checkpoints of several patients in one round trip, in the order asked."""
        ...

    async def save_many(self, blobs: dict[str, bytes]) -> None: ...

    async def delete(self, patient_id: str) -> None: ...

    async def intact(self) -> bool:
        """False when the store lost what this process wrote to it (e.g. restarted empty)."""
        ...


class RedisStateStore:
    """Patient states in Redis under ``<topic prefix>vigil:state:<patient id>``."""

    def __init__(self, client: aioredis.Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = f"{prefix}vigil:state:"
        self.marker = f"{prefix}vigil:store-marker"
        self._marked = False

    async def load(self, patient_id: str) -> bytes | None:
        return await self.client.get(self.prefix + patient_id)

    async def load_many(self, patient_ids: list[str]) -> list[bytes | None]:
        if not patient_ids:
            return []
        return await self.client.mget([self.prefix + pid for pid in patient_ids])

    async def save_many(self, blobs: dict[str, bytes]) -> None:
        if not blobs:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for patient_id, blob in blobs.items():
                pipe.set(self.prefix + patient_id, blob)
            await pipe.execute()

    async def delete(self, patient_id: str) -> None:
        await self.client.delete(self.prefix + patient_id)

    async def intact(self) -> bool:
        """A marker key written at the first check: gone later means Redis lost its data."""
        absent = await self.client.set(self.marker, b"1", nx=True)
        lost = bool(absent) and self._marked
        self._marked = True
        return not lost
