"""``vigilstream demo`` as a user runs it: its own embedded stack, a worker, the default cohort
and duration; it must show a deterioration alert with its explanation and a suggestion, account
for every message, and stop everything it started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vigilstream.localstack import LocalStack, free_port

pytestmark = pytest.mark.integration


def test_the_demo_shows_alerts_and_suggestions_and_accounts_for_everything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "VIGIL_STATE_DIR": str(state), "VIGIL_WEB_PORT": str(free_port()),
           "COLUMNS": "200"}  # fmt: skip
    for name in ("VIGIL_BROKER", "VIGIL_REDIS_URL", "VIGIL_TOPIC_PREFIX"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "vigilstream", "demo"], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "all messages accounted for" in out
    # A deterioration alert as it opened, with the sentence a nurse gets.
    assert re.search(r"ALERT (high|medium)\s+ sim-\d{4}\s+deterioration: NEWS2 \d+ \(", out), out
    assert re.search(r"ALERT \w+\s+ sim-\d{4}\s+trend: Resting vitals have drifted", out), out
    assert re.search(r"suggestions: walk\s+│\s+[1-9]", out), out
    assert re.search(r"suggestion to sim-\d{4} \(\w+\): \S", out), out
    assert "/board" in out and "/api/docs" in out and "/metrics" in out
    assert "stack: stopped" in out
    assert not any(s is not None and s.alive() for s in LocalStack(state).recorded().values())
