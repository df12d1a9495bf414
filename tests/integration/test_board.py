"""The care-team board in a real browser (Debian's chromium via Playwright) against a real
worker: sign in, see an alert the test produced, open the patient, acknowledge as a clinician
and see the alert leave the list that needs attention; a viewer cannot acknowledge.

``VIGIL_BOARD_SCREENSHOTS=DIR`` also writes the screenshots the README shows."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.alerts.test_engine import CALM, SICK
from tests.helpers import WorkerProcess, wait_for
from tests.integration.test_alerts import deterioration_alerts, minutes
from tests.integration.test_monitor import produce
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser there is a failure
        pytest.skip(message)
    return found


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


def stored_alert(settings: Settings, worker: WorkerProcess, patient: str) -> str:
    """A deterioration alert of ``patient``, produced through the worker and in its store."""
    produce(settings, minutes(patient, [CALM] * 30 + [SICK] * 5, time.time() - 3 * 3600), batch=7)
    (opened,) = deterioration_alerts(settings, expected=1)
    alert_id = opened["alert_id"]
    wait_for(lambda: worker.get(f"/api/alerts/{alert_id}", "view-tok")[0] == 200,
             "the alert in the alert store")  # fmt: skip
    return str(alert_id)


def sign_in(browser, base: str, token: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/board")
    assert page.url.endswith("/board/login")  # not signed in: the sign-in form
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/board")
    assert token not in page.url
    return page


def test_board_sign_in_inbox_patient_and_acknowledge(
    settings: Settings,
    worker: WorkerProcess,
    browser,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    alert_id = stored_alert(settings, worker, "p-board")
    base = f"http://127.0.0.1:{worker.port}"
    shots = Path(os.environ.get("VIGIL_BOARD_SCREENSHOTS") or tmp_path)

    # A wrong token is refused on the form, not let in.
    page = browser.new_page()
    page.goto(f"{base}/board/login")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    assert "not accepted" in page.inner_text("[role=alert]")
    page.close()

    page = sign_in(browser, base, "clin-tok")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "vigil_board"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/board"
    row = page.locator(f"#attention tr[data-alert='{alert_id}']")
    assert "high" in row.inner_text() and "p-board" in row.inner_text()
    page.select_option("select[name=kind]", "deterioration")
    page.click("form.filters button")
    assert page.locator(f"#attention tr[data-alert='{alert_id}']").count() == 1
    page.select_option("select[name=kind]", "trend")
    page.click("form.filters button")
    assert page.locator(f"#attention tr[data-alert='{alert_id}']").count() == 0
    page.goto(f"{base}/board")
    page.screenshot(path=str(shots / "board-inbox.png"), full_page=True)

    page.click(f"#attention tr[data-alert='{alert_id}'] a")
    page.wait_for_url(f"{base}/board/patients/p-board")
    assert page.inner_text("h1") == "Patient p-board"
    assert int(page.inner_text("h2 >> nth=0").split()[1]) >= 7  # NEWS2 of the sick minutes
    assert page.locator("#news2 tbody tr").count() >= 5  # the subscores
    assert page.locator("svg.chart polyline").count() >= 3  # HR, RR, SpO2 (24 h and 7 days)
    assert page.locator(f"article.alert[data-alert='{alert_id}']").count() == 1
    page.screenshot(path=str(shots / "board-patient.png"), full_page=True)

    page.goto(f"{base}/board")
    form = page.locator(f"#attention tr[data-alert='{alert_id}'] form.ack")
    form.locator("select[name=verdict]").select_option("actionable")
    form.locator("input[name=note]").fill("rapid response called")
    form.locator("button").click()
    page.wait_for_url(f"{base}/board")
    assert page.locator(f"#attention tr[data-alert='{alert_id}']").count() == 0
    acked = page.locator(f"#acknowledged tr[data-alert='{alert_id}']").inner_text()
    assert "actionable" in acked and "rapid response called" in acked
    status, body = worker.get(f"/api/alerts/{alert_id}", "view-tok")
    assert status == 200 and b'"verdict":"actionable"' in body.replace(b" ", b"")


def test_a_viewer_sees_but_cannot_acknowledge(
    settings: Settings,
    worker: WorkerProcess,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    alert_id = stored_alert(settings, worker, "p-view")
    base = f"http://127.0.0.1:{worker.port}"
    page = sign_in(browser, base, "view-tok")
    row = page.locator(f"#attention tr[data-alert='{alert_id}']")
    assert row.count() == 1 and row.locator("form.ack").count() == 0
    # Forged: the viewer's own session and form token, posted by hand.
    csrf = page.locator("header input[name=csrf]").get_attribute("value")
    answer = page.request.post(f"{base}/board/alerts/{alert_id}/ack",
                               form={"csrf": csrf, "verdict": "not_actionable"})  # fmt: skip
    assert answer.status == 403 and "clinician role" in answer.text()
    # And without the form token, even a clinician's session cannot post.
    clinician = sign_in(browser, base, "clin-tok")
    answer = clinician.request.post(f"{base}/board/alerts/{alert_id}/ack",
                                    form={"verdict": "not_actionable"})  # fmt: skip
    assert answer.status == 403
    assert b'"ack"' not in worker.get(f"/api/alerts/{alert_id}", "view-tok")[1]


def test_api_docs_are_served_from_installed_files(worker: WorkerProcess, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"http://127.0.0.1:{worker.port}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "vigilstream" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock-summary-path").count() >= 8  # the API's operations
    assert all(url.startswith(f"http://127.0.0.1:{worker.port}/") for url in requested)
    assert worker.get("/api/docs/..%2Fpyproject.toml")[0] == 404
