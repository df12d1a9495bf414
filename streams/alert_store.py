"""Alert state shared by every worker and the API, in Redis: a projection of the ``alerts`` topic.

The monitor publishes alerts to Kafka only; the ``alert-store`` agent follows the topic and
writes each message here, retrying while Redis is away, and its offset is committed only after
the write. So an alert published while Redis was paused or restarted is written when Redis
answers again, and a replay writes nothing twice: the latest message is overwritten in place and
each history entry is keyed by what identifies the change (status, severity, event time).

Per alert: the latest message, its history and the care team's acknowledgement
(``<prefix>vigil:alert:<id>``, ``...:history``); open alerts in a sorted set by last update
(``<prefix>vigil:alerts:open``), every alert of the last days in another
(``<prefix>vigil:alerts:recent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis

from streams.failure import retry_until_done

if TYPE_CHECKING:
    from streams.app import Application

RECENT_KEEP = 5000


class AlertStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = f"{prefix}vigil:"

    def _key(self, alert_id: str) -> str:
        return f"{self.prefix}alert:{alert_id}"

    def patient_index(self, patient_id: str) -> str:
        """The set of a patient's alert ids (what an erasure deletes)."""
        return f"{self.prefix}patient-alerts:{patient_id}"

    def queue_erase(self, pipe: Any, patient_id: str, alert_ids: list[str]) -> None:
        """Queue the deletion of a patient's alerts, histories, acks and index on ``pipe``."""
        for alert_id in alert_ids:
            pipe.delete(self._key(alert_id), self._key(alert_id) + ":history")
            pipe.zrem(self.prefix + "alerts:open", alert_id)
            pipe.zrem(self.prefix + "alerts:recent", alert_id)
        pipe.delete(self.patient_index(patient_id))

    async def record(self, alert: dict[str, Any], updated_at: float) -> None:
        """Write one alert message; idempotent, so redelivery is harmless."""
        key = self._key(alert["alert_id"])
        change = {k: alert[k] for k in ("status", "severity", "updated_at", "event_time")}
        entry = f"{alert['event_time']}|{alert['status']}|{alert['severity']}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "alert", orjson.dumps(alert))
            pipe.hdel(key, "current")  # the new message is the latest word until a checkpoint
            pipe.hsetnx(key + ":history", entry, orjson.dumps(change))
            pipe.sadd(self.patient_index(alert["patient_id"]), alert["alert_id"])
            if alert["status"] == "resolved":
                pipe.zrem(self.prefix + "alerts:open", alert["alert_id"])
            else:
                pipe.zadd(self.prefix + "alerts:open", {alert["alert_id"]: updated_at})
            pipe.zadd(self.prefix + "alerts:recent", {alert["alert_id"]: updated_at})
            pipe.zremrangebyrank(self.prefix + "alerts:recent", 0, -RECENT_KEEP - 1)
            await pipe.execute()

    # Sets the "current" field only on an alert the store holds: an erased alert stays erased.
    REFRESH = ("if redis.call('HEXISTS', KEYS[1], 'alert') == 1 then "
               "return redis.call('HSET', KEYS[1], 'current', ARGV[1]) end return 0")  # fmt: skip

    async def refresh(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        """Record open alerts' current explanation (``AlertEngine.current``)."""
        script = self.client.register_script(self.REFRESH)
        async with self.client.pipeline(transaction=False) as pipe:
            for alert_id, current in updates:
                await script(keys=[self._key(alert_id)], args=[orjson.dumps(current)], client=pipe)
            await pipe.execute()

    async def get(self, alert_id: str) -> dict[str, Any] | None:
        key = self._key(alert_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.hvals(key + ":history")
            fields, history = await pipe.execute()
        if not fields or b"alert" not in fields:
            return None
        alert = orjson.loads(fields[b"alert"])
        changes = [orjson.loads(h) for h in history]
        alert["history"] = sorted(changes, key=lambda c: (c["event_time"], c["updated_at"]))
        if b"ack" in fields:
            alert["ack"] = orjson.loads(fields[b"ack"])
        if b"current" in fields and alert["status"] != "resolved":
            alert["current"] = orjson.loads(fields[b"current"])
        return alert

    async def list(self, status: str | None, severity: str | None,
                   limit: int = 200) -> list[dict[str, Any]]:  # fmt: skip
        index = "alerts:open" if status in ("open", "updated", "escalated") else "alerts:recent"
        ids = await self.client.zrevrange(self.prefix + index, 0, max(limit * 4, 200) - 1)
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hmget(self._key(alert_id.decode()), "alert", "ack", "current")
            docs = await pipe.execute()
        out = []
        for doc, ack, current in docs:
            if doc is None:
                continue
            alert = orjson.loads(doc)
            if ack is not None:  # the care team's verdict travels with the alert
                alert["ack"] = orjson.loads(ack)
            if current is not None and alert["status"] != "resolved":
                alert["current"] = orjson.loads(current)
            if status == "open" and alert["status"] == "resolved":
                continue
            if status not in (None, "open") and alert["status"] != status:
                continue
            if severity is not None and alert["severity"] != severity:
                continue
            out.append(alert)
        return out[:limit]

    async def acknowledge(self, alert_id: str, feedback: dict[str, Any]) -> bool:
        """Record the first acknowledgement of an alert; False when it was acknowledged before
        (the care team's verdict is given once; later attempts change nothing)."""
        return bool(await self.client.hsetnx(self._key(alert_id), "ack", orjson.dumps(feedback)))


def register(application: Application) -> None:
    """The agent that keeps the store in step with the ``alerts`` topic."""
    store, metrics = application.alert_store, application.metrics
    topic_name = application.topics.alerts.get_topic_name()

    @application.faust.agent(application.topics.alerts, name="alert-store")
    async def follow(stream: Any) -> None:
        async for event in stream.events():
            alert = orjson.loads(event.value)
            when = event.message.timestamp or 0.0
            await retry_until_done(lambda a=alert, w=when: store.record(a, w), "redis",
                                   "writing the alert store", metrics)  # fmt: skip
            application.progress.note(topic_name, event.message.partition, event.message.offset)
