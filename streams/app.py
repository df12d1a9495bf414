"""The one object that owns configuration and wiring of the worker (the Faust application).

``Application`` builds the Faust app, its topics, the Redis client and the metrics from one
``Settings``; agents and web views receive it as their argument. This package is the only one
that imports Faust.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any

import faust
import redis.asyncio as aioredis

from streams.identities import IdentityMap
from streams.metrics import Metrics
from streams.suggestion_index import SuggestionIndex
from streams.topics import TopicLayout
from vigilstream.config import Settings
from vigilstream.privacy import Pseudonymizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    """The topics of docs/spec.md, with the configured prefix."""

    raw: faust.TopicT
    clean: faust.TopicT
    deadletter: faust.TopicT
    patients: faust.TopicT
    outcomes: faust.TopicT
    alerts: faust.TopicT
    feedback: faust.TopicT
    webhook_deadletter: faust.TopicT
    suggestions: faust.TopicT
    decisions: faust.TopicT
    suggestion_outcomes: faust.TopicT
    suggestion_feedback: faust.TopicT


class Application:
    """Configuration and wiring of one vigilstream worker.

    ``layout`` is what ``streams.topics.declare_topics`` found on the broker before the app was
    built (None in processes that only inspect the wiring, such as the route-table test).
    """

    def __init__(self, settings: Settings, layout: TopicLayout | None = None) -> None:
        from streams.watchdog import Progress

        self.settings = settings
        self.layout = layout
        self.metrics = Metrics()
        self.progress = Progress()
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.faust = self._faust_app()
        self.topics = self._topics()
        self.redis = aioredis.from_url(
            settings.redis_url, socket_timeout=2.0, **settings.redis_options()
        )
        key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
        self.pseudonym = Pseudonymizer(key)
        self.identities = IdentityMap(self.redis, settings.topic_prefix, self.pseudonym,
                                      self.metrics)  # fmt: skip
        self.suggestion_index = SuggestionIndex(self.redis, settings.topic_prefix)
        self.progress_topics = {
            self.topics.raw.get_topic_name(), self.topics.clean.get_topic_name(),
            self.topics.alerts.get_topic_name(),
        }  # fmt: skip
        self._wire()

    def _faust_app(self) -> faust.App:
        from streams.web import web_options

        settings = self.settings
        return faust_app(
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
            # Offsets are committed once the checkpoint holding an event's effect is saved
            # (streams.monitor), not when a rebalance asks: no waiting for acks there.
            stream_wait_empty=False,
            # Only the care-team API is served: none of Faust's built-in pages.
            web_router_enabled=False,
            web_tables_enabled=False,
            web_graph_enabled=False,
            web_stats_enabled=False,
            web_metrics_enabled=False,
            web_application_options=web_options(self),
        )

    def _topics(self) -> Topics:
        app, topic = self.faust, self.settings.topic
        return Topics(
            raw=app.topic(topic("vitals.raw")),
            clean=app.topic(topic("vitals.clean")),
            deadletter=app.topic(topic("vitals.deadletter")),
            patients=app.topic(topic("patients"), compacting=True),
            outcomes=app.topic(topic("outcomes")),
            alerts=app.topic(topic("alerts")),
            feedback=app.topic(topic("alerts.feedback")),
            webhook_deadletter=app.topic(topic("alerts.webhook.deadletter")),
            suggestions=app.topic(topic("suggestions")),
            decisions=app.topic(topic("suggestions.decisions")),
            suggestion_outcomes=app.topic(topic("suggestions.outcomes")),
            suggestion_feedback=app.topic(topic("suggestions.feedback")),
        )

    def _wire(self) -> None:
        """Agents, timers and web views, each module attaching its own."""
        from streams import (
            alert_store,
            feedback,
            ingest,
            monitor,
            outcomes,
            profiles,
            watchdog,
            web,
            webhook,
        )

        self.alert_store = alert_store.AlertStore(self.redis, self.settings.topic_prefix)
        self.profiles = profiles.register(self)
        ingest.register(self)
        outcomes.register(self)
        feedback.register(self)
        alert_store.register(self)
        self.pager = webhook.register(self)
        self.monitor = monitor.register(self)
        self.registry, self.risk_model = self.monitor.registry, self.monitor.model
        watchdog.register(self)
        web.register(self)
        self.faust.task(self._quiet_library_loggers)

    async def _quiet_library_loggers(self) -> None:
        quiet_library_loggers(self.settings.log_level)

    def layout_id(self, topic: str) -> str | None:
        """The topic id the broker gave ``topic`` when the worker started, if known."""
        return None if self.layout is None else self.layout.topic_ids.get(topic)


def quiet_library_loggers(level: str) -> None:
    """Faust, mode and aiokafka loggers are left at DEBUG behind a WARNING handler by Faust's
    worker, so every send built a log record that was then thrown away (~3 % of the worker's
    CPU, measured with py-spy). Give them the configured level instead (once the worker has set
    up logging: from a task)."""
    level = level.upper()
    for name in ("faust", "mode", "aiokafka"):
        logging.getLogger(name).setLevel(level)
    # kafka-python (the watchdog's admin client) narrates every connection at INFO.
    logging.getLogger("kafka").setLevel(max(logging.getLevelName(level), logging.WARNING))


_CONSUMERS: weakref.WeakSet[Any] = weakref.WeakSet()  # Faust's consumers in this process
BACKLOG_FETCH_WAIT_MS = 100  # the fetch wait while the ingest is behind (``FetchWait``)


class FetchWait:
    """The fetch wait of Faust's consumers: short while the worker keeps up, longer while its
    ingest is behind.

    aiokafka only fetches partitions with nothing buffered, so under a backlog its fetches are
    of the quiet ones (profiles, outcomes, feedback), and the embedded Tansu answers those only
    when the wait is over: at 20 ms that is 50 empty fetches a second per worker, and with two
    workers the broker took 0.36-0.42 of a core instead of 0.30 (2 workers 1.35-1.5x one
    instead of 1.6-1.75x). While records are read late anyway, 100 ms costs nothing; once the
    worker keeps up, the short wait is what keeps event-to-alert low.

    >>> wait = FetchWait(20, apply=lambda ms: None)
    >>> wait.note(age_s=8.0), wait.ms, wait.note(age_s=9.0), wait.note(age_s=0.05), wait.ms
    (True, 100, False, True, 20)
    """

    def __init__(self, keeping_up_ms: int, behind_s: float = 5.0,
                 apply: Any = None) -> None:  # fmt: skip
        self.keeping_up_ms, self.behind_s = keeping_up_ms, behind_s
        self.ms = keeping_up_ms
        self.apply = apply or set_fetch_wait

    def note(self, age_s: float) -> bool:
        """A record read ``age_s`` after it was written; True when the wait changed."""
        wanted = max(BACKLOG_FETCH_WAIT_MS, self.keeping_up_ms) if age_s > self.behind_s \
            else self.keeping_up_ms  # fmt: skip
        if wanted == self.ms:
            return False
        self.ms = wanted
        self.apply(wanted)
        return True


def set_fetch_wait(max_wait_ms: int) -> None:
    """Change the fetch wait of this process's Faust consumers from their next fetch on."""
    for consumer in list(_CONSUMERS):
        fetcher = getattr(consumer, "_fetcher", None)  # made when the consumer starts
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = max_wait_ms


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Make Faust's consumers wait at most ``max_wait_ms`` for a fetch to fill.

    Faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer. A broker that answers a
    fetch only when that wait is over, as the embedded Tansu does on a quiet partition, then
    adds up to 1.5 s per hop to every alert: the benchmark measured a 1.4 s median
    event-to-alert time at half load. The consumer object is adjusted before it starts (aiokafka
    hands the value to its fetcher then); one value per process."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    create = getattr(thread._create_consumer, "__wrapped__", thread._create_consumer)

    def create_consumer(self: Any, loop: Any) -> Any:
        consumer = create(self, loop)
        consumer._fetch_max_wait_ms = max_wait_ms
        _CONSUMERS.add(consumer)
        return consumer

    create_consumer.__wrapped__ = create  # type: ignore[attr-defined]
    thread._create_consumer = create_consumer


def faust_app(settings: Settings, app_id: str, **options: Any) -> faust.App:
    """A Faust app with the broker, serializers and group timing every vigilstream app shares."""
    limit_fetch_wait(settings.fetch_max_wait_ms)
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
        # Fewer, larger produce requests: the broker's share of the CPU with two workers fell
        # from ~0.34 to ~0.27 of a core in the scale-out benchmark (#13).
        producer_linger=settings.producer_linger_ms / 1000.0,
        producer_max_batch_size=256 * 1024,
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
    """Declare the topics (waiting for the broker), then run a worker until it is stopped."""
    from streams.topics import declare_topics
    from streams.worker import BoundedWorker

    layout = declare_topics(settings)
    application = Application(settings, layout)
    worker = BoundedWorker(application.faust, loglevel=settings.log_level.upper(),
                           shutdown_timeout_s=settings.shutdown_timeout_s)  # fmt: skip
    worker.execute_from_commandline()
