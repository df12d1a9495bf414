from __future__ import annotations

import asyncio
from typing import Any

from streams import profiles
from streams.candidates import Rejection
from streams.profiles import parse_profile


def test_profiles_tombstones_and_errors() -> None:
    pid, profile = parse_profile(b"p-1", b'{"patient_id": "p-1", "age": 70, "consent": false}')
    assert pid == "p-1" and profile["consent"] is False and profile["age"] == 70
    assert parse_profile(b"p-1", None) == ("p-1", None)  # tombstone: delete
    assert parse_profile(None, None).reason == "schema"
    mismatch = parse_profile(b"p-2", b'{"patient_id": "p-1"}')
    assert isinstance(mismatch, Rejection) and "differ" in mismatch.detail
    assert parse_profile(b"p-1", b"{oops").reason == "invalid_json"


def test_time_zone_and_suggestion_fields() -> None:
    _, profile = parse_profile(
        b"p-1",
        b'{"patient_id": "p-1", "tz": "America/Los_Angeles", "decision_times": ["08:30"],'
        b' "hr_max": 150, "exercise_restricted": true}',
    )
    assert profile["tz"] == "America/Los_Angeles" and profile["decision_times"] == ["08:30"]
    assert parse_profile(b"p-1", b'{"patient_id": "p-1"}')[1]["tz"] == "UTC"  # the default
    unknown = parse_profile(b"p-1", b'{"patient_id": "p-1", "tz": "Mars/Olympus_Mons"}')
    assert isinstance(unknown, Rejection) and unknown.reason == "schema"
    assert "unknown time zone" in unknown.detail
    late = parse_profile(b"p-1", b'{"patient_id": "p-1", "decision_times": ["24:10"]}')
    assert isinstance(late, Rejection) and late.reason == "schema"


def test_a_patient_without_a_profile_is_looked_up_once(monkeypatch: Any) -> None:
    """Ingest makes the directory current for a patient's first message only: waiting on every
    message of a patient without a profile stalled the ingest a directory round trip each."""
    monkeypatch.setattr(profiles, "MAX_LOOKED_UP", 2)
    directory = profiles.ProfileDirectory(application=None)  # type: ignore[arg-type]
    directory.profiles["p-known"] = {"patient_id": "p-known", "consent": True}
    assert not directory.first_contact(["p-known"])
    assert directory.first_contact(["p-known", "p-new"])

    async def look_up(patients: list[str], produced_at: float) -> None:
        directory.caught_up_at = produced_at + 1.0  # the directory has read past the message
        await directory.look_up(patients, produced_at)

    asyncio.run(look_up(["p-known", "p-new"], 100.0))
    assert not directory.first_contact(["p-new", "p-known"])
    assert directory.first_contact(["p-other"])
    asyncio.run(look_up(["p-a", "p-b"], 200.0))
    assert not directory.first_contact(["p-a", "p-b", "p-new"])
    asyncio.run(look_up(["p-c"], 300.0))  # past the bound: the memory starts over
    assert directory.first_contact(["p-new"]) and not directory.first_contact(["p-c"])


def test_look_up_waits_until_the_directory_has_read_past_the_message() -> None:
    directory = profiles.ProfileDirectory(application=None)  # type: ignore[arg-type]

    async def scenario() -> list[str]:
        seen: list[str] = []
        waiting = asyncio.create_task(directory.look_up(["p-1"], produced_at=50.0))
        await asyncio.sleep(0)
        seen.append("waiting" if not waiting.done() else "returned early")
        async with directory._changed:  # what the reader does once it is past the end
            directory.profiles["p-1"] = {"patient_id": "p-1", "consent": False}
            directory.caught_up_at = 51.0
            directory._changed.notify_all()
        await waiting
        seen.append("p-1 profile" if directory.consent("p-1") is False else "no profile")
        return seen

    assert asyncio.run(scenario()) == ["waiting", "p-1 profile"]
    assert not directory.first_contact(["p-1"])


def test_the_fetch_wait_is_longer_only_while_the_ingest_is_behind() -> None:
    """Under a backlog aiokafka fetches only the quiet partitions, which the embedded broker
    answers when the wait is over: a longer wait then spares the broker; on time, it is short."""
    from streams import app

    class Started:  # what set_fetch_wait touches of a started aiokafka consumer
        def __init__(self) -> None:
            self._fetcher = type("Fetcher", (), {"_fetch_max_wait_ms": 20})()

    consumers = [Started(), Started()]
    not_started = type("Consumer", (), {})()
    for consumer in [*consumers, not_started]:
        app._CONSUMERS.add(consumer)
    wait = app.FetchWait(20, behind_s=0.5)
    assert wait.note(age_s=0.1) is False  # keeping up: nothing to change
    assert wait.note(age_s=2.0) is True
    assert [c._fetcher._fetch_max_wait_ms for c in consumers] == [app.BACKLOG_FETCH_WAIT_MS] * 2
    assert wait.note(age_s=0.2) is True
    assert [c._fetcher._fetch_max_wait_ms for c in consumers] == [20, 20]


def test_library_loggers_take_the_configured_level() -> None:
    """Faust's worker leaves the faust, mode and aiokafka loggers at DEBUG (a record built for
    every fetch and thrown away); the worker and the benchmark's bare agents set them to the
    configured level, and kafka-python's connection chatter to WARNING at least."""
    import logging

    from streams.app import quiet_library_loggers

    names = ("faust", "mode", "aiokafka", "kafka")
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logging.getLogger(name).setLevel(logging.DEBUG)
        quiet_library_loggers("info")
        assert not logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("faust").isEnabledFor(logging.INFO)
        assert not logging.getLogger("kafka.conn").isEnabledFor(logging.INFO)
        quiet_library_loggers("debug")
        assert logging.getLogger("mode").isEnabledFor(logging.DEBUG)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
