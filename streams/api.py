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
from streams.auth import Authenticator, Principal
from vigilstream.messages import Feedback, describe_error

if TYPE_CHECKING:
    from streams.app import Application

SEVERITIES = ("info", "low", "medium", "high")
STATUSES = ("open", "updated", "escalated", "resolved")


AUDIT_KEEP = 100_000


def error(view: Any, status: int, detail: str) -> Any:
    from streams.web import ERROR_NAMES

    return view.json({"error": ERROR_NAMES.get(status, "error"), "detail": detail}, status=status)


class AuditTrail:
    """Who viewed or acknowledged what, in a capped Redis stream (``<prefix>vigil:audit``)."""

    def __init__(self, application: Application) -> None:
        self.client = application.redis
        self.key = f"{application.settings.topic_prefix}vigil:audit"

    async def record(self, who: Principal, action: str, resource: str) -> None:
        entry = {"at": datetime.now(UTC).isoformat(), "sub": who.subject, "role": who.role,
                 "name": who.name or "", "action": action, "resource": resource}  # fmt: skip
        await self.client.xadd(self.key, entry, maxlen=AUDIT_KEEP, approximate=True)

    async def recent(self, count: int = 200) -> list[dict[str, str]]:
        rows = await self.client.xrevrange(self.key, count=count)
        return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]


def register(application: Application) -> None:
    app, settings = application.faust, application.settings
    auth = Authenticator(settings.tokens, settings.jwt_jwks, settings.jwt_issuer,
                         settings.jwt_audience, settings.jwt_role_claim)  # fmt: skip
    store = application.alert_store
    audit = AuditTrail(application)

    async def caller(view: Any, request: Any, role: str, action: str,
                     resource: str) -> Principal | Any:  # fmt: skip
        """The authorized principal (recorded in the audit trail), or the error response."""
        who = auth.authorize(request.headers.get("Authorization"), role)
        if isinstance(who, tuple):
            return error(view, *who)
        await audit.record(who, action, resource)
        return who

    def denied(view: Any, request: Any, role: str) -> Any | None:
        who = auth.authorize(request.headers.get("Authorization"), role)
        return error(view, *who) if isinstance(who, tuple) else None

    @app.page("/api/patients/{patient_id}")
    async def patient(web: Any, request: Any, patient_id: str) -> Any:
        pseudonym = application.pseudonym
        # With pseudonyms on, a program's own patient id is personal data: clinicians only.
        needed = "clinician" if pseudonym.enabled and not pseudonym.is_pseudonym(patient_id) \
            else "viewer"  # fmt: skip
        who = await caller(web, request, needed, "view_patient", pseudonym(patient_id))
        if not isinstance(who, Principal):
            return who
        patient_id = pseudonym(patient_id)
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
        who = await caller(web, request, "viewer", "list_alerts", request.query_string[:200])
        if not isinstance(who, Principal):
            return who
        status, severity = request.query.get("status"), request.query.get("severity")
        if status is not None and status not in STATUSES:
            return error(web, 422, f"status must be one of {', '.join(STATUSES)}")
        if severity is not None and severity not in SEVERITIES:
            return error(web, 422, f"severity must be one of {', '.join(SEVERITIES)}")
        return web.json({"alerts": await store.list(status, severity)})

    @app.page("/api/alerts/{alert_id}")
    async def alert(web: Any, request: Any, alert_id: str) -> Any:
        who = await caller(web, request, "viewer", "view_alert", alert_id)
        if not isinstance(who, Principal):
            return who
        found = await store.get(alert_id)
        return web.json(found) if found is not None else error(web, 404, "no such alert")

    @app.page("/api/alerts/{alert_id}/ack")
    class Ack(View):
        async def post(self, request: Any, alert_id: str) -> Any:
            who = auth.authorize(request.headers.get("Authorization"), "clinician")
            if isinstance(who, tuple):
                return error(self, *who)
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                return error(self, 422, "body is not JSON")
            found = await store.get(alert_id)
            if found is None:
                return error(self, 404, "no such alert")
            try:
                feedback = Feedback.model_validate({
                    **(body if isinstance(body, dict) else {"verdict": None}),
                    "alert_id": alert_id, "by": who.name or who.subject, "by_sub": who.subject,
                    "patient_id": found["patient_id"], "at": datetime.now(UTC),
                })  # fmt: skip
            except ValidationError as exc:
                return error(self, 422, describe_error(exc))
            doc = feedback.model_dump(mode="json")
            if not await store.acknowledge(alert_id, doc):  # the verdict is given once
                first = (await store.get(alert_id) or {}).get("ack")
                return self.json({"acknowledged": alert_id, "feedback": first,
                                  "already_acknowledged": True})  # fmt: skip
            await application.topics.feedback.send(key=alert_id.encode(), value=orjson.dumps(doc))
            await audit.record(who, "acknowledge", alert_id)
            return self.json({"acknowledged": alert_id, "feedback": doc})

    @app.page("/api/identity/{alias}")
    async def identity(web: Any, request: Any, alias: str) -> Any:
        """The program's own id behind a pseudonym (clinicians only; audited)."""
        who = await caller(web, request, "clinician", "resolve_identity", alias)
        if not isinstance(who, Principal):
            return who
        real = await application.identities.resolve(alias)
        if real is None:
            return error(web, 404, "no such pseudonym")
        return web.json({"patient_id": alias, "identity": real})

    @app.page("/api/audit")
    async def audit_trail(web: Any, request: Any) -> Any:
        if (refusal := denied(web, request, "clinician")) is not None:
            return refusal
        return web.json({"entries": await audit.recent()})

    @app.page("/api/openapi.json")
    async def openapi(web: Any, request: Any) -> Any:
        return web.json(OPENAPI)


def _bearer(role: str) -> dict[str, Any]:
    return {"security": [{"bearer": []}], "x-role": role}


_ERR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {"401": _ERR, "403": _ERR, "404": _ERR, "422": _ERR, "429": _ERR}
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
        "/api/identity/{alias}": {
            "get": {
                "summary": "the program's own patient id behind a pseudonym (audited)",
                **_bearer("clinician"),
                "parameters": [
                    {"name": "alias", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/audit": {
            "get": {
                "summary": "who viewed or acknowledged what, newest first",
                **_bearer("clinician"),
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/openapi.json": {"get": {"summary": "this document", "responses": {"200": _JSON_OK}}},
    },
}
