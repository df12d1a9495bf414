"""Privacy through the real worker: pseudonyms at ingest, erasure on request."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import READINGS_PER_PATIENT, WorkerProcess, cohort, produce, read_topic, wait_for
from tests.integration.test_faults import metric_sum
from vigilstream.config import Settings
from vigilstream.privacy import Pseudonymizer

pytestmark = pytest.mark.integration
KEY = "a-long-random-pseudonym-key"


def test_pseudonyms_from_ingest_on_and_the_link_only_for_clinicians(
    settings: Settings, tmp_path: Path
) -> None:
    alias = Pseudonymizer(KEY.encode())("p-000")
    worker = WorkerProcess(settings, tmp_path / "w.log", extra_env={"VIGIL_PSEUDONYM_KEY": KEY})
    try:
        worker.wait_healthy()
        produce(settings, cohort(1, time.time() - 3 * 3600))
        alerts = [v for _, v in read_topic(settings, "alerts", 1)]
        clean = read_topic(settings, "vitals.clean", 1)
        assert {a["patient_id"] for a in alerts} == {alias}
        assert {k for k, _ in clean} == {alias.encode()}
        assert b"p-000" not in b"".join(k for k, _ in clean)
        wait_for(lambda: worker.get(f"/api/patients/{alias}", "view-tok")[0] == 200, "the view")
        assert worker.get("/api/patients/p-000", "view-tok")[0] == 403  # own id: clinicians
        status, body = worker.get("/api/patients/p-000", "clin-tok")
        assert status == 200 and json.loads(body)["patient_id"] == alias
        assert worker.get(f"/api/identity/{alias}", "view-tok")[0] == 403
        status, body = worker.get(f"/api/identity/{alias}", "clin-tok")
        assert json.loads(body) == {"patient_id": alias, "identity": "p-000"}
    finally:
        worker.stop()


def test_forget_erases_state_alerts_and_profile(settings: Settings, worker: WorkerProcess,
                                                tmp_path: Path) -> None:  # fmt: skip
    from kafka import KafkaProducer

    producer = KafkaProducer(**settings.kafka_client_options())
    producer.send(
        settings.topic("patients"),
        key=b"p-000",
        value=json.dumps({"patient_id": "p-000", "age": 70, "consent": True}).encode(),
    )
    producer.flush()
    produce(settings, cohort(2, time.time() - 3 * 3600))  # p-000 deteriorates, p-001 does not
    alert_id = wait_for(lambda: next((v["alert_id"] for _, v in read_topic(settings, "alerts", 1)
                                      if v["patient_id"] == "p-000"), None),
                        "p-000's alert on the topic")  # fmt: skip
    for patient in ("p-000", "p-001"):
        wait_for(lambda p=patient: worker.get(f"/api/patients/{p}", "view-tok")[0] == 200
                 and json.loads(worker.get(f"/api/patients/{p}", "view-tok")[1])["readings"]
                 == READINGS_PER_PATIENT, f"{patient} folded")  # fmt: skip
    wait_for(lambda: worker.get(f"/api/alerts/{alert_id}", "view-tok")[0] == 200, "alert stored")
    env = {
        "VIGIL_BROKER": settings.broker,
        "VIGIL_REDIS_URL": settings.redis_url,
        "VIGIL_TOPIC_PREFIX": settings.topic_prefix,
        "VIGIL_STATE_DIR": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-m", "vigilstream", "patient", "forget", "p-000"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 alert(s) deleted" in done.stdout
    wait_for(lambda: metric_sum(worker.metrics_text(), "vigil_patients_forgotten_total") == 1,
             "the owner forgot the patient")  # fmt: skip
    checkpoints = metric_sum(worker.metrics_text(), "vigil_checkpoint_seconds_count")
    wait_for(lambda: metric_sum(worker.metrics_text(), "vigil_checkpoint_seconds_count")
             > checkpoints, "a checkpoint after the erasure")  # fmt: skip
    assert worker.get("/api/patients/p-000", "view-tok")[0] == 404
    assert worker.get(f"/api/alerts/{alert_id}", "view-tok")[0] == 404
    assert json.loads(worker.get("/api/patients/p-001", "view-tok")[1])["readings"] == (
        READINGS_PER_PATIENT
    )  # the others are untouched
    profiles = read_topic(settings, "patients", 2, timeout=10)
    assert (b"p-000", None) in [(k, v) for k, v in profiles]
