from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import WorkerProcess
from vigilstream.config import Settings


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A healthy ``vigilstream worker`` process on the session stack, with this test's topics."""
    proc = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        proc.wait_healthy()
        yield proc
    finally:
        proc.stop()
