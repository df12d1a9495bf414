"""Round trips through the real embedded servers with the clients the project uses."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer

from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def test_kafka_python_round_trip(settings: Settings) -> None:
    topic = settings.topic("roundtrip.kp")
    producer = KafkaProducer(**settings.kafka_client_options())
    sent = [(f"k{i % 3}".encode(), f"v{i}".encode()) for i in range(20)]
    for key, value in sent:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic, **settings.kafka_consumer_options(), group_id=f"g-{uuid.uuid4().hex}",
        auto_offset_reset="earliest", consumer_timeout_ms=15000,
    )  # fmt: skip
    got = []
    for record in consumer:
        got.append((record.key, record.value))
        if len(got) == len(sent):
            break
    consumer.close()
    assert sorted(got) == sorted(sent)
    # Same key, same partition, order kept within the key.
    assert [v for k, v in got if k == b"k0"] == [v for k, v in sent if k == b"k0"]


def test_aiokafka_round_trip(settings: Settings) -> None:
    topic = settings.topic("roundtrip.aio")
    opts = settings.kafka_client_options()

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=opts["bootstrap_servers"])
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"m{i}".encode(), key=b"p-1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=opts["bootstrap_servers"], group_id=f"g-{uuid.uuid4().hex}",
            auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
        )  # fmt: skip
        await consumer.start()
        got: list[bytes] = []
        try:
            async with asyncio.timeout(20):
                while len(got) < 10:
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        got.extend(r.value for r in records)
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(run()) == [f"m{i}".encode() for i in range(10)]


def test_redis_round_trip(settings: Settings) -> None:
    async def run() -> tuple:
        client = aioredis.from_url(settings.redis_url)
        key = f"test:{uuid.uuid4().hex}"
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.set(key, b"\x00state\xff", ex=60)
                pipe.hset(key + ":h", mapping={"n": 600, "mean": 66.5})
                await pipe.execute()
            value = await client.get(key)
            fields = await client.hgetall(key + ":h")
            await client.delete(key, key + ":h")
            gone = await client.exists(key)
        finally:
            await client.aclose()
        return value, fields, gone

    value, fields, gone = asyncio.run(run())
    assert value == b"\x00state\xff"
    assert fields == {b"n": b"600", b"mean": b"66.5"}
    assert gone == 0
