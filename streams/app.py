"""The one object that owns configuration and wiring of the worker (the Faust application).

``Application`` builds the Faust app, its topics, the Redis client and the metrics from one
``Settings``; agents and web views receive it as their argument. This package is the only one
that imports Faust.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust
import redis.asyncio as aioredis

from streams.metrics import Metrics
from vigilstream.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    """The topics of SPEC.md, with the configured prefix."""

    raw: faust.TopicT
    clean: faust.TopicT
    deadletter: faust.TopicT
    patients: faust.TopicT
    outcomes: faust.TopicT
    alerts: faust.TopicT
    feedback: faust.TopicT
    webhook_deadletter: faust.TopicT


class Application:
    """Configuration and wiring of one vigilstream worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.faust = faust_app(
            settings,
            f"{settings.topic_prefix}vigilstream",
            broker_credentials=_credentials(settings),
            topic_replication_factor=settings.replication_factor,
            broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 6),
            web_enabled=True,
            web_bind=settings.web_host,
            web_host=settings.web_host,
            web_port=settings.web_port,
            datadir=str(settings.state_dir / "faust"),
        )
        app = self.faust
        self.topics = Topics(
            raw=app.topic(settings.topic("vitals.raw")),
            clean=app.topic(settings.topic("vitals.clean")),
            deadletter=app.topic(settings.topic("vitals.deadletter")),
            patients=app.topic(settings.topic("patients"), compacting=True),
            outcomes=app.topic(settings.topic("outcomes")),
            alerts=app.topic(settings.topic("alerts")),
            feedback=app.topic(settings.topic("alerts.feedback")),
            webhook_deadletter=app.topic(settings.topic("alerts.webhook.deadletter")),
        )
        self.redis = aioredis.from_url(
            settings.redis_url, socket_timeout=2.0, **settings.redis_options()
        )

        from streams import feedback, ingest, monitor, outcomes, profiles, web, webhook
        from streams.alert_store import AlertStore

        self.alert_store = AlertStore(self.redis, settings.topic_prefix)

        self.profiles = profiles.register(self)
        ingest.register(self)
        outcomes.register(self)
        feedback.register(self)
        self.webhooks = webhook.register(self)
        self.registry, self.risk_model = monitor.register(self)
        web.register(self)

        @app.task
        async def quiet_library_loggers() -> None:
            """Faust, mode and aiokafka loggers are left at DEBUG behind a WARNING handler, so
            every send built a log record that was then thrown away (~3 % of the worker's
            CPU, measured with py-spy). Give them the configured level instead."""
            level = settings.log_level.upper()
            for name in ("faust", "mode", "aiokafka", "kafka"):
                logging.getLogger(name).setLevel(level)

        @app.task
        async def declare_topics() -> None:
            """Create every topic of the contract at start, not at first send, so consumers of
            the outputs can subscribe before the first reading arrives."""
            for topic in vars(self.topics).values():
                await topic.maybe_declare()


def faust_app(settings: Settings, app_id: str, **options: Any) -> faust.App:
    """A Faust app with the broker, serializers and group timing every vigilstream app shares."""
    return faust.App(
        app_id,
        broker=settings.faust_broker,
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        **options,
    )


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    context = settings.ssl_context()
    if settings.broker_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.broker_sasl_username,
            password=(
                settings.broker_sasl_password.get_secret_value()
                if settings.broker_sasl_password
                else None
            ),
            mechanism=settings.broker_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def run_worker(settings: Settings) -> None:
    """Run a worker until it is stopped (SIGINT/SIGTERM)."""
    from faust.worker import Worker

    application = Application(settings)
    worker = Worker(application.faust, loglevel=settings.log_level.upper())
    worker.execute_from_commandline()
