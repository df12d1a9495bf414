"""The worker's failure policy, in one place; RELIABILITY.md has the table and the tests.

- **Redis, for the event in hand** (loading a patient's checkpoint, writing the alert store):
  ``retry_until_done`` retries with backoff (0.1 s doubling to 5 s), one WARNING per failure,
  and never drops the event: the agent waits, Kafka holds the backlog, ``/health`` says
  degraded.
- **Redis, for checkpoints**: states stay dirty and are retried at the next checkpoint; the
  offsets of the events they hold are not committed until a save succeeds
  (``streams.monitor``), so a crash meanwhile replays them.
- **Redis lost its data**: the store marker (``streams.storage``) notices at the next
  checkpoint; logged at ERROR, counted, every held state saved again.
- **Broker unreachable at start**: ``streams.topics.declare_topics`` retries, one line each.
- **Broker lost its topics**: ``streams.watchdog`` declares them again and exits with code 75
  for the supervisor; checkpointed offsets of the old log are ignored (topic id).
- **A partition stops moving**: ``/health`` answers 503 ``stalled``.
- **SIGTERM**: a graceful stop bounded by ``VIGIL_SHUTDOWN_TIMEOUT_S`` (``streams.worker``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_FIRST_S, RETRY_CAP_S = 0.1, 5.0


async def retry_until_done(
    operation: Callable[[], Awaitable[T]],
    dependency: str,
    what: str,
    metrics: Any = None,
    first_s: float = RETRY_FIRST_S,
    cap_s: float = RETRY_CAP_S,
) -> T:
    """Run ``operation`` until it succeeds, sleeping ``first_s`` doubling to ``cap_s`` between
    tries. For work on the event in hand, which must not be dropped: the caller blocks, so the
    stream applies backpressure instead of losing data. Logs carry no patient data."""
    delay = first_s
    failures = 0
    while True:
        try:
            result = await operation()
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            failures += 1
            if metrics is not None:
                metrics.dependency_retries.labels(dependency).inc()
            log.warning("%s failed (%s: %s); retry %d in %.1f s", what, dependency,
                        type(exc).__name__, failures, delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap_s)
            continue
        if failures:
            log.warning("%s succeeded after %d retries", what, failures)
        return result
