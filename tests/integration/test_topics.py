"""The worker declares its topics before anything subscribes, and waits for a broker politely."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.topics import CONTRACT_TOPICS, declare_topics, describe
from tests.helpers import WorkerProcess, wait_for
from vigilstream.config import Settings
from vigilstream.localstack import free_port

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("partitions", [None, 4])
def test_every_topic_is_declared_with_the_configured_partitions(
    settings: Settings, partitions: int | None
) -> None:
    if partitions is not None:
        settings = settings.model_copy(update={"partitions": partitions})
    wanted = partitions or 8  # the default of VIGIL_PARTITIONS
    lines: list[str] = []
    layout = declare_topics(settings, say=lines.append)
    assert lines == []
    assert set(layout.created) == set(CONTRACT_TOPICS)
    assert layout.partitions == dict.fromkeys(CONTRACT_TOPICS, wanted)
    assert all(layout.topic_ids.values())
    again = declare_topics(settings)  # idempotent: nothing created, same topics
    assert again.created == () and again.topic_ids == layout.topic_ids
    found = describe(settings, [settings.topic(t) for t in CONTRACT_TOPICS])
    assert {n: d["partitions"] for n, d in found.items()} == {
        settings.topic(t): wanted for t in CONTRACT_TOPICS
    }


def test_the_worker_declares_topics_with_default_partitions(
    settings: Settings, worker: WorkerProcess
) -> None:
    found = describe(settings, [settings.topic(t) for t in CONTRACT_TOPICS])
    assert {d["partitions"] for d in found.values()} == {8}
    assert len(found) == len(CONTRACT_TOPICS)


def test_no_broker_means_one_line_per_attempt_and_sigterm_stops_it(
    settings: Settings, tmp_path: Path
) -> None:
    """No broker: one readable line per attempt with a growing delay, no traceback; SIGTERM
    stops the waiting worker."""
    dead = settings.model_copy(update={"broker": f"kafka://127.0.0.1:{free_port()}"})
    log = tmp_path / "worker.log"
    worker = WorkerProcess(dead, log)
    try:
        wait_for(lambda: log.read_text().count("not reachable") >= 2, "two attempts", 60)
        worker.proc.terminate()
        started = time.monotonic()
        worker.proc.wait(timeout=30)
        assert time.monotonic() - started < 30
    finally:
        worker.stop()
    text = log.read_text()
    attempts = [ln for ln in text.splitlines() if "not reachable" in ln]
    assert attempts[0].startswith("vigilstream worker: broker 127.0.0.1:")
    assert "retrying in 1 s (attempt 1)" in attempts[0]
    assert "retrying in 2 s (attempt 2)" in attempts[1]
    assert "Traceback" not in text


def test_a_bad_setting_is_one_line_and_exit_2() -> None:
    env = {"VIGIL_WEB_PORT": "70000", "PATH": ""}
    done = subprocess.run([sys.executable, "-m", "vigilstream", "worker"], capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "web_port" in lines[0].lower(), done.stderr
