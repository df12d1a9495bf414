"""Suggestions through the real worker: a decision point reached in event time, a target from
the patient's measured resting heart rate, the safety gate for a patient with an open
deterioration alert, feedback, and a policy that survives kill -9."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer

from online_models.state import PatientState
from online_models.suggestions.bandit import SuggestionBandit
from online_models.suggestions.population import PopulationPrior
from online_models.suggestions.zones import target
from tests.helpers import WorkerProcess, read_topic, wait_for
from tests.integration.test_faults import metric_sum
from vigilstream.config import Settings

pytestmark = pytest.mark.integration
CALM_PATIENTS = 12  # each decides with its own seed: at least one sends (P(none) ~ 0.3^12)


def minute_vitals(patient: str, ts: float, sick: bool) -> list[dict]:
    values = {"heart_rate": 132 if sick else 64, "respiratory_rate": 29 if sick else 14,
              "spo2": 89 if sick else 97}  # fmt: skip
    readings = [
        {"patient_id": patient, "signal": s, "value": v, "ts": ts} for s, v in values.items()
    ]
    readings.append({"patient_id": patient, "signal": "steps", "value": 0, "ts": ts,
                     "end_ts": ts + 60})  # fmt: skip
    return readings


def test_a_decision_point_sends_a_suggestion_from_the_measured_resting_hr(
    settings: Settings, tmp_path: Path
) -> None:
    now = time.time()
    start = now - 50 * 60  # 50 minutes of data ending now: decisions are not stale
    point = datetime.fromtimestamp(now - 10 * 60, UTC).strftime("%H:%M")
    calm = [f"p-{i:02d}" for i in range(CALM_PATIENTS)]
    producer = KafkaProducer(**settings.kafka_client_options())
    for pid in [*calm, "p-sick"]:
        profile = {"patient_id": pid, "age": 60, "tz": "UTC", "decision_times": [point]}
        producer.send(settings.topic("patients"), json.dumps(profile).encode(), key=pid.encode())
    producer.flush()
    tokens = "view-tok:viewer,clin-tok:clinician," + ",".join(
        f"app-{pid}:patient:{pid}" for pid in calm)  # fmt: skip
    worker = WorkerProcess(settings, tmp_path / "worker.log",
                           extra_env={"VIGIL_API_TOKENS": tokens})  # fmt: skip
    try:
        worker.wait_healthy()
        for minute in range(50):
            for pid in [*calm, "p-sick"]:
                for doc in minute_vitals(pid, start + minute * 60, sick=pid == "p-sick"):
                    producer.send(settings.topic("vitals.raw"), json.dumps(doc).encode(),
                                  key=pid.encode())  # fmt: skip
        producer.flush()

        def all_decided() -> list[dict] | None:
            found = [v for _, v in read_topic(settings, "suggestions.decisions", 13, timeout=3)]
            return found if len({d["patient_id"] for d in found}) == CALM_PATIENTS + 1 else None

        decisions = wait_for(all_decided, "one decision per patient at the decision point", 120)
        sent = [v for _, v in read_topic(settings, "suggestions", 1, timeout=5)]
        suppressed = metric_sum(worker.metrics_text(), "vigil_suggestions_suppressed_total")
        answered = next(s for s in sent if s["patient_id"] in calm)
        answer_feedback(worker, answered, calm)
    finally:
        worker.stop()
    assert sorted(d["patient_id"] for d in decisions) == sorted([*calm, "p-sick"])
    sick = next(d for d in decisions if d["patient_id"] == "p-sick")
    assert sick["arm"] in ("rest", "none") and sick["suppressed"] == "open_alert"
    assert "news2" in sick["context"]["refusals"]
    assert suppressed >= 1
    calm_sent = [s for s in sent if s["patient_id"] in calm]
    assert calm_sent, "no calm patient was sent a suggestion"
    zone = target({"age": 60}, 64.0).hr_zone_bpm  # Karvonen from the resting HR measured: 64
    for suggestion in calm_sent:
        assert suggestion["kind"] in ("walk", "break_sedentary")
        assert tuple(suggestion["target"]["hr_zone_bpm"]) == zone
        assert "resting 64 bpm (measured)" in suggestion["rationale"]
    assert all(s["patient_id"] != "p-sick" or s["kind"] == "rest" for s in sent)


def answer_feedback(worker: WorkerProcess, suggestion: dict, calm: list[str]) -> None:
    """The patient's own app answers "not for me" twice; the owner's policy takes it in."""
    pid, sid = suggestion["patient_id"], suggestion["suggestion_id"]
    other = next(p for p in calm if p != pid)
    body = json.dumps({"response": "not_for_me"}).encode()
    path = f"/api/suggestions/{sid}/feedback"
    assert worker.request("POST", path, f"app-{other}", body)[0] == 403  # not their suggestion
    assert worker.request("POST", path, "view-tok", body)[0] == 403
    assert worker.request("POST", "/api/suggestions/d-nope/feedback", f"app-{pid}", body)[0] == 404
    assert worker.request("POST", path, f"app-{pid}", b'{"response": "meh"}')[0] == 422
    for _ in range(2):
        status, answer = worker.request("POST", path, f"app-{pid}", body)
        assert status == 200 and json.loads(answer)["feedback"]["response"] == "not_for_me"

    def preferences() -> dict:
        status, view = worker.get(f"/api/patients/{pid}/suggestions", "view-tok")
        return json.loads(view)["preferences"] if status == 200 else {}

    wait_for(lambda: preferences().get("not_for_me", {}).get(suggestion["kind"]) == 2,
             "the owner counted both answers")  # fmt: skip
    status, view = worker.get(f"/api/patients/{pid}/suggestions", "view-tok")
    recent = json.loads(view)["recent"]
    assert [r["suggestion_id"] for r in recent] == [sid]


def saved(settings: Settings, pid: str) -> tuple[PatientState | None, PopulationPrior]:
    """The patient's checkpoint and the pooled suggestion prior, as saved in Redis."""
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        blob = client.get(f"{settings.topic_prefix}vigil:state:{pid}")
        pooled = client.get(f"{settings.topic_prefix}vigil:suggestion-prior")
    finally:
        client.close()
    population = PopulationPrior()
    if pooled is not None:
        population.load(json.loads(pooled))
    return (PatientState.from_bytes(blob, pid)[0] if blob else None), population


def test_the_policy_survives_kill_9_with_the_same_posterior(
    settings: Settings, tmp_path: Path
) -> None:
    """A decision, its reward window closed (a brisk walk after it), a checkpoint, kill -9: the
    next worker decides the following point from the same posterior and pooled prior.

    The data are a backlog over an hour old, sent at once: its decisions are stale (logged,
    not sent) and their reward windows keep their own event time, so they close on the
    backlog's own data. (A decision sent late starts its window when it reached the patient,
    in real time: a test would wait half an hour of wall-clock time for it to close.)"""
    pid = "p-bandit"
    start = time.time() - 125 * 60
    first_point, second_point = start + 10 * 60, start + 50 * 60
    hhmm = [datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in (first_point, second_point)]
    first_point, second_point = (t - t % 60 for t in (first_point, second_point))
    producer = KafkaProducer(**settings.kafka_client_options())
    profile = {"patient_id": pid, "age": 55, "tz": "UTC", "decision_times": hhmm}
    producer.send(settings.topic("patients"), json.dumps(profile).encode(), key=pid.encode())

    def send(minutes: range) -> None:
        for minute in minutes:
            ts = start + minute * 60
            for doc in minute_vitals(pid, ts, sick=False):
                if doc["signal"] == "steps" and 15 <= minute < 35:
                    doc["value"] = 110  # walking after the first decision: a large reward
                producer.send(settings.topic("vitals.raw"), json.dumps(doc).encode(),
                              key=pid.encode())  # fmt: skip
        producer.flush()

    first = WorkerProcess(settings, tmp_path / "first.log")
    try:
        first.wait_healthy()
        send(range(0, 46))  # past the first point and its 30-minute reward window

        def learned() -> tuple[PatientState, PopulationPrior] | None:
            state, population = saved(settings, pid)
            if state is None or not state.suggester.bandit.to_dict()["stats"]:
                return None
            return (state, population) if population.decisions else None

        checkpoint, population = wait_for(learned, "a checkpoint holding the learned reward")
        first.proc.kill()  # kill -9: no goodbye, no last checkpoint
        first.proc.wait()
    finally:
        first.stop()
    second = WorkerProcess(settings, tmp_path / "second.log")
    try:
        second.wait_healthy()
        send(range(46, 55))  # past the second point

        def second_decision() -> dict | None:
            found = [v for _, v in read_topic(settings, "suggestions.decisions", 2, timeout=3)]
            return next((d for d in found if d["decided_at"] == _iso(second_point)), None)

        decision = wait_for(second_decision, "the restarted worker's decision", 120)
    finally:
        second.stop()
    propensities = decision["context"]["propensities"]
    block = decision["context"]["block"]
    seed = f"{pid}|{second_point:.3f}"
    restored = checkpoint.suggester.bandit.choose(list(propensities), block, seed, population)
    fresh = SuggestionBandit().choose(list(propensities), block, seed, PopulationPrior())
    assert propensities == restored.propensities and decision["arm"] == restored.arm
    assert propensities != fresh.propensities  # what a policy that forgot would have said


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
