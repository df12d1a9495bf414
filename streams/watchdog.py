"""The worker watches itself: progress per partition, consumer lag, and the log it stands on.

``Progress`` remembers the last offset each agent finished per partition. Every few seconds the
watchdog compares it with the partition's high watermark: a partition with a backlog whose
offset has not moved for ``VIGIL_STALL_AFTER_S`` is *stalled*, and ``/health`` says so (503)
instead of "ok". The lag is exported as ``vigil_consumer_lag{topic,partition}``.

It also checks that ``vitals.clean`` is still the topic the worker started on (same topic id).
A broker that lost its data (the embedded one keeps topics in memory) gives the worker offsets
that point into a log that no longer exists; no consumer group recovers from that by itself.
The watchdog then declares the topics again and exits with ``EXIT_LOG_LOST`` and one line, so
the supervisor (compose ``restart``, systemd) starts a fresh worker on the new log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.app import Application
    from vigilstream.config import Settings

log = logging.getLogger(__name__)
EXIT_LOG_LOST = 75  # EX_TEMPFAIL: try again (a supervisor restarts the worker)
LOOP_PROBE_S = 0.1  # the event-loop probe's sleep (vigil_event_loop_lag_seconds)
CHECK_EVERY_S = 5.0
LOG_CHECK_S = 5.0


@dataclass
class Progress:
    """Last finished offset per (topic, partition) and when it last moved (monotonic)."""

    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    moved_at: dict[tuple[str, int], float] = field(default_factory=dict)
    stalled: list[str] = field(default_factory=list)

    def note(self, topic: str, partition: int, offset: int) -> None:
        key = (topic, partition)
        self.offsets[key] = offset
        self.moved_at[key] = time.monotonic()

    def assess(self, highwaters: dict[tuple[str, int], int], stall_after_s: float,
               now: float) -> tuple[dict[tuple[str, int], int], list[str]]:  # fmt: skip
        """(lag per partition, partitions stalled) given the high watermarks.

        >>> p = Progress(); p.note("t", 0, 9); p.moved_at[("t", 0)] = 0.0
        >>> p.assess({("t", 0): 10, ("t", 1): 0}, 60, 100.0)
        ({('t', 0): 0, ('t', 1): 0}, [])
        >>> p.assess({("t", 0): 15}, 60, 100.0)
        ({('t', 0): 5}, ['t/0'])
        """
        lags, stalled = {}, []
        for key, high in highwaters.items():
            done = self.offsets.get(key)
            lag = max(0, high - (done + 1 if done is not None else high))
            lags[key] = lag
            since = self.moved_at.setdefault(key, now)
            if lag > 0 and now - since > stall_after_s:
                stalled.append(f"{key[0]}/{key[1]}")
        return lags, stalled


def highwaters(application: Application) -> dict[tuple[str, int], int]:
    """High watermarks of the assigned partitions of the topics whose progress is noted."""
    consumer = application.faust.consumer
    tracked = application.progress_topics
    out = {}
    for tp in consumer.assignment():
        if tp.topic in tracked:
            high = consumer.highwater(tp)
            if high is not None:
                out[(tp.topic, tp.partition)] = int(high)
    return out


def log_lost(settings: Settings, started_on: str | None) -> str | None:
    """A line saying what was lost when ``vitals.clean`` is gone or is another topic now."""
    from streams.topics import describe

    name = settings.topic("vitals.clean")
    found = describe(settings, [name])
    if name not in found:
        return f"broker lost topic {name} (restarted empty?)"
    if started_on is not None and found[name]["topic_id"] != started_on:
        return f"topic {name} was created anew on the broker (restarted empty?)"
    return None


class LogWatch(threading.Thread):
    """A daemon thread, so it still acts when the event loop is stuck in a failing client:
    every ``every_s`` it asks the broker for ``vitals.clean`` and, when the log the worker
    started on is gone, saves what it can, declares the topics again and exits."""

    def __init__(self, application: Application, loop: asyncio.AbstractEventLoop,
                 every_s: float = LOG_CHECK_S) -> None:  # fmt: skip
        super().__init__(name="vigil-log-watch", daemon=True)
        self.application, self.loop, self.every_s = application, loop, every_s

    def run(self) -> None:
        settings = self.application.settings
        started_on = self.application.layout_id("vitals.clean")
        while True:
            time.sleep(self.every_s)
            try:
                lost = log_lost(settings, started_on)
            except Exception:  # broker unreachable: /health reports it; nothing to decide yet
                continue
            if lost is not None:
                self.exit_for_supervisor(lost)

    def exit_for_supervisor(self, reason: str) -> None:
        from streams.topics import declare_once

        save = self.application.monitor.registry.checkpoint()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(save, self.loop).result(timeout=10)
        with contextlib.suppress(Exception):
            declare_once(self.application.settings)
        line = (f"vigilstream worker: {reason}; topics declared again, exiting "
                f"({EXIT_LOG_LOST}) for the supervisor to start a fresh worker")  # fmt: skip
        print(line, file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(EXIT_LOG_LOST)


def register(application: Application) -> None:
    app, settings, metrics = application.faust, application.settings, application.metrics

    @app.timer(interval=CHECK_EVERY_S)
    async def watch() -> None:
        lags, stalled = application.progress.assess(
            highwaters(application), settings.stall_after_s, time.monotonic()
        )
        for (topic, partition), lag in lags.items():
            metrics.consumer_lag.labels(topic, str(partition)).set(lag)
        application.progress.stalled = stalled
        metrics.partition_stalled.set(len(stalled))

    @app.task
    async def probe_event_loop() -> None:
        """``vigil_event_loop_lag_seconds``: a stall of the loop (a long computation, a
        blocking call) delays every record and alert behind it; this shows when and how long."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LOOP_PROBE_S
            await asyncio.sleep(LOOP_PROBE_S)
            metrics.loop_lag.observe(max(0.0, loop.time() - due))

    @app.task
    async def start_log_watch() -> None:
        if application.layout is not None:  # only a worker that declared its topics
            LogWatch(application, asyncio.get_running_loop()).start()
