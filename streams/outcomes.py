"""Outcomes agent: ``outcomes`` -> the patient's owner, through ``vitals.clean``.

Outcome events may be keyed or partitioned differently from ``vitals.clean`` by their producer,
so they are re-keyed by patient id and travel as ``{"patient_id", "outcome": {...}}`` events on
``vitals.clean``, where the one worker that owns the patient applies them in order with the
readings. Invalid outcomes are dead-lettered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from streams.candidates import Rejection
from vigilstream.messages import Outcome, describe_error

if TYPE_CHECKING:
    from streams.app import Application


def parse_outcome(value: bytes | None) -> tuple[str, dict[str, Any]] | Rejection:
    """(patient_id, the ``outcome`` control event) from one ``outcomes`` record."""
    try:
        outcome = Outcome.model_validate_json(value or b"")
    except ValidationError as exc:
        reason = "invalid_json" if exc.errors()[0]["type"] == "json_invalid" else "schema"
        return Rejection(reason, describe_error(exc))
    event = {
        "kind": outcome.kind,
        "ts": outcome.ts.timestamp(),
        "onset_ts": outcome.onset_ts.timestamp() if outcome.onset_ts else None,
    }
    return outcome.patient_id, {"patient_id": outcome.patient_id, "outcome": event}


def register(application: Application) -> None:
    from streams.ingest import send_dead_letter

    topics = application.topics

    @application.faust.agent(topics.outcomes, name="outcomes")
    async def outcomes(stream: Any) -> None:
        async for event in stream.events():
            parsed = parse_outcome(event.value)
            if isinstance(parsed, Rejection):
                await send_dead_letter(application, parsed, event.value or b"", event)
                continue
            patient_id, control = parsed
            patient_id = control["patient_id"] = application.pseudonym(patient_id)
            await topics.clean.send(key=patient_id.encode(), value=orjson.dumps(control))
