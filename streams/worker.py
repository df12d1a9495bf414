"""The Faust worker with a bounded stop: SIGTERM or SIGINT always ends the process.

A graceful stop checkpoints patients and commits offsets; a stop that hangs (a broker that
lost its topics, a dependency that never answers) must not keep the process alive. The first
signal arms a timer; past ``shutdown_timeout_s`` the process says so in one line and exits 1.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from faust.worker import Worker


class BoundedWorker(Worker):
    """``faust.worker.Worker`` whose stop on a signal is bounded in time."""

    def __init__(self, *args: Any, shutdown_timeout_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shutdown_timeout_s = shutdown_timeout_s
        self._deadline: threading.Timer | None = None

    def _arm_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = threading.Timer(self.shutdown_timeout_s, self._give_up)
            self._deadline.daemon = True
            self._deadline.start()

    def _give_up(self) -> None:
        print(f"vigilstream worker: graceful stop took over {self.shutdown_timeout_s:g} s; "
              "exiting now (VIGIL_SHUTDOWN_TIMEOUT_S)", file=sys.stderr, flush=True)  # fmt: skip
        os._exit(1)

    def _on_sigterm(self) -> None:
        self._arm_deadline()
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._arm_deadline()
        super()._on_sigint()
