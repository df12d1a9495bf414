"""``vigilstream dev up | status | down`` as a user runs them: real processes, real ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vigilstream.localstack import LocalStack, _process_alive

pytestmark = pytest.mark.integration


def vs(state_dir: Path, *args: str, env: dict[str, str] | None = None):
    full_env = {**os.environ, "VIGIL_STATE_DIR": str(state_dir), **(env or {})}
    for name in ("VIGIL_BROKER", "VIGIL_REDIS_URL"):
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "vigilstream", *args],
        env=full_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_up_status_down_status_leaves_no_process(tmp_path: Path) -> None:
    up = vs(tmp_path, "dev", "up")
    assert up.returncode == 0, up.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in up.stdout.strip().splitlines()
    )
    assert exports["VIGIL_BROKER"].startswith("kafka://127.0.0.1:")
    assert exports["VIGIL_REDIS_URL"].startswith("redis://127.0.0.1:")
    servers = LocalStack(tmp_path).recorded()
    pids = [s.pid for s in servers.values()]
    assert all(_process_alive(pid, None) for pid in pids)

    again = vs(tmp_path, "dev", "up")  # idempotent: same servers, same addresses
    assert again.returncode == 0 and again.stdout == up.stdout
    assert [s.pid for s in LocalStack(tmp_path).recorded().values()] == pids

    status = vs(tmp_path, "dev", "status")
    assert status.returncode == 0
    assert status.stdout.count(" up ") == 2

    config = vs(tmp_path, "config")  # the running stack configures the other commands
    assert exports["VIGIL_BROKER"] in config.stdout

    down = vs(tmp_path, "dev", "down")
    assert down.returncode == 0
    assert not any(_process_alive(pid, None) for pid in pids)
    status = vs(tmp_path, "dev", "status")
    assert status.returncode != 0
    assert status.stdout.count(" down") == 2
    assert vs(tmp_path, "dev", "down").returncode == 0  # idempotent too


def test_status_notices_a_dead_server(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path)
    servers = stack.up()
    try:
        os.kill(servers["redis"].pid, 9)
        os.waitpid(servers["redis"].pid, 0)
        status = vs(tmp_path, "dev", "status")
        assert status.returncode == 1
        assert "redis   down" in status.stdout and "broker  up" in status.stdout
        # up restarts only what is missing
        restarted = stack.up()
        assert restarted["broker"].pid == servers["broker"].pid
        assert restarted["redis"].pid != servers["redis"].pid
    finally:
        stack.down()


def test_port_taken_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = vs(tmp_path, "dev", "up", "--redis-port", str(port))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"port {port}" in result.stderr and "already in use" in result.stderr
    assert vs(tmp_path, "dev", "status").stdout.count(" up ") == 0  # nothing left half-started
    vs(tmp_path, "dev", "down")


def test_missing_binary_is_one_clear_line(tmp_path: Path) -> None:
    result = vs(tmp_path, "dev", "up", env={"VIGIL_REDIS_SERVER_BIN": str(tmp_path / "nope")})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "redis-server binary not found" in result.stderr
    assert LocalStack(tmp_path).status() == {"broker": None, "redis": None}
