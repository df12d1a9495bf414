"""The worker declares its topics, correctly, before anything subscribes to them.

A broker that auto-creates topics gives a topic the partition count of *its* default when the
first client asks for it (the embedded broker: 4), whatever ``VIGIL_PARTITIONS`` says. So before
the Faust app starts, ``declare_topics`` creates every topic of the contract that is missing,
with the configured partitions (``patients`` compacted), and reads back what exists: the topic
id of ``vitals.clean`` tells the monitor whether the log it checkpointed offsets of is still the
same log (a broker that lost its data gives the topic a new id; see ``streams.checkpoints``).

Failure policy (RELIABILITY.md): a broker that does not answer is retried with backoff, one
line per attempt on stderr, until it answers or the process is stopped; a topic that exists
with an unusable layout is one clear error naming the topic and the fix.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigilstream.config import Settings

log = logging.getLogger(__name__)

#: Topics of the contract (docs/spec.md) the worker reads or writes, without the prefix.
CONTRACT_TOPICS: tuple[str, ...] = (
    "vitals.raw", "vitals.clean", "vitals.deadletter", "patients", "outcomes", "alerts",
    "alerts.feedback", "alerts.webhook.deadletter", "suggestions", "suggestions.decisions",
    "suggestions.outcomes", "suggestions.feedback",
)  # fmt: skip
COMPACTED = frozenset({"patients"})
BACKOFF_FIRST_S, BACKOFF_CAP_S = 1.0, 30.0


class TopicLayoutError(RuntimeError):
    """A topic exists in a shape the worker cannot use; the message is one readable line."""


@dataclass(frozen=True)
class TopicLayout:
    """What the broker holds after declaration: partitions and topic id of each topic."""

    partitions: dict[str, int]
    topic_ids: dict[str, str | None]
    created: tuple[str, ...]


def backoff_delays(first: float = BACKOFF_FIRST_S, cap: float = BACKOFF_CAP_S):
    """Exponential backoff: first, 2*first, ... capped.

    >>> d = backoff_delays(1, 5); [next(d) for _ in range(5)]
    [1, 2, 4, 5, 5]
    """
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def _admin(settings: Settings):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(
        **settings.kafka_client_options(), client_id="vigilstream-admin",
        request_timeout_ms=10_000, bootstrap_timeout_ms=5_000,
    )  # fmt: skip


def describe(settings: Settings, names: list[str]) -> dict[str, dict]:
    """Existing topics among ``names``: {name: {"partitions": n, "topic_id": id}}."""
    admin = _admin(settings)
    try:
        found = {}
        for doc in admin.describe_topics(names):
            if doc.get("error_code", 0) == 0 and doc.get("partitions"):
                found[doc["name"]] = {
                    "partitions": len(doc["partitions"]),
                    "topic_id": str(doc.get("topic_id")) if doc.get("topic_id") else None,
                }
        return found
    finally:
        admin.close()


def declare_once(settings: Settings) -> TopicLayout:
    """Create the missing topics of the contract and return the layout; raises on no broker."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    names = [settings.topic(t) for t in CONTRACT_TOPICS]
    existing = describe(settings, names)
    missing = [n for n in names if n not in existing]
    created: list[str] = []
    if missing:
        admin = _admin(settings)
        try:
            for name in missing:  # one by one: another worker may be creating the same ones
                compact = _short(settings, name) in COMPACTED
                configs = {"cleanup.policy": "compact"} if compact else {}
                topic = NewTopic(name, settings.partitions, settings.replication_factor,
                                 topic_configs=configs)  # fmt: skip
                try:
                    admin.create_topics([topic])
                    created.append(name)
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()
        existing = describe(settings, names)
    absent = [n for n in names if n not in existing]
    if absent:
        raise TopicLayoutError(f"topic {absent[0]} could not be created on the broker")
    layout = TopicLayout(
        partitions={_short(settings, n): d["partitions"] for n, d in existing.items()},
        topic_ids={_short(settings, n): d["topic_id"] for n, d in existing.items()},
        created=tuple(_short(settings, n) for n in created),
    )
    check_layout(layout, settings)
    return layout


def check_layout(layout: TopicLayout, settings: Settings) -> None:
    """Refuse layouts that would break ownership; note the ones that only limit scale-out.

    ``vitals.clean`` is the unit of ownership: it may have any number of partitions, but never
    fewer than one, and a count other than ``VIGIL_PARTITIONS`` is worth a line in the log.
    """
    clean = layout.partitions.get("vitals.clean", 0)
    if clean < 1:
        raise TopicLayoutError(
            f"topic {settings.topic('vitals.clean')} has no partitions; delete it so the worker "
            "can declare it"
        )
    if clean != settings.partitions:
        log.info(
            "topic %s has %d partitions (VIGIL_PARTITIONS=%d applies to new topics only)",
            settings.topic("vitals.clean"), clean, settings.partitions,
        )  # fmt: skip


def declare_topics(
    settings: Settings,
    say: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int | None = None,
) -> TopicLayout:
    """``declare_once`` until the broker answers: backoff, one line per failed attempt."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    delays = backoff_delays()
    attempt = 0
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # kafka-python logs every failed connection at ERROR
    try:
        while True:
            attempt += 1
            try:
                return declare_once(settings)
            except TopicLayoutError:
                raise
            except Exception as exc:
                if attempts is not None and attempt >= attempts:
                    raise
                delay = next(delays)
                say(
                    f"vigilstream worker: broker {','.join(settings.bootstrap_servers)} not "
                    f"reachable ({type(exc).__name__}); retrying in {delay:g} s "
                    f"(attempt {attempt})"
                )
                sleep(delay)
    finally:
        quiet.setLevel(level)


def _short(settings: Settings, name: str) -> str:
    return name[len(settings.topic_prefix) :]
