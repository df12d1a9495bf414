"""Session fixtures: the real embedded broker and Redis, started through the same launcher code
as ``vigilstream dev up``, on free loopback ports. Unit tests of the pure core need neither and
never start them (the fixtures are lazy)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigilstream.config import Settings
from vigilstream.localstack import LocalStack, Server


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """A running broker and Redis for the whole session; stopped at the end."""
    local = LocalStack(tmp_path_factory.mktemp("stack"))
    servers = local.up()
    try:
        yield servers
    finally:
        local.down()


@pytest.fixture
def settings(stack: dict[str, Server], tmp_path: Path) -> Settings:
    """Settings pointing at the session stack, with a topic prefix of this test's own.

    Everything else is the default configuration a user gets (partitions, group timing,
    checkpoint interval): the fixtures must not hide what defaults do."""
    return Settings(
        broker=stack["broker"].address,
        redis_url=stack["redis"].address,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        state_dir=tmp_path / "state",
    )
