"""The baseline of the benchmark: a bare Faust agent that forwards ``vitals.raw`` unchanged.

Same broker settings and serializers as the worker, no parsing, no state: what Faust itself
costs per event on this machine. Run with ``python -m streams.bare`` and the worker's VIGIL_*
environment; it forwards to ``<prefix>bare.out``.
"""

from __future__ import annotations

from typing import Any

import faust

from streams.app import faust_app
from vigilstream.config import load_settings


def build(settings: Any) -> faust.App:
    app = faust_app(
        settings,
        f"{settings.topic_prefix}bare",
        web_enabled=False,
        datadir=str(settings.state_dir / "faust-bare"),
    )
    source = app.topic(settings.topic("vitals.raw"))
    sink = app.topic(settings.topic("bare.out"))

    @app.agent(source, name="bare")
    async def forward(stream: Any) -> None:
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)

    return app


if __name__ == "__main__":
    from faust.worker import Worker

    config = load_settings()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    Worker(build(config), loglevel="WARNING").execute_from_commandline()
