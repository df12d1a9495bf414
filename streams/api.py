"""The care-team HTTP API on the worker's web port (SPEC.md, "HTTP API").

Bearer tokens with roles (``streams.auth``); errors are JSON ``{"error", "detail"}``. Alerts
come from the shared ``AlertStore`` in Redis, so any worker answers for any alert; a patient
is answered from memory by its owner, else from its checkpoint.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from faust.web import View
from pydantic import ValidationError

from online_models.state import PatientState
from streams.auth import authorize
from vigilstream.messages import Feedback, describe_error

if TYPE_CHECKING:
    from streams.app import Application

SEVERITIES = ("info", "low", "medium", "high")
STATUSES = ("open", "updated", "escalated", "resolved")


def error(view: Any, status: int, detail: str) -> Any:
    names = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             422: "unprocessable"}  # fmt: skip
    return view.json({"error": names.get(status, "error"), "detail": detail}, status=status)


def register(application: Application) -> None:
    app, settings = application.faust, application.settings
    tokens = settings.tokens
    store = application.alert_store

    def denied(view: Any, request: Any, role: str) -> Any | None:
        problem = authorize(request.headers.get("Authorization"), tokens, role)
        return error(view, *problem) if problem is not None else None

    @app.page("/api/patients/{patient_id}")
    async def patient(web: Any, request: Any, patient_id: str) -> Any:
        if (refusal := denied(web, request, "viewer")) is not None:
            return refusal
        state = application.registry.states.get(patient_id)
        source = "live"
        if state is None:  # owned by another worker, or not seen since a restart
            blob = await application.registry.store.load(patient_id)
            if blob is None:
                return error(web, 404, "no such patient")
            state, _ = PatientState.from_bytes(blob, patient_id)
            source = "checkpoint"
        snapshot = state.snapshot(time.time(), application.risk_model)
        snapshot["open_alerts"] = [
            a for a in await store.list("open", None) if a["patient_id"] == patient_id
        ]
        snapshot["source"] = source
        return web.json(snapshot)

    @app.page("/api/alerts")
    async def alerts(web: Any, request: Any) -> Any:
        if (refusal := denied(web, request, "viewer")) is not None:
            return refusal
        status, severity = request.query.get("status"), request.query.get("severity")
        if status is not None and status not in STATUSES:
            return error(web, 422, f"status must be one of {', '.join(STATUSES)}")
        if severity is not None and severity not in SEVERITIES:
            return error(web, 422, f"severity must be one of {', '.join(SEVERITIES)}")
        return web.json({"alerts": await store.list(status, severity)})

    @app.page("/api/alerts/{alert_id}")
    async def alert(web: Any, request: Any, alert_id: str) -> Any:
        if (refusal := denied(web, request, "viewer")) is not None:
            return refusal
        found = await store.get(alert_id)
        return web.json(found) if found is not None else error(web, 404, "no such alert")

    @app.page("/api/alerts/{alert_id}/ack")
    class Ack(View):
        async def post(self, request: Any, alert_id: str) -> Any:
            if (refusal := denied(self, request, "clinician")) is not None:
                return refusal
            found = await store.get(alert_id)
            if found is None:
                return error(self, 404, "no such alert")
            try:
                body = orjson.loads(await request.read())
                feedback = Feedback.model_validate({
                    **(body if isinstance(body, dict) else {"verdict": None}),
                    "alert_id": alert_id, "by": "clinician", "patient_id": found["patient_id"],
                    "at": datetime.now(UTC),
                })  # fmt: skip
            except orjson.JSONDecodeError:
                return error(self, 422, "body is not JSON")
            except ValidationError as exc:
                return error(self, 422, describe_error(exc))
            doc = feedback.model_dump(mode="json")
            await application.topics.feedback.send(key=alert_id.encode(), value=orjson.dumps(doc))
            await store.acknowledge(alert_id, doc)
            return self.json({"acknowledged": alert_id, "feedback": doc})

    @app.page("/api/openapi.json")
    async def openapi(web: Any, request: Any) -> Any:
        return web.json(OPENAPI)


def _bearer(role: str) -> dict[str, Any]:
    return {"security": [{"bearer": []}], "x-role": role}


_ERR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {"401": _ERR, "403": _ERR, "404": _ERR, "422": _ERR}
_JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "vigilstream care-team API", "version": "0.1.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
            }
        },
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "broker and Redis status",
                "responses": {"200": _JSON_OK, "503": _JSON_OK},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/alerts": {
            "get": {
                "summary": "list alerts",
                **_bearer("viewer"),
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(STATUSES)},
                    },
                    {
                        "name": "severity",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(SEVERITIES)},
                    },
                ],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/alerts/{alert_id}": {
            "get": {
                "summary": "one alert with its history",
                **_bearer("viewer"),
                "parameters": [
                    {
                        "name": "alert_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/alerts/{alert_id}/ack": {
            "post": {
                "summary": "acknowledge with a verdict; written to alerts.feedback",
                **_bearer("clinician"),
                "parameters": [
                    {
                        "name": "alert_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["verdict"],
                                "properties": {
                                    "verdict": {
                                        "type": "string",
                                        "enum": ["actionable", "not_actionable"],
                                    },
                                    "note": {"type": "string", "maxLength": 2000},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/patients/{patient_id}": {
            "get": {
                "summary": "latest values, baselines, phenotype, NEWS2, risk, open alerts",
                **_bearer("viewer"),
                "parameters": [
                    {
                        "name": "patient_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                    }
                ],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/openapi.json": {"get": {"summary": "this document", "responses": {"200": _JSON_OK}}},
    },
}
