"""The benchmark's reference contenders on the real broker: each handles every reading of the
pre-produced input, so the rates it reports are rates of complete work."""

from __future__ import annotations

import time

import pytest

from tests.helpers import wait_for
from vigilstream.benchmark import pipeline
from vigilstream.benchmark.pipeline import Workload
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["raw", "bare_two_hop"])
def test_a_contender_counts_every_reading_of_the_input(settings: Settings, name: str) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    workload = Workload("small", 20, 60, 12)
    pipeline.prepare(settings, pipeline.payloads(workload, time.time()))
    contender = pipeline.start(name, settings)
    try:
        wait_for(lambda: contender.count() == workload.readings,
                 f"{name} to count {workload.readings} readings", timeout=120)  # fmt: skip
    finally:
        contender.stop()
