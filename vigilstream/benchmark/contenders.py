"""The reference points of ``vigilstream bench``: what the same input costs without vigilstream.

Each contender is a process started with the worker's ``VIGIL_*`` environment, consuming
``<prefix>vitals.raw`` and counting the readings it has handled in a Prometheus counter
(``bench_readings_total`` on ``VIGIL_WEB_PORT``), so the benchmark measures every contender, the
full worker included (``vigil_model_updates_total``), the same way.

- ``raw``: the limit of Python on this broker -- aiokafka consume, ``orjson.loads``, produce the
  message re-keyed by patient to ``bench.raw.out``; no Faust.
- ``one-hop``: a bare Faust agent that parses each message and counts its readings.
- ``two-hop``: a bare Faust pipeline with the worker's topology -- parse, re-key by patient to
  ``bench.clean``, then a second agent parses and counts -- so the repartition hop's cost is
  visible apart from vigilstream's own.

The Faust contenders get the worker's logger levels (``streams.app.quiet_library_loggers``):
with Faust's own, aiokafka builds a DEBUG record per fetch and throws it away, which cost a
bare one-hop agent a quarter of its CPU on a live stream (0.256 vs 0.191 of a core at 11,516
readings/s), so a comparison without it would credit the worker for a logging setting.

Run with ``python -m vigilstream.benchmark.contenders raw|one-hop|two-hop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, start_http_server

from vigilstream.config import Settings, load_settings

COUNTER = "bench_readings_total"


def readings_of(doc: Any) -> int:
    """Readings a raw message carries (a batch holds several)."""
    if isinstance(doc, dict) and isinstance(doc.get("readings"), list):
        return len(doc["readings"])
    return 1


def patient_key(doc: Any) -> bytes:
    return str(doc.get("patient_id", "")).encode() if isinstance(doc, dict) else b""


def _counter(settings: Settings) -> Counter:
    registry = CollectorRegistry()
    counter = Counter(COUNTER.removesuffix("_total"), "Readings handled", registry=registry)
    start_http_server(settings.web_port, addr="127.0.0.1", registry=registry)
    return counter


async def raw(settings: Settings) -> None:
    """aiokafka consume + ``orjson.loads`` + produce, the loop any consumer has to run."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    counter = _counter(settings)
    options = settings.kafka_client_options()
    consumer = AIOKafkaConsumer(
        settings.topic("vitals.raw"), group_id=f"{settings.topic_prefix}raw",
        auto_offset_reset="earliest", **options,
    )  # fmt: skip
    producer = AIOKafkaProducer(linger_ms=5, **options)
    await consumer.start()
    await producer.start()
    out = settings.topic("bench.raw.out")
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for record in records:
                    doc = orjson.loads(record.value)
                    await producer.send(out, record.value, key=patient_key(doc))
                    counter.inc(readings_of(doc))
    finally:
        await consumer.stop()
        await producer.stop()


def faust_contender(settings: Settings, hops: int) -> Any:
    """A bare Faust app of one or two hops (see the module doc)."""
    from streams.app import faust_app, quiet_library_loggers

    app = faust_app(settings, f"{settings.topic_prefix}bare{hops}", web_enabled=False,
                    datadir=str(settings.state_dir / f"faust-bare{hops}"))  # fmt: skip

    @app.task
    async def quiet() -> None:  # as the worker does: the comparison is of work, not of logging
        quiet_library_loggers(settings.log_level)

    counter = _counter(settings)
    source = app.topic(settings.topic("vitals.raw"))

    if hops == 1:

        @app.agent(source, name="one_hop")
        async def count(stream: Any) -> None:
            async for event in stream.events():
                counter.inc(readings_of(orjson.loads(event.value)))

        return app

    clean = app.topic(settings.topic("bench.clean"))

    @app.agent(source, name="rekey")
    async def rekey(stream: Any) -> None:
        async for event in stream.events():
            doc = orjson.loads(event.value)
            await clean.send(key=patient_key(doc), value=orjson.dumps(doc))

    @app.agent(clean, name="consume")
    async def consume(stream: Any) -> None:
        async for event in stream.events():
            counter.inc(readings_of(orjson.loads(event.value)))

    return app


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else ""
    settings = load_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if kind == "raw":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(raw(settings))
        return 0
    if kind in ("one-hop", "two-hop"):
        from faust.worker import Worker

        app = faust_contender(settings, 1 if kind == "one-hop" else 2)
        Worker(app, loglevel="WARNING").execute_from_commandline()
        return 0
    print("usage: python -m vigilstream.benchmark.contenders raw|one-hop|two-hop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
