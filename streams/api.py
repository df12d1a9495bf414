"""The care-team HTTP API on the worker's web port (docs/spec.md, "HTTP API").

Bearer tokens with roles (``streams.auth``); errors are JSON ``{"error", "detail"}``. Alerts
come from the shared ``AlertStore`` in Redis, so any worker answers for any alert; a patient
is answered from memory by its owner, else from its checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from faust.web import View
from pydantic import ValidationError

from alerts.engine import TECHNICAL, AlertEngine
from online_models.state import PatientState
from streams.auth import Authenticator, Principal
from vigilstream.messages import Feedback, SuggestionFeedback, describe_error

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


class CareTeamApi:
    """The routes of the care-team API; each handler is a method, ``register`` binds them."""

    def __init__(self, application: Application) -> None:
        settings = application.settings
        self.application = application
        self.auth = Authenticator(settings.tokens, settings.jwt_jwks, settings.jwt_issuer,
                                  settings.jwt_audience, settings.jwt_role_claim)  # fmt: skip
        self.store = application.alert_store
        self.audit = AuditTrail(application)

    async def caller(self, view: Any, request: Any, role: str, action: str,
                     resource: str) -> Principal | Any:  # fmt: skip
        """The authorized principal (recorded in the audit trail), or the error response."""
        who = self.auth.authorize(request.headers.get("Authorization"), role)
        if isinstance(who, tuple):
            return error(view, *who)
        await self.audit.record(who, action, resource)
        return who

    async def patient(self, web: Any, request: Any, patient_id: str) -> Any:
        application, pseudonym = self.application, self.application.pseudonym
        # With pseudonyms on, a program's own patient id is personal data: clinicians only.
        own_id = pseudonym.enabled and not pseudonym.is_pseudonym(patient_id)
        role = "clinician" if own_id else "viewer"
        patient_id = pseudonym(patient_id)
        who = await self.caller(web, request, role, "view_patient", patient_id)
        if not isinstance(who, Principal):
            return who
        live = patient_id in application.registry.states
        state = await self._state(patient_id)  # not live: another owner's or a restart's
        if state is None:
            return error(web, 404, "no such patient")
        snapshot = state.snapshot(time.time(), application.risk_model)
        snapshot["open_alerts"] = [
            a for a in await self.store.list("open", None) if a["patient_id"] == patient_id
        ]
        snapshot["source"] = "live" if live else "checkpoint"
        return web.json(snapshot)

    async def suggestions(self, web: Any, request: Any, patient_id: str) -> Any:
        """Recent suggestions with their rewards, the current exercise target, today's step
        goal and progress, and the safety gate's answer right now."""
        from online_models.suggestions.safety import refusals
        from online_models.suggestions.situation import situation

        patient_id = self.application.pseudonym(patient_id)
        who = await self.caller(web, request, "viewer", "view_suggestions", patient_id)
        if not isinstance(who, Principal):
            return who
        state = await self._state(patient_id)
        if state is None:
            return error(web, 404, "no such patient")
        now = state.last_event_ts(default=time.time())
        engine = AlertEngine(patient_id)
        engine.load(state.extras.get("alerts") or {})  # as of the patient's latest checkpoint
        status = engine.status()
        open_now = any(a["patient_id"] == patient_id and a["kind"] not in TECHNICAL
                       for a in await self.store.list("open", None))  # fmt: skip
        s = situation(state, replace(status, open=status.open or open_now), now)
        target = s.target
        return web.json({
            "patient_id": patient_id,
            "recent": state.suggester.view(),
            "target": {"hr_zone_bpm": target.hr_zone_bpm, "rpe": target.rpe,
                       "basis": target.basis} if target else None,
            "step_goal": s.step_goal, "steps_today": s.steps_today,
            "exertion_refused": refusals(s.clinical),
            "preferences": {"not_for_me": state.suggester.not_for_me,
                            "ignored_in_a_row": state.suggester.ignored,
                            "daily_cap": state.suggester.daily_cap()},
        })  # fmt: skip

    async def _state(self, patient_id: str) -> PatientState | None:
        """The owner's live state, else the checkpoint."""
        registry = self.application.registry
        state = registry.states.get(patient_id)
        if state is None:
            blob = await registry.store.load(patient_id)
            if blob is None:
                return None
            state, _ = PatientState.from_bytes(blob, patient_id)
        return state

    async def alerts(self, web: Any, request: Any) -> Any:
        who = await self.caller(web, request, "viewer", "list_alerts", request.query_string[:200])
        if not isinstance(who, Principal):
            return who
        status, severity = request.query.get("status"), request.query.get("severity")
        if status is not None and status not in STATUSES:
            return error(web, 422, f"status must be one of {', '.join(STATUSES)}")
        if severity is not None and severity not in SEVERITIES:
            return error(web, 422, f"severity must be one of {', '.join(SEVERITIES)}")
        return web.json({"alerts": await self.store.list(status, severity)})

    async def alert(self, web: Any, request: Any, alert_id: str) -> Any:
        who = await self.caller(web, request, "viewer", "view_alert", alert_id)
        if not isinstance(who, Principal):
            return who
        found = await self.store.get(alert_id)
        return web.json(found) if found is not None else error(web, 404, "no such alert")

    async def acknowledge(self, view: Any, request: Any, alert_id: str) -> Any:
        """A clinician's verdict, given once; written to ``alerts.feedback`` and audited."""
        who = self.auth.authorize(request.headers.get("Authorization"), "clinician")
        if isinstance(who, tuple):
            return error(view, *who)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error(view, 422, "body is not JSON")
        status, answer = await self.give_verdict(who, alert_id, body)
        return view.json(answer) if status == 200 else error(view, status, answer["detail"])

    async def give_verdict(self, who: Principal, alert_id: str, body: Any) -> tuple[int, Any]:
        """Record a clinician's verdict on an alert (the API's and the board's one way):
        (200, answer) or (HTTP status, {"detail"})."""
        found = await self.store.get(alert_id)
        if found is None:
            return 404, {"detail": "no such alert"}
        try:
            feedback = Feedback.model_validate({
                **(body if isinstance(body, dict) else {"verdict": None}),
                "alert_id": alert_id, "by": who.name or who.subject, "by_sub": who.subject,
                "patient_id": found["patient_id"], "at": datetime.now(UTC),
            })  # fmt: skip
        except ValidationError as exc:
            return 422, {"detail": describe_error(exc)}
        doc = feedback.model_dump(mode="json")
        if not await self.store.acknowledge(alert_id, doc):  # the verdict is given once
            first = (await self.store.get(alert_id) or {}).get("ack")
            return 200, {"acknowledged": alert_id, "feedback": first,
                         "already_acknowledged": True}  # fmt: skip
        feedback_topic = self.application.topics.feedback
        await feedback_topic.send(key=alert_id.encode(), value=orjson.dumps(doc))
        await self.audit.record(who, "acknowledge", alert_id)
        return 200, {"acknowledged": alert_id, "feedback": doc}

    async def suggestion_feedback(self, view: Any, request: Any, suggestion_id: str) -> Any:
        """The patient's answer (their own app's token, or a clinician's) to a suggestion."""
        header = request.headers.get("Authorization")
        if isinstance(refused := self.auth.identify(header), tuple):
            return error(view, *refused)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error(view, 422, "body is not JSON")
        patient_id = await self.application.suggestion_index.patient_of(suggestion_id)
        if patient_id is None:
            return error(view, 404, "no such suggestion")
        real = await self.application.identities.resolve(patient_id) or patient_id
        who = self.auth.patient_or_clinician(header, real)
        if isinstance(who, tuple):
            return error(view, *who)
        try:
            answer = SuggestionFeedback.model_validate({
                **(body if isinstance(body, dict) else {"response": None}),
                "suggestion_id": suggestion_id, "patient_id": patient_id,
                "at": datetime.now(UTC)})  # fmt: skip
        except ValidationError as exc:
            return error(view, 422, describe_error(exc))
        doc = answer.model_dump(mode="json")
        topic = self.application.topics.suggestion_feedback
        await topic.send(key=patient_id.encode(), value=orjson.dumps(doc))
        await self.audit.record(who, "suggestion_feedback", suggestion_id)
        return view.json({"recorded": suggestion_id, "feedback": doc})

    async def identity(self, web: Any, request: Any, alias: str) -> Any:
        """The program's own id behind a pseudonym (clinicians only; audited)."""
        who = await self.caller(web, request, "clinician", "resolve_identity", alias)
        if not isinstance(who, Principal):
            return who
        real = await self.application.identities.resolve(alias)
        if real is None:
            return error(web, 404, "no such pseudonym")
        return web.json({"patient_id": alias, "identity": real})

    async def audit_trail(self, web: Any, request: Any) -> Any:
        who = self.auth.authorize(request.headers.get("Authorization"), "clinician")
        if isinstance(who, tuple):
            return error(web, *who)
        return web.json({"entries": await self.audit.recent()})

    async def openapi(self, web: Any, request: Any) -> Any:
        return web.json(OPENAPI)

    def register(self) -> None:
        app, api = self.application.faust, self

        class Ack(View):
            async def post(self, request: Any, alert_id: str) -> Any:
                return await api.acknowledge(self, request, alert_id)

        class Answer(View):
            async def post(self, request: Any, suggestion_id: str) -> Any:
                return await api.suggestion_feedback(self, request, suggestion_id)

        app.page("/api/patients/{patient_id}")(_handler(self.patient))
        app.page("/api/patients/{patient_id}/suggestions")(_handler(self.suggestions))
        app.page("/api/alerts")(_handler(self.alerts))
        app.page("/api/alerts/{alert_id}")(_handler(self.alert))
        app.page("/api/alerts/{alert_id}/ack")(Ack)
        app.page("/api/suggestions/{suggestion_id}/feedback")(Answer)
        app.page("/api/identity/{alias}")(_handler(self.identity))
        app.page("/api/audit")(_handler(self.audit_trail))
        app.page("/api/openapi.json")(_handler(self.openapi))


def _handler(method: Any) -> Any:
    """A plain function for Faust's ``View.from_handler``, which binds its handler to the view
    (a bound method would not receive the view)."""

    async def handler(view: Any, request: Any, **kwargs: Any) -> Any:
        return await method(view, request, **kwargs)

    handler.__name__ = method.__name__
    handler.__doc__ = method.__doc__
    return handler


def register(application: Application) -> CareTeamApi:
    api = CareTeamApi(application)
    api.register()
    return api


def _bearer(role: str) -> dict[str, Any]:
    return {"security": [{"bearer": []}], "x-role": role}


_ERR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {"401": _ERR, "403": _ERR, "404": _ERR, "422": _ERR, "429": _ERR}


def _path(name: str, pattern: str | None = None) -> dict[str, Any]:
    """An OpenAPI path parameter."""
    schema = {"type": "string", **({"pattern": pattern} if pattern else {})}
    return {"name": name, "in": "path", "required": True, "schema": schema}


_PATIENT_ID = _path("patient_id", "^[A-Za-z0-9._-]{1,64}$")
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
                "parameters": [_path("alert_id")],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/alerts/{alert_id}/ack": {
            "post": {
                "summary": "acknowledge with a verdict; written to alerts.feedback",
                **_bearer("clinician"),
                "parameters": [_path("alert_id")],
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
                "parameters": [_PATIENT_ID],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/patients/{patient_id}/suggestions": {
            "get": {
                "summary": "recent suggestions with rewards, exercise target, step goal, gate",
                **_bearer("viewer"),
                "parameters": [_PATIENT_ID],
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/suggestions/{suggestion_id}/feedback": {
            "post": {
                "summary": "the patient's answer to a suggestion; written to suggestions.feedback",
                "security": [{"bearer": []}],
                "x-role": "clinician, or patient:<the suggestion's patient>",
                "parameters": [_path("suggestion_id")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["response"],
                                "properties": {
                                    "response": {
                                        "type": "string",
                                        "enum": ["done", "not_now", "not_for_me"],
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _JSON_OK, **_ERRORS},
            }
        },
        "/api/identity/{alias}": {
            "get": {
                "summary": "the program's own patient id behind a pseudonym (audited)",
                **_bearer("clinician"),
                "parameters": [_path("alias")],
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
