"""Alerts through the real worker, broker and Redis: one alert per episode, and failover."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.alerts.test_engine import CALM, SICK
from tests.helpers import WorkerProcess, read_topic, wait_for
from tests.integration.test_monitor import produce
from vigilstream import messages
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def minutes(patient: str, plan: list[dict], start: float) -> list[dict]:
    """Native readings for each minute of a plan of vitals (as a bedside monitor would send)."""
    out = []
    for i, vitals in enumerate(plan):
        ts = start + i * 60
        for signal_name, value in vitals.items():
            out.append({"patient_id": patient, "signal": signal_name, "value": value, "ts": ts})
        out.append({"patient_id": patient, "signal": "consciousness", "value": "A", "ts": ts})
        out.append({"patient_id": patient, "signal": "supplemental_o2", "value": False, "ts": ts})
    return out


def deterioration_alerts(settings: Settings, expected: int) -> list[dict]:
    return [v for _, v in read_topic(settings, "alerts", expected=expected, timeout=60)
            if v["kind"] == "deterioration"]  # fmt: skip


def test_one_alert_id_per_episode_through_the_worker(
    settings: Settings, worker: WorkerProcess
) -> None:
    start = time.time() - 3 * 3600
    plan = [CALM] * 60 + [SICK] * 20 + [CALM] * 45
    produce(settings, minutes("p-det", plan, start), batch=7)  # one minute per message
    alerts = deterioration_alerts(settings, expected=2)
    assert len({a["alert_id"] for a in alerts}) == 1
    assert (alerts[0]["status"], alerts[0]["severity"]) == ("open", "high")
    assert alerts[0]["explanation"]["news2"]["total"] == 12
    assert alerts[-1]["status"] == "resolved"
    assert [a["status"] for a in alerts].count("open") == 1
    for alert in alerts:
        messages.validate("alert", alert)
    _, metrics = worker.get("/metrics")
    assert b'vigil_alerts_total{kind="deterioration",severity="high"}' in metrics


def test_failover_keeps_the_episode_and_its_alert_id(settings: Settings, tmp_path: Path) -> None:
    start = time.time() - 3 * 3600
    first = WorkerProcess(settings, tmp_path / "w1.log")
    try:
        first.wait_healthy()
        produce(settings, minutes("p-fail", [CALM] * 30 + [SICK] * 10, start), batch=7)
        opened = deterioration_alerts(settings, expected=1)
        assert [a["status"] for a in opened] == ["open"]
    finally:
        # A crash right after the alert, checkpointed or not: the next worker replays what was
        # not saved and re-derives the same episode (same id), never a second one.
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
    second = WorkerProcess(settings, tmp_path / "w2.log")
    try:
        second.wait_healthy()
        later = start + 40 * 60
        produce(settings, minutes("p-fail", [SICK] * 10 + [CALM] * 40, later), batch=7)
        deadline = time.monotonic() + 60
        alerts: list[dict] = []
        while time.monotonic() < deadline:
            alerts = deterioration_alerts(settings, expected=2)
            if alerts and alerts[-1]["status"] == "resolved":
                break
        assert len({a["alert_id"] for a in alerts}) == 1  # no second alert after the failover
        # Delivery is at least once: a replay after the crash may publish the opening again,
        # but as the same message of the same episode (same id, event time and severity).
        opens = {(a["alert_id"], a["event_time"], a["severity"]) for a in alerts
                 if a["status"] == "open"}  # fmt: skip
        assert len(opens) == 1
        assert alerts[-1]["status"] == "resolved"
    finally:
        second.stop()


def test_care_team_api_lists_gets_and_acknowledges(
    settings: Settings, worker: WorkerProcess
) -> None:
    import json

    from openapi_spec_validator import validate

    start = time.time() - 3 * 3600
    produce(settings, minutes("p-api", [CALM] * 10 + [SICK] * 5, start), batch=7)
    (opened,) = deterioration_alerts(settings, expected=1)
    alert_id = opened["alert_id"]
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline and worker.get(f"/api/alerts/{alert_id}", "view-tok")[0] != 200
    ):
        time.sleep(0.3)

    assert worker.get("/api/alerts")[0] == 401
    assert worker.get("/api/alerts", token="wrong")[0] == 401
    status, body = worker.get("/api/alerts?status=open&severity=high", token="view-tok")
    assert status == 200 and [a["alert_id"] for a in json.loads(body)["alerts"]] == [alert_id]
    assert json.loads(worker.get("/api/alerts?severity=low", "view-tok")[1])["alerts"] == []
    assert worker.get("/api/alerts?status=sleeping", "view-tok")[0] == 422
    status, body = worker.get(f"/api/alerts/{alert_id}", "view-tok")
    detail = json.loads(body)
    assert status == 200 and detail["history"][0]["status"] == "open"
    assert worker.get("/api/alerts/a-nope", "view-tok")[0] == 404
    view = json.loads(worker.get("/api/patients/p-api", "view-tok")[1])
    assert [a["alert_id"] for a in view["open_alerts"]] == [alert_id]

    ack = f"/api/alerts/{alert_id}/ack"
    verdict = json.dumps({"verdict": "actionable", "note": "RRT called"}).encode()
    status, body = worker.request("POST", ack, "view-tok", verdict)
    assert status == 403 and json.loads(body)["error"] == "forbidden"
    bad = json.dumps({"verdict": "maybe"}).encode()
    assert worker.request("POST", ack, "clin-tok", bad)[0] == 422
    assert worker.request("POST", "/api/alerts/a-nope/ack", "clin-tok", verdict)[0] == 404
    status, _ = worker.request("POST", ack, "clin-tok", verdict)
    assert status == 200
    (feedback,) = [v for _, v in read_topic(settings, "alerts.feedback", expected=1)]
    assert (feedback["alert_id"], feedback["verdict"]) == (alert_id, "actionable")
    assert json.loads(worker.get(f"/api/alerts/{alert_id}", "view-tok")[1])["ack"]["note"] == (
        "RRT called"
    )

    deadline = time.monotonic() + 20  # the verdict reaches the patient's owner
    while time.monotonic() < deadline:
        if b'vigil_alert_verdicts_total{verdict="actionable"} 1.0' in worker.get("/metrics")[1]:
            break
        time.sleep(0.3)
    metrics = worker.get("/metrics")[1]
    assert b'vigil_alert_verdicts_total{verdict="actionable"} 1.0' in metrics
    assert b"vigil_alert_ack_seconds_count 1.0" in metrics
    wait_for(lambda: b'vigil_open_alerts{severity="high"} 1.0' in worker.get("/metrics")[1],
             "the open-episode gauge, set at the next checkpoint")  # fmt: skip
    wait_for(lambda: b'vigil_open_alerts_unacknowledged{severity="high"} 0.0'
             in worker.get("/metrics")[1], "the acknowledged episode leaves the unacknowledged "
             "gauge (what VigilHighAlertsUnacknowledged pages on)")  # fmt: skip
    assert b"process_resident_memory_bytes" in worker.get("/metrics")[1]  # standard process series

    status, body = worker.get("/api/openapi.json")
    assert status == 200
    validate(json.loads(body))


def test_unacknowledged_alerts_escalate(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"escalate_after_s": 4.0})
    worker = WorkerProcess(settings, tmp_path / "w.log")
    try:
        worker.wait_healthy()
        start = time.time() - 3 * 3600
        produce(settings, minutes("p-esc", [CALM] * 10 + [SICK] * 5, start), batch=7)
        deadline = time.monotonic() + 40
        statuses: list[str] = []
        while time.monotonic() < deadline and "escalated" not in statuses:
            statuses = [a["status"] for a in deterioration_alerts(settings, expected=2)]
        assert statuses == ["open", "escalated"]
    finally:
        worker.stop()


def test_a_silent_device_raises_device_offline_until_data_returns(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"offline_after_s": 3.0})
    worker = WorkerProcess(settings, tmp_path / "w.log")
    try:
        worker.wait_healthy()
        start = time.time() - 600
        produce(settings, minutes("p-off", [CALM] * 3, start), batch=7)
        offline: list[dict] = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not offline:
            offline = [v for _, v in read_topic(settings, "alerts", expected=1, timeout=5)
                       if v["kind"] == "device_offline"]  # fmt: skip
        assert [(a["status"], a["severity"]) for a in offline] == [("open", "low")]
        produce(settings, minutes("p-off", [CALM], time.time() - 5), batch=7)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and offline[-1]["status"] != "resolved":
            offline = [v for _, v in read_topic(settings, "alerts", expected=2, timeout=5)
                       if v["kind"] == "device_offline"]  # fmt: skip
        assert [a["status"] for a in offline][:2] == ["open", "resolved"]
    finally:
        worker.stop()


def test_an_open_alert_shows_the_patients_current_explanation(
    settings: Settings, worker: WorkerProcess
) -> None:
    """An episode that stays high publishes no new message, but the store (API and board)
    shows what the patient scores now beside what the alert was raised with."""
    import json

    better = {"respiratory_rate": 22, "spo2": 93, "heart_rate": 112, "body_temperature": 38.4,
              "blood_pressure": {"systolic": 105, "diastolic": 70}}  # fmt: skip
    start = time.time() - 3 * 3600
    produce(settings, minutes("p-now", [CALM] * 10 + [SICK] * 5 + [better] * 20, start), batch=7)
    (opened,) = deterioration_alerts(settings, expected=1)
    raised = opened["explanation"]["news2"]["total"]

    def current() -> dict | None:
        status, body = worker.get(f"/api/alerts/{opened['alert_id']}", "view-tok")
        return json.loads(body).get("current") if status == 200 else None

    wait_for(lambda: (c := current()) is not None and c["explanation"]["news2"]["total"] < raised,
             "the checkpoint's current explanation, lower than at opening")  # fmt: skip
    now = current()
    assert now is not None and now["as_of"] > opened["event_time"]
    assert f"NEWS2 {now['explanation']['news2']['total']}" in now["summary"]
    (listed,) = json.loads(worker.get("/api/alerts?status=open", "view-tok")[1])["alerts"]
    assert listed["current"]["summary"] == now["summary"]
