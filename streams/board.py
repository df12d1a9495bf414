"""The care-team board: server-rendered HTML on the worker's web port (``/board``).

Same tokens and roles as the API (``streams.auth``). A sign-in form takes the token once and
keeps it in a session cookie that scripts cannot read (``HttpOnly``), sent only to ``/board``
(``Path``) and never cross-site (``SameSite=Strict``; ``Secure`` behind TLS) — never in a URL.
Every form that changes something carries a token derived from the session (double submit,
OWASP CSRF cheat sheet) and the request's ``Origin`` must be this server when present.

Pages: the alert inbox (needs attention = open and not yet acknowledged, acknowledged but still
open, recently resolved; filters by severity and kind; a clinician acknowledges with a verdict
and a note), and a patient page (latest vitals, NEWS2 with subscores, 24 h and 7-day charts
against the personal baseline band, open alerts with the explanation they were raised with
and the patient's assessment now, phenotype trends, recent suggestions).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from faust.web import View
from jinja2 import Environment, FileSystemLoader, select_autoescape

from alerts.engine import TECHNICAL
from online_models.history import CHARTED
from streams.auth import Principal
from streams.charts import Band, chart_svg

if TYPE_CHECKING:
    from streams.api import CareTeamApi
    from streams.app import Application

COOKIE = "vigil_board"
KINDS = ("deterioration", "baseline_deviation", "trend", "risk", "device_offline", "battery_low",
         "not_worn")  # fmt: skip
SEVERITIES = ("high", "medium", "low", "info")
CHART_UNITS = {"heart_rate": ("heart rate", "bpm"), "respiratory_rate": ("respiratory rate",
               "breaths/min"), "spo2": ("SpO2", "%")}  # fmt: skip
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}  # fmt: skip
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _when(ts: Any) -> str:
    """An event time as the board shows it (UTC, to the minute)."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts)))


TEMPLATES.filters["when"] = _when
TEMPLATES.filters["q"] = lambda value: quote(str(value), safe="")


def csrf_token(session: str) -> str:
    """The form token of a session: derived from it, so nothing is stored server-side."""
    return hmac.new(session.encode(), b"vigilstream-board-form", hashlib.sha256).hexdigest()[:32]


class Board:
    def __init__(self, application: Application, api: CareTeamApi) -> None:
        self.application, self.api = application, api

    # ------------------------------------------------------------------ plumbing
    def page(self, view: Any, template: str, status: int = 200, **context: Any) -> Any:
        body = TEMPLATES.get_template(template).render(**context)
        return view.html(body, status=status, headers=dict(SECURITY_HEADERS))

    def redirect(self, view: Any, to: str, cookie: str | None = None) -> Any:
        headers = {**SECURITY_HEADERS, "Location": to}
        if cookie is not None:
            headers["Set-Cookie"] = cookie
        return view.html("", status=303, headers=headers)

    def session(self, request: Any) -> tuple[str, Principal] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        who = self.api.auth.identify(f"Bearer {token}")
        if isinstance(who, tuple) or who.role not in ("viewer", "clinician"):
            return None
        return token, who

    @staticmethod
    def same_origin(request: Any) -> bool:
        origin = request.headers.get("Origin")
        return origin is None or urlparse(origin).netloc == request.host

    async def form(self, view: Any, request: Any) -> tuple[str, Principal, Any] | Any:
        """A signed-in, same-origin form post with its CSRF token: (token, who, form) or the
        error page."""
        found = self.session(request)
        if found is None:
            return self.redirect(view, "/board/login")
        form = await request.post()
        if not self.same_origin(request) or not hmac.compare_digest(
            str(form.get("csrf", "")), csrf_token(found[0])
        ):
            return self.page(view, "error.html", 403, message="This form has expired or did not "
                             "come from this board; reload the page and try again.")  # fmt: skip
        return found[0], found[1], form

    # ------------------------------------------------------------------ sign-in
    async def login_form(self, view: Any, request: Any) -> Any:
        return self.page(view, "login.html", error=None)

    async def login(self, view: Any, request: Any) -> Any:
        form = await request.post()
        token = str(form.get("token", "")).strip()
        who = self.api.auth.identify(f"Bearer {token}") if token else (401, "no token")
        if isinstance(who, tuple) or who.role not in ("viewer", "clinician"):
            return self.page(view, "login.html", 401, error="That token is not accepted here.")
        secure = "; Secure" if request.secure else ""
        cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/board{secure}"
        return self.redirect(view, "/board", cookie)

    async def logout(self, view: Any, request: Any) -> Any:
        found = await self.form(view, request)
        if not isinstance(found, tuple):
            return found
        gone = f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/board; Max-Age=0"
        return self.redirect(view, "/board/login", gone)

    # ------------------------------------------------------------------ inbox
    async def inbox(self, view: Any, request: Any) -> Any:
        found = self.session(request)
        if found is None:
            return self.redirect(view, "/board/login")
        token, who = found
        await self.api.audit.record(who, "board_inbox", request.query_string[:200])
        severity = request.query.get("severity") or None
        kind = request.query.get("kind") or None
        severity = severity if severity in SEVERITIES else None
        kind = kind if kind in KINDS else None
        store = self.api.store

        def keep(alert: dict[str, Any]) -> bool:
            return kind is None or alert["kind"] == kind

        open_alerts = [a for a in await store.list("open", severity) if keep(a)]
        recent = [a for a in await store.list(None, severity, limit=400)
                  if a["status"] == "resolved" and keep(a)][:50]  # fmt: skip
        order = {s: i for i, s in enumerate(SEVERITIES)}
        open_alerts.sort(key=lambda a: (a["kind"] in TECHNICAL, order[a["severity"]],
                                        a["status"] != "escalated"))  # fmt: skip
        return self.page(
            view, "inbox.html", who=who, csrf=csrf_token(token), severities=SEVERITIES,
            kinds=KINDS, severity=severity, kind=kind,
            attention=[a for a in open_alerts if "ack" not in a],
            acknowledged=[a for a in open_alerts if "ack" in a], recent=recent,
        )  # fmt: skip

    async def acknowledge(self, view: Any, request: Any, alert_id: str) -> Any:
        found = await self.form(view, request)
        if not isinstance(found, tuple):
            return found
        _, who, form = found
        if who.role != "clinician":
            needed = "Acknowledging an alert needs the clinician role."
            return self.page(view, "error.html", 403, message=needed)
        body = {"verdict": form.get("verdict"), "note": form.get("note") or None}
        status, answer = await self.api.give_verdict(who, alert_id, body)
        if status != 200:
            return self.page(view, "error.html", status, message=answer["detail"])
        back = str(form.get("back", "/board"))
        return self.redirect(view, back if back.startswith("/board") else "/board")

    # ------------------------------------------------------------------ patient
    async def patient(self, view: Any, request: Any, patient_id: str) -> Any:
        found = self.session(request)
        if found is None:
            return self.redirect(view, "/board/login")
        token, who = found
        application = self.application
        pseudonym = application.pseudonym
        if pseudonym.enabled and not pseudonym.is_pseudonym(patient_id) and who.role != "clinician":
            return self.page(view, "error.html", 403, message="A program's own patient id needs "
                             "the clinician role.")  # fmt: skip
        patient_id = pseudonym(patient_id)
        await self.api.audit.record(who, "board_patient", patient_id)
        state = await self.api._state(patient_id)
        if state is None:
            return self.page(view, "error.html", 404, message="No such patient.")
        now = state.last_event_ts(default=time.time())
        snapshot = state.snapshot(now, application.risk_model)
        baselines = snapshot["baselines"]
        charts = []
        for signal in CHARTED:
            title, unit = CHART_UNITS[signal]
            base = baselines.get(signal)
            band = Band(base["mean"], base["sd"]) if base and base["warm"] else None
            row = []
            for label, span in (("last 24 h", 86400.0), ("last 7 days", 7 * 86400.0)):
                points = [(t + 1800.0, v) for t, v, _ in state.history.series(signal, now - span)]
                row.append((label, chart_svg(f"{title}, {label}", unit, points, band,
                                             now - span, now)))  # fmt: skip
            charts.append(row)
        alerts = [a for a in await self.api.store.list("open", None)
                  if a["patient_id"] == patient_id]  # fmt: skip
        return self.page(
            view, "patient.html", who=who, csrf=csrf_token(token), patient_id=patient_id,
            snapshot=snapshot, charts=charts, alerts=alerts, now=now,
            suggestions=state.suggester.view()[:10],
        )  # fmt: skip


def register(application: Application, api: CareTeamApi) -> Board:
    board = Board(application, api)
    app = application.faust

    class Login(View):
        async def get(self, request: Any) -> Any:
            return await board.login_form(self, request)

        async def post(self, request: Any) -> Any:
            return await board.login(self, request)

    class Logout(View):
        async def post(self, request: Any) -> Any:
            return await board.logout(self, request)

    class Ack(View):
        async def post(self, request: Any, alert_id: str) -> Any:
            return await board.acknowledge(self, request, alert_id)

    class Inbox(View):
        async def get(self, request: Any) -> Any:
            return await board.inbox(self, request)

    class Patient(View):
        async def get(self, request: Any, patient_id: str) -> Any:
            return await board.patient(self, request, patient_id)

    app.page("/board")(Inbox)
    app.page("/board/login")(Login)
    app.page("/board/logout")(Logout)
    app.page("/board/alerts/{alert_id}/ack")(Ack)
    app.page("/board/patients/{patient_id}")(Patient)
    return board
