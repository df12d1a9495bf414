"""What an attacker and a care team see of the worker's web port, on a real worker.

Every route of the worker's route table needs a token except ``/health``, ``/metrics``, the
API document and its Swagger UI files; the board without a session only offers its sign-in
form; Faust's built-in pages are gone; identities come from JWTs; a verdict is given
once; failed authentication is rate-limited; errors are JSON; no version banner.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from streams.app import Application
from streams.web import PUBLIC
from tests.helpers import WorkerProcess, cohort, produce, read_topic, wait_for
from vigilstream.config import Settings

pytestmark = pytest.mark.integration
ISSUER, AUDIENCE = "https://idp.example.test/realms/ward", "vigilstream"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def worker_routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path) of every route the worker's web server serves, from its own table."""
    application = Application(settings)
    application.faust.web.init_server()
    routes = []
    for route in application.faust.web.web_app.router.routes():
        if route.method != "HEAD":
            path = re.sub(r"\{[^}]+\}", "p-probe", route.resource.canonical)
            routes.append((route.method, path))
    return routes


def test_no_route_answers_without_a_token(settings: Settings, tmp_path: Path) -> None:
    routes = worker_routes(settings)
    assert ("GET", "/api/patients/p-probe") in routes
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        seen = {}
        faust_pages = [("GET", "/table/profiles/p-1/"), ("GET", "/router/"), ("GET", "/table/"),
                       ("GET", "/graph/")]  # fmt: skip
        for method, path in [*routes, *faust_pages]:
            if path.startswith("/board"):
                continue  # HTML, below
            status, body = worker.request(method, path, body=b"{}" if method == "POST" else None)
            seen[(method, path)] = status
            if path in PUBLIC:
                assert status == 200, (method, path)
            elif path.startswith("/api/docs/"):
                assert status == 404  # only the named Swagger UI files exist (p-probe is none)
            else:
                assert status in (401, 404), (method, path, status)
                assert set(json.loads(body)) == {"error", "detail"}
        assert seen[("GET", "/table/profiles/p-1/")] == 404
        assert seen[("GET", "/api/patients/p-probe")] == 401
        board = [(m, p) for m, p in routes if p.startswith("/board")]
        assert len(board) >= 6
        opener = urllib.request.build_opener(NoRedirect)
        for method, path in board:
            request = urllib.request.Request(f"http://127.0.0.1:{worker.port}{path}",
                                             data=b"token=" if method == "POST" else None,
                                             method=method)  # fmt: skip
            try:
                with opener.open(request, timeout=5) as r:
                    status, location, body = r.status, r.headers.get("Location"), r.read()
            except urllib.error.HTTPError as exc:
                status, location, body = exc.code, exc.headers.get("Location"), exc.read()
            if (method, path) == ("GET", "/board/login"):
                assert status == 200 and b'name="token"' in body
            elif (method, path) == ("POST", "/board/login"):
                assert status == 401 and b"not accepted" in body  # an empty token
            else:  # no session: to the sign-in form, nothing else
                assert (status, location) == (303, "/board/login"), (method, path)
    finally:
        worker.stop()


@pytest.fixture
def identity(tmp_path: Path) -> dict:
    """An identity provider's signing key and the JWKS file the worker trusts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    return {"key": key, "jwks": str(jwks)}


def token(identity: dict, sub: str, roles: list[str], **claims: object) -> str:
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "name": f"Nurse {sub}", "roles": roles,
            "exp": int(time.time()) + 600, **claims}  # fmt: skip
    return jwt.encode(body, identity["key"], algorithm="RS256", headers={"kid": "k1"})


def test_ack_records_the_person_once(settings: Settings, tmp_path: Path, identity: dict) -> None:
    env = {"VIGIL_JWT_JWKS": identity["jwks"], "VIGIL_JWT_ISSUER": ISSUER,
           "VIGIL_JWT_AUDIENCE": AUDIENCE}  # fmt: skip
    worker = WorkerProcess(settings, tmp_path / "worker.log", extra_env=env)
    try:
        worker.wait_healthy()
        produce(settings, cohort(1, time.time() - 3 * 3600))  # p-000 deteriorates
        alert = read_topic(settings, "alerts", 1)[0][1]
        alert_id = alert["alert_id"]
        wait_for(lambda: worker.get(f"/api/alerts/{alert_id}", token="view-tok")[0] == 200,
                 "the alert in the store")  # fmt: skip
        nurse = token(identity, "u-481", ["clinician"])
        body = json.dumps({"verdict": "not_actionable", "note": "artefact"}).encode()
        first = worker.request("POST", f"/api/alerts/{alert_id}/ack", nurse, body)
        again = worker.request("POST", f"/api/alerts/{alert_id}/ack", nurse, body)
        other = worker.request("POST", f"/api/alerts/{alert_id}/ack",
                               token(identity, "u-7", ["clinician"]),
                               json.dumps({"verdict": "actionable"}).encode())  # fmt: skip
        assert first[0] == again[0] == other[0] == 200
        assert json.loads(first[1])["feedback"]["by_sub"] == "u-481"
        assert json.loads(again[1])["already_acknowledged"] is True
        assert json.loads(other[1])["feedback"]["verdict"] == "not_actionable"  # the first one
        feedback = read_topic(settings, "alerts.feedback", 1, timeout=15)
        assert [(v["by_sub"], v["by"], v["verdict"]) for _, v in feedback] == [
            ("u-481", "Nurse u-481", "not_actionable")
        ]
        stored = worker.get(f"/api/alerts/{alert_id}", token="view-tok")[1]
        assert json.loads(stored)["ack"]["by_sub"] == "u-481"
        audit = worker.get("/api/audit", token=nurse)[1]
        actions = [(e["sub"], e["action"], e["resource"]) for e in json.loads(audit)["entries"]]
        assert ("u-481", "acknowledge", alert_id) in actions
        assert actions.count(("u-481", "acknowledge", alert_id)) == 1
        # a viewer's JWT may look but not acknowledge; a forged or expired one is refused
        viewer = token(identity, "u-9", ["viewer"])
        assert worker.get(f"/api/alerts/{alert_id}", token=viewer)[0] == 200
        assert worker.request("POST", f"/api/alerts/{alert_id}/ack", viewer, body)[0] == 403
        expired = token(identity, "u-481", ["clinician"], exp=int(time.time()) - 60)
        assert worker.get("/api/alerts", token=expired)[0] == 401
        forged = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "roles": ["clinician"],
                             "exp": int(time.time()) + 600},
                            rsa.generate_private_key(public_exponent=65537, key_size=2048),
                            algorithm="RS256", headers={"kid": "k1"})  # fmt: skip
        assert worker.get("/api/alerts", token=forged)[0] == 401
        wrong_audience = token(identity, "u-481", ["clinician"], aud="another-app")
        assert worker.get("/api/alerts", token=wrong_audience)[0] == 401
    finally:
        worker.stop()


def test_failed_authentication_is_rate_limited(settings: Settings, tmp_path: Path) -> None:
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        statuses = [worker.get("/api/alerts", token=uuid.uuid4().hex)[0] for _ in range(12)]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        assert worker.get("/api/alerts", token="view-tok")[0] == 429  # the client, not the token
        assert worker.request("GET", "/health")[0] == 200  # public routes still answer
    finally:
        worker.stop()


def test_errors_are_json_and_no_version_banner(settings: Settings, tmp_path: Path) -> None:
    import urllib.request

    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.wait_healthy()
        for method, path, body, want in [
            ("GET", "/nowhere", None, 404),
            ("DELETE", "/api/alerts", None, 405),
            ("POST", "/api/alerts/x/ack", b"{" + b" " * 70_000 + b"}", 413),
        ]:
            status, raw = worker.request(method, path, "clin-tok", body)
            assert status == want, (path, status, raw[:200])
            assert set(json.loads(raw)) == {"error", "detail"}
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/health") as response:
            assert response.headers["Server"] == "vigilstream"
    finally:
        worker.stop()
