"""Webhook delivery to a real local HTTP receiver: signed, and retried while it is down."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.alerts.test_engine import CALM, SICK
from tests.helpers import WorkerProcess, read_topic
from tests.integration.test_alerts import minutes
from tests.integration.test_monitor import produce
from vigilstream.config import Settings
from vigilstream.localstack import free_port

pytestmark = pytest.mark.integration
SECRET = b"hook-secret"


class Receiver:
    """A local HTTP endpoint that records what it is sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[dict, str]] = []
        self.standard: list[tuple[bytes, dict]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received, standard = self.received, self.standard

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, self.headers.get("X-Vigil-Signature", "")))
                standard.append((body, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def alerts(self) -> list[dict]:
        return [json.loads(body) for body, _ in self.received]


def with_webhook(settings: Settings, url: str, first_backoff_s: float, attempts: int) -> Settings:
    return settings.model_copy(update={
        "webhook_urls": url, "webhook_secret": SecretStr(SECRET.decode()),
        "webhook_first_backoff_s": first_backoff_s, "webhook_max_attempts": attempts})  # fmt: skip


def wait_for(condition, timeout: float = 40) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_signed_delivery_and_retries_while_the_receiver_is_down(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    settings = with_webhook(settings, f"http://127.0.0.1:{port}/hook", 0.5, 8)
    receiver = Receiver(port)
    worker = WorkerProcess(settings, tmp_path / "w.log")
    try:
        worker.wait_healthy()
        start = time.time() - 3 * 3600
        # The receiver is down: the stream keeps flowing and the alert is on the topic.
        produce(settings, minutes("p-hook", [CALM] * 10 + [SICK] * 5, start), batch=7)
        (on_topic,) = [v for _, v in read_topic(settings, "alerts", expected=1)
                       if v["kind"] == "deterioration"]  # fmt: skip
        # A failed attempt (after the default group wait), then the receiver comes up.
        assert wait_for(lambda: b'vigil_webhook_deliveries_total{outcome="retried"}'
                        in worker.get("/metrics")[1], timeout=60)  # fmt: skip
        receiver.start()
        assert wait_for(lambda: any(a["alert_id"] == on_topic["alert_id"]
                                    for a in receiver.alerts()))  # fmt: skip
        body, sig = next((b, s) for b, s in receiver.received
                         if json.loads(b)["alert_id"] == on_topic["alert_id"])  # fmt: skip
        assert sig == "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        # Standard Webhooks: an off-the-shelf verifier accepts it; a tampered body it refuses
        verifier = Webhook("whsec_" + base64.b64encode(SECRET).decode())
        body, headers = next((b, h) for b, h in receiver.standard
                             if json.loads(b)["alert_id"] == on_topic["alert_id"])  # fmt: skip
        assert verifier.verify(body, headers)["alert_id"] == on_topic["alert_id"]
        with pytest.raises(WebhookVerificationError):
            verifier.verify(body.replace(b"deterioration", b"battery_low"), headers)
        _, metrics = worker.get("/metrics")
        assert b'vigil_webhook_deliveries_total{outcome="retried"}' in metrics
        assert b'vigil_webhook_deliveries_total{outcome="delivered"}' in metrics
    finally:
        worker.stop()
        receiver.stop()


def test_undeliverable_alerts_end_in_the_webhook_dead_letter_topic(
    settings: Settings, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    settings = with_webhook(settings, url, 0.2, 3)
    worker = WorkerProcess(settings, tmp_path / "w.log")
    try:
        worker.wait_healthy()
        produce(settings, minutes("p-dl", [CALM] * 10 + [SICK] * 5, time.time() - 3 * 3600),
                batch=7)  # fmt: skip
        dead = read_topic(settings, "alerts.webhook.deadletter", expected=1, timeout=60)
        assert dead, "no webhook dead letter"
        doc = dead[0][1]
        assert doc["alert"]["kind"] == "deterioration" and doc["url"] == url
        assert doc["error"]
        _, metrics = worker.get("/metrics")
        assert b'vigil_webhook_deliveries_total{outcome="dead_lettered"}' in metrics
    finally:
        worker.stop()


def test_an_episode_that_changes_within_the_group_wait_pages_once_at_its_latest_state(
    settings: Settings, tmp_path: Path
) -> None:
    """Issue #14: vitals arriving as separate messages (one per signal, as from different
    devices) move an episode from medium to high within a second of processing time; the
    alerts topic carries both changes, the webhook one page, at high, after the default group
    wait (VIGIL_ALERT_GROUP_WAIT_S)."""
    from datetime import datetime

    port = free_port()
    settings = with_webhook(settings, f"http://127.0.0.1:{port}/hook", 0.5, 8)
    receiver = Receiver(port)
    receiver.start()
    worker = WorkerProcess(settings, tmp_path / "w.log")
    try:
        worker.wait_healthy()
        start = time.time() - 3 * 3600
        produce(settings, minutes("p-moment", [CALM] * 30, start), batch=7)
        breathless = {**CALM, "respiratory_rate": SICK["respiratory_rate"], "spo2": SICK["spo2"]}
        plan = [breathless] * 10 + [SICK] * 10  # NEWS2 6 (medium), then 12 (high)
        one_per_signal = [
            {"patient_id": "p-moment", "signal": name, "value": value, "ts": start + (30 + m) * 60}
            for m, vitals in enumerate(plan) for name, value in vitals.items()
        ]  # fmt: skip
        produce(settings, one_per_signal)
        changes = [v for _, v in read_topic(settings, "alerts", expected=2, timeout=60)
                   if v["kind"] == "deterioration"]  # fmt: skip
        assert [(c["status"], c["severity"]) for c in changes] == [
            ("open", "medium"),
            ("updated", "high"),
        ]
        apart = [datetime.fromisoformat(c["updated_at"]).timestamp() for c in changes]
        assert apart[1] - apart[0] < 5.0  # both inside the default group wait
        alert_id = changes[0]["alert_id"]
        # A later episode of another patient is due after the first: once its page arrives,
        # every page of the first episode's wait has arrived too.
        produce(settings, minutes("p-marker", [CALM] * 10 + [SICK] * 5, start), batch=7)
        assert wait_for(lambda: any(a["patient_id"] == "p-marker" for a in receiver.alerts()),
                        timeout=60)  # fmt: skip
        pages = [a for a in receiver.alerts() if a["alert_id"] == alert_id]
        assert [(p["status"], p["severity"]) for p in pages] == [("updated", "high")]
    finally:
        worker.stop()
        receiver.stop()
