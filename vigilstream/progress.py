"""Progress of long phases (simulating, evaluating, producing) on stderr, drawn by ``rich``.

Shown only when stderr is a terminal (or when forced), so logs and pipes stay clean. Updates
are handed to rich at most ten times a second: the loops calling ``update`` run per message.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Progress:
    """``with Progress(total, "simulating") as bar: bar.update(1)``; silent when not a TTY."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:  # fmt: skip
        self.total, self.label, self.done = max(total, 1), label, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._pending, self._last = 0, 0.0
        self._bar: Any = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            console = Console(file=self.stream, force_terminal=True if enabled else None)
            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                            console=console)  # fmt: skip
            self._task = self._bar.add_task(label, total=self.total)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is None:
            return
        self._pending += n
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done >= self.total:
            self._bar.advance(self._task, self._pending)
            self._pending, self._last = 0, now

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, self._pending)
            self._bar.stop()


@contextmanager
def phase(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """A spinner with elapsed time for a phase without a count (e.g. waiting for held-out
    seeds, writing plots); silent when not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield
        return
    from rich.console import Console

    with Console(file=stream).status(label):
        yield
