"""Patient profiles from the compacted ``patients`` topic, replicated to every worker.

Ingest needs a patient's consent whatever partition the reading came in on, so profiles live in
a Faust ``GlobalTable``: every worker holds all of them (a profile is ~200 bytes; 100 000
patients are ~20 MB). A null value on ``patients`` (a tombstone) deletes the profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from streams.candidates import Rejection
from vigilstream.messages import PatientProfile, describe_error

if TYPE_CHECKING:
    from streams.app import Application


def parse_profile(key: bytes | None, value: bytes | None) -> tuple[str, dict | None] | Rejection:
    """(patient_id, profile or None for a tombstone) from one ``patients`` record."""
    key_id = key.decode("utf-8", errors="replace") if key else None
    if not value:
        if key_id is None:
            return Rejection("schema", "tombstone without a key")
        return key_id, None
    try:
        profile = PatientProfile.model_validate_json(value)
    except ValidationError as exc:
        reason = "invalid_json" if exc.errors()[0]["type"] == "json_invalid" else "schema"
        return Rejection(reason, describe_error(exc))
    if key_id is not None and key_id != profile.patient_id:
        return Rejection("schema", "record key and patient_id differ")
    return profile.patient_id, profile.model_dump(mode="json")


def register(application: Application) -> Any:
    """Attach the profiles table and its agent; returns the table."""
    from streams.ingest import dead_letter

    app = application.faust
    table = app.GlobalTable("profiles", default=None)  # JSON keys and values

    @app.agent(application.topics.patients, name="profiles")
    async def profiles(stream: Any) -> None:
        async for event in stream.events():
            parsed = parse_profile(event.key, event.value)
            if isinstance(parsed, Rejection):
                application.metrics.rejected.labels(parsed.reason).inc()
                await application.topics.deadletter.send(
                    key=event.key, value=dead_letter(parsed, event.value or b"", event)
                )
                continue
            patient_id, profile = parsed
            if profile is None:
                table.pop(patient_id, None)
            else:
                table[patient_id] = profile

    return table


def consent_lookup(table: Any):
    """The ingest consent question, answered from the profiles table."""

    def consent(patient_id: str) -> bool | None:
        profile = table.get(patient_id)
        return None if profile is None else profile.get("consent")

    return consent
