"""Webhook notifier: alerts POSTed to configured URLs, signed, retried, never blocking the stream.

Each alert is queued (bounded) and delivered by a background task per URL. The body is the alert
JSON, signed two ways with ``VIGIL_WEBHOOK_SECRET``:

- **Standard Webhooks** (standardwebhooks.com): ``webhook-id`` (stable across retries of the
  same message, so receivers can drop repeats), ``webhook-timestamp`` and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of id.timestamp.body>``), so any receiver verifies it with an
  off-the-shelf library and rejects replays of old deliveries. A secret written ``whsec_<base64>``
  is used as that key; any other secret is used as raw bytes (its ``whsec_`` form is
  ``"whsec_" + base64(secret)``).
- ``X-Vigil-Signature: sha256=<hex>``, the HMAC-SHA256 of the body alone, for receivers
  written before.

Deliveries wait ``VIGIL_ALERT_GROUP_WAIT_S`` (default 5 s of processing time) after an
episode's first message and carry its latest state once (``alerts.grouping``): vitals of one
moment arriving as separate messages page once, at ``high``, not ``medium`` then ``high``.

A failed delivery is retried with exponential backoff (1, 2, 4, ... s, capped at 60 s); after
``VIGIL_WEBHOOK_MAX_ATTEMPTS`` failures the alert goes to the ``alerts.webhook.deadletter`` topic
with the last error, so nothing is lost silently. A full queue (the receiver down for long)
dead-letters the oldest alert rather than stall the monitor.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import orjson

from alerts.grouping import GroupWait

if TYPE_CHECKING:
    from streams.app import Application

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BACKOFF_CAP_S = 60.0


def webhook_key(secret: str) -> bytes:
    """The Standard Webhooks signing key of a configured secret.

    >>> webhook_key("whsec_aGVsbG8="), webhook_key("hello")
    (b'hello', b'hello')
    """
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :] + "==")
    return secret.encode()


def message_id(alert: dict[str, object]) -> str:
    """``webhook-id`` of an alert message: the same for retries and for a replay of the same
    change after a crash (it names the episode's change, not the delivery), so receivers
    drop repeats.

    >>> message_id({"alert_id": "a-1", "status": "open", "severity": "high",
    ...             "event_time": "2026-11-27T08:15:00Z"})
    'msg_f85460a45eca10819d655e68ac91a297'
    """
    change = f"{alert['alert_id']}|{alert['status']}|{alert['severity']}|{alert['event_time']}"
    return "msg_" + hashlib.sha256(change.encode()).hexdigest()[:32]


def standard_headers(key: bytes, body: bytes, now: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for one delivery."""
    from standardwebhooks.webhooks import Webhook

    msg_id = message_id(orjson.loads(body))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(key).sign(msg_id, now, body.decode()),
    }


def signature(secret: bytes, body: bytes) -> str:
    """The value of ``X-Vigil-Signature`` for a body.

    >>> signature(b"s3cret", b'{"a": 1}')[:15]
    'sha256=1a9fab6c'
    """
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """Delivers alerts to one URL from a bounded queue, with retries."""

    def __init__(self, application: Application, url: str, secret: bytes, max_attempts: int,
                 first_backoff_s: float = 1.0) -> None:  # fmt: skip
        self.application = application
        self.url = url
        self.secret = secret
        self.key = webhook_key(secret.decode()) if secret else b""
        self.max_attempts = max_attempts
        self.first_backoff_s = first_backoff_s
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._pending: set[asyncio.Future[None]] = set()

    def offer(self, body: bytes) -> None:
        """Queue an alert without waiting; the oldest is dead-lettered when the queue is full."""
        if self.queue.full():
            oldest = self.queue.get_nowait()
            task = asyncio.ensure_future(self._dead_letter(oldest, "queue full"))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        self.queue.put_nowait(body)

    def headers(self, body: bytes) -> dict[str, str]:
        out = {"Content-Type": "application/json",
               "X-Vigil-Signature": signature(self.secret, body)}  # fmt: skip
        if self.key:
            out.update(standard_headers(self.key, body, datetime.now(UTC)))
        return out

    async def run(self) -> None:
        metrics = self.application.metrics
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                body = await self.queue.get()
                delay, error = self.first_backoff_s, ""
                for attempt in range(1, self.max_attempts + 1):
                    try:
                        async with session.post(
                            self.url, data=body, headers=self.headers(body)
                        ) as response:
                            if 200 <= response.status < 300:
                                metrics.webhook.labels("delivered").inc()
                                break
                            error = f"HTTP {response.status}"
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        error = type(exc).__name__
                    metrics.webhook.labels("retried").inc()
                    if attempt < self.max_attempts:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, BACKOFF_CAP_S)
                else:
                    await self._dead_letter(body, error)

    async def _dead_letter(self, body: bytes, error: str) -> None:
        self.application.metrics.webhook.labels("dead_lettered").inc()
        log.warning("webhook delivery failed after retries: %s", error)
        doc = {"url": self.url, "error": error, "alert": orjson.loads(body)}
        await self.application.topics.webhook_deadletter.send(value=orjson.dumps(doc))


class Pager:
    """What pages: the alert messages of the monitor, held for the group wait
    (``alerts.grouping``), then offered to every webhook at their latest state."""

    def __init__(self, notifiers: list[WebhookNotifier], wait_s: float) -> None:
        self.notifiers = notifiers
        self.group = GroupWait(wait_s)

    def offer(self, alert: dict[str, object], now: float) -> None:
        if self.notifiers:
            self._deliver(self.group.offer(alert, now))

    def flush(self, now: float) -> None:
        self._deliver(self.group.due(now))

    def _deliver(self, alerts: list[dict[str, object]]) -> None:
        for alert in alerts:
            body = orjson.dumps(alert)
            for notifier in self.notifiers:
                notifier.offer(body)


def register(application: Application) -> Pager:
    settings = application.settings
    urls = [u.strip() for u in settings.webhook_urls.split(",") if u.strip()]
    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
    attempts, backoff = settings.webhook_max_attempts, settings.webhook_first_backoff_s
    notifiers = [WebhookNotifier(application, url, secret, attempts, backoff) for url in urls]
    for notifier in notifiers:
        application.faust.task(notifier.run)
    pager = Pager(notifiers, settings.alert_group_wait_s)
    if notifiers and settings.alert_group_wait_s > 0:

        @application.faust.timer(interval=min(0.5, settings.alert_group_wait_s / 4))
        async def flush_pages() -> None:
            pager.flush(time.time())

    return pager
