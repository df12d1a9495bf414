"""Late and backfilled data through the real worker (issue #14): a phone that uploads last
week after a trip fills the patient's daily phenotype and baselines, and pages nobody."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.alerts.test_engine import CALM, SICK
from tests.helpers import WorkerProcess, wait_for
from tests.integration.test_alerts import minutes
from tests.integration.test_monitor import produce
from vigilstream.config import Settings

pytestmark = pytest.mark.integration


def counter(worker: WorkerProcess, name: str) -> float:
    text = worker.get("/metrics")[1].decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_a_week_old_upload_fills_the_phenotype_and_opens_no_alert(
    settings: Settings, worker: WorkerProcess
) -> None:
    now = time.time()
    produce(settings, minutes("p-trip", [CALM] * 5, now - 3600), batch=5)  # today, at home
    day = (now - 6 * 86400) // 86400 * 86400  # a whole UTC day six days ago, on the trip
    upload = [{"patient_id": "p-trip", "signal": "steps", "value": 40, "ts": day + i * 300,
               "end_ts": day + i * 300 + 300} for i in range(288)]  # fmt: skip
    upload += [{"patient_id": "p-trip", "signal": "heart_rate", "value": 62, "ts": day + i * 300}
               for i in range(288)]  # fmt: skip
    upload += minutes("p-trip", [SICK] * 30, day + 12 * 3600)  # would page if it were today
    produce(settings, upload, batch=60)

    wait_for(lambda: counter(worker, "vigil_readings_late_total") >= len(upload),
             "every uploaded reading counted as late")  # fmt: skip
    assert counter(worker, "vigil_readings_late_total") == len(upload)
    assert 'kind="deterioration"' not in worker.get("/metrics")[1].decode()
    view = json.loads(worker.get("/api/patients/p-trip", "view-tok")[1])
    # The trip's day is a closed day of the phenotype: its steps are the 28-day mean.
    assert view["phenotype"]["trends"]["steps"]["mean_28d"] == 288 * 40
    assert view["readings"] >= len(upload)
