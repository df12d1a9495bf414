"""Feedback agent: ``alerts.feedback`` -> the patient's owner, through ``vitals.clean``.

A verdict travels as ``{"patient_id", "feedback": {"alert_id", "verdict", "at"}}`` so the one
worker that owns the patient updates the episode (no more escalation), the patient's deviation
threshold and the risk model's labels, in order with the readings. The patient is taken from
the feedback, else from the shared alert store; feedback on an unknown alert is dead-lettered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from streams.candidates import Rejection
from streams.failure import retry_until_done
from vigilstream.messages import Feedback, SuggestionFeedback, describe_error

if TYPE_CHECKING:
    from streams.app import Application


M = TypeVar("M", bound=BaseModel)


def parse_message(model: type[M], value: bytes | None) -> M | Rejection:
    """One JSON message of ``model``, or the rejection a dead letter carries."""
    try:
        return model.model_validate_json(value or b"")
    except ValidationError as exc:
        reason = "invalid_json" if exc.errors()[0]["type"] == "json_invalid" else "schema"
        return Rejection(reason, describe_error(exc))


def parse_feedback(value: bytes | None) -> Feedback | Rejection:
    return parse_message(Feedback, value)


def register(application: Application) -> None:
    from streams.ingest import send_dead_letter

    topics, store = application.topics, application.alert_store

    @application.faust.agent(topics.feedback, name="feedback")
    async def feedback(stream: Any) -> None:
        async for event in stream.events():
            parsed = parse_feedback(event.value)
            patient_id = None
            if not isinstance(parsed, Rejection):
                patient_id = parsed.patient_id and application.pseudonym(parsed.patient_id)
                if patient_id is None:
                    alert = await retry_until_done(lambda a=parsed.alert_id: store.get(a),
                                                   "redis", "reading the alert store",
                                                   application.metrics)  # fmt: skip
                    patient_id = alert["patient_id"] if alert else None
                if patient_id is None:
                    parsed = Rejection("schema", f"unknown alert {parsed.alert_id!r}"[:200])
            if isinstance(parsed, Rejection):
                await send_dead_letter(application, parsed, event.value or b"", event)
                continue
            control = {"patient_id": patient_id, "feedback": {
                "alert_id": parsed.alert_id, "verdict": parsed.verdict,
                "at": parsed.at.timestamp()}}  # fmt: skip
            await topics.clean.send(key=patient_id.encode(), value=orjson.dumps(control))

    suggestions = application.suggestion_index

    @application.faust.agent(topics.suggestion_feedback, name="suggestion-feedback")
    async def suggestion_feedback(stream: Any) -> None:
        """A patient's answer to a suggestion, routed to the patient's owner in order."""
        async for event in stream.events():
            parsed = parse_message(SuggestionFeedback, event.value)
            patient_id = None
            if not isinstance(parsed, Rejection):
                patient_id = parsed.patient_id and application.pseudonym(parsed.patient_id)
                patient_id = patient_id or await retry_until_done(
                    lambda s=parsed.suggestion_id: suggestions.patient_of(s), "redis",
                    "reading the suggestion index", application.metrics,
                )  # fmt: skip
                if patient_id is None:
                    parsed = Rejection(
                        "schema", f"unknown suggestion {parsed.suggestion_id!r}"[:200]
                    )
            if isinstance(parsed, Rejection):
                await send_dead_letter(application, parsed, event.value or b"", event)
                continue
            control = {"patient_id": patient_id, "suggestion_feedback": {
                "suggestion_id": parsed.suggestion_id, "response": parsed.response}}  # fmt: skip
            await topics.clean.send(key=patient_id.encode(), value=orjson.dumps(control))
