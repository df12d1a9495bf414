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


def test_a_run_leaves_no_topics_or_keys_in_the_stack(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's run writes topics and patient checkpoints under its own prefix; once its
    rate is measured they are deleted, so repeated benchmarks do not fill the local stack."""
    import redis
    from kafka.admin import KafkaAdminClient

    client = redis.Redis.from_url(settings.redis_url)
    admin = KafkaAdminClient(**settings.kafka_client_options())

    def held(prefix: str) -> tuple[int, int]:
        topics = [t for t in admin.list_topics() if t.startswith(prefix)]
        return len(topics), len(list(client.scan_iter(match=f"{prefix}*")))

    before_discard: list[tuple[int, int]] = []
    discard = pipeline.discard

    def counting_discard(run: Settings) -> None:
        before_discard.append(held(run.topic_prefix))
        discard(run)

    monkeypatch.setattr(pipeline, "discard", counting_discard)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    workload = Workload("small", 5, 10, 12)
    try:
        rows = pipeline.run_contenders(settings, ["worker"],
                                       pipeline.payloads(workload, time.time()),
                                       workload.readings, broker_pid=None)  # fmt: skip
        assert rows["worker"]["complete"]
        [(topics, keys)] = before_discard
        assert topics >= 3 and keys >= 5  # the contract's topics, a checkpoint per patient
        assert held("benchworker") == (0, 0)
    finally:
        admin.close()
        client.close()
