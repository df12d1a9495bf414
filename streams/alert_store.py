"""Alert state shared by every worker and the API, in Redis.

Per alert: the latest message and its history (``<prefix>vigil:alert:<id>`` and ``...:history``);
open alerts in a sorted set by last update (``<prefix>vigil:alerts:open``), every alert of the
last days in another (``<prefix>vigil:alerts:recent``). Written once per alert message (a
pipelined round trip), never per reading.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

RECENT_KEEP = 5000


class AlertStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = f"{prefix}vigil:"

    def _key(self, alert_id: str) -> str:
        return f"{self.prefix}alert:{alert_id}"

    async def record(self, alert: dict[str, Any], updated_at: float) -> None:
        key = self._key(alert["alert_id"])
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "alert", orjson.dumps(alert))
            change = {k: alert[k] for k in ("status", "severity", "updated_at", "event_time")}
            pipe.rpush(key + ":history", orjson.dumps(change))
            if alert["status"] == "resolved":
                pipe.zrem(self.prefix + "alerts:open", alert["alert_id"])
            else:
                pipe.zadd(self.prefix + "alerts:open", {alert["alert_id"]: updated_at})
            pipe.zadd(self.prefix + "alerts:recent", {alert["alert_id"]: updated_at})
            pipe.zremrangebyrank(self.prefix + "alerts:recent", 0, -RECENT_KEEP - 1)
            await pipe.execute()

    async def get(self, alert_id: str) -> dict[str, Any] | None:
        key = self._key(alert_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.lrange(key + ":history", 0, -1)
            fields, history = await pipe.execute()
        if not fields:
            return None
        alert = orjson.loads(fields[b"alert"])
        alert["history"] = [orjson.loads(h) for h in history]
        if b"ack" in fields:
            alert["ack"] = orjson.loads(fields[b"ack"])
        return alert

    async def list(self, status: str | None, severity: str | None,
                   limit: int = 200) -> list[dict[str, Any]]:  # fmt: skip
        index = "alerts:open" if status in ("open", "updated", "escalated") else "alerts:recent"
        ids = await self.client.zrevrange(self.prefix + index, 0, max(limit * 4, 200) - 1)
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hget(self._key(alert_id.decode()), "alert")
            docs = await pipe.execute()
        out = []
        for doc in docs:
            if doc is None:
                continue
            alert = orjson.loads(doc)
            if status == "open" and alert["status"] == "resolved":
                continue
            if status not in (None, "open") and alert["status"] != status:
                continue
            if severity is not None and alert["severity"] != severity:
                continue
            out.append(alert)
        return out[:limit]

    async def acknowledge(self, alert_id: str, feedback: dict[str, Any]) -> None:
        await self.client.hset(self._key(alert_id), "ack", orjson.dumps(feedback))
