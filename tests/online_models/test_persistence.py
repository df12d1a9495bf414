"""One persistence protocol, checked the same way on every component that travels in a patient's
checkpoint (in the spirit of River's ``check_estimator``): ``to_dict()`` gives plain JSON,
``load()`` of it into a fresh instance gives the same document back, and the restored copy then
behaves like the original on the same next inputs (to the precision the compact checkpoint
keeps: statistics are stored rounded, so later values may differ in the 8th digit)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from alerts.engine import AlertEngine
from online_models.anomaly import VitalsAnomaly
from online_models.baselines import Baselines
from online_models.context import Activity
from online_models.deviation import Deviation
from online_models.drift import DailyDrift
from online_models.news2 import score
from online_models.news2_feed import News2Feed
from online_models.phenotype import Phenotype
from online_models.risk import RiskModel
from online_models.state import Assessment, PatientState
from online_models.suggestions.bandit import ARMS, SuggestionBandit

T0 = 1_800_000_000.0


def _baselines(b: Baselines, i: int) -> None:
    b.learn_one("heart_rate", 60 + i % 7, T0 + i * 60, "rest")


def _phenotype(p: Phenotype, i: int) -> None:
    p.learn_one("steps", 80 + i % 30, T0 + i * 300, T0 + i * 300 + 300, "rest")
    p.learn_one("heart_rate", 62 + i % 5, T0 + i * 300, None, "rest")


def _deviation(d: Deviation, i: int) -> None:
    d.learn_one("heart_rate", 3.5, 95, 62.0, 5.0, 400, T0 + i * 60)


def _drift(d: DailyDrift, i: int) -> None:
    d.learn_one("heart_rate", 60 + i % 4, T0 + i * 3600)


def _anomaly(a: VitalsAnomaly, i: int) -> None:
    a.learn_one({"heart_rate": 60 + i % 9, "respiratory_rate": 14, "spo2": 97}, T0 + i * 300)


def _risk(m: RiskModel, i: int) -> None:
    m.learn_one({"news2_total": float(i % 10)}, i % 10 >= 6)


def _activity(a: Activity, i: int) -> None:
    a.note_steps(300 + 200 * (i % 3), T0 + i * 600, T0 + i * 600 + 300)
    if i % 10 == 0:
        a.note_sleep(T0 + i * 600 - 8 * 3600, T0 + i * 600 - 3600)


def _feed(f: News2Feed, i: int) -> None:
    f.add("heart_rate", 60 + i % 9, T0 + i * 60)


def _engine(e: AlertEngine, i: int) -> None:
    vitals = {"respiratory_rate": 26 if 5 <= i < 15 else 14, "heart_rate": 135 if i >= 5 else 70}
    from online_models.deviation import DeviationResult

    e.decide(Assessment(score(vitals), DeviationResult(0.0, False)), T0 + i * 60, T0 + i * 60)


def _bandit(b: SuggestionBandit, i: int) -> None:
    b.learn(ARMS[i % len(ARMS)], "morning", 40.0 * (i % 7) - 80.0)


def _state(s: PatientState, i: int) -> None:
    s.update({"signal": "heart_rate", "value": 60 + i % 9, "ts": T0 + i * 60, "end_ts": None},
             now=T0 + i * 60)  # fmt: skip


COMPONENTS: dict[str, tuple[Callable[[], Any], Callable[[Any, int], None]]] = {
    "baselines": (Baselines, _baselines),
    "phenotype": (Phenotype, _phenotype),
    "deviation": (Deviation, _deviation),
    "drift": (DailyDrift, _drift),
    "anomaly": (lambda: VitalsAnomaly("p-1"), _anomaly),
    "risk": (RiskModel, _risk),
    "activity": (Activity, _activity),
    "news2_feed": (News2Feed, _feed),
    "alert_engine": (lambda: AlertEngine("p-1"), _engine),
    "suggestion_bandit": (SuggestionBandit, _bandit),
}


def close(a: Any, b: Any) -> bool:
    """Equal documents, floats to a relative 1e-6."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-6, abs=1e-9)
    return bool(a == b)


def restore(kind: str, doc: dict[str, Any]) -> Any:
    copy = COMPONENTS[kind][0]()
    copy.load(json.loads(json.dumps(doc)))  # through JSON, as a checkpoint travels
    return copy


@pytest.mark.parametrize("kind", sorted(COMPONENTS))
def test_round_trip_then_identical_behaviour(kind: str) -> None:
    make, feed = COMPONENTS[kind]
    original = make()
    for i in range(60):
        feed(original, i)
    doc = original.to_dict()
    copy = restore(kind, doc)
    assert json.loads(json.dumps(copy.to_dict())) == json.loads(json.dumps(doc))
    for i in range(60, 90):  # the same next inputs: the same state after them
        feed(original, i)
        feed(copy, i)
    assert close(json.loads(json.dumps(copy.to_dict())), json.loads(json.dumps(original.to_dict())))


def test_a_fresh_component_round_trips_too() -> None:
    for kind, (make, _) in COMPONENTS.items():
        assert restore(kind, make().to_dict()).to_dict() == make().to_dict(), kind


def test_the_patient_state_round_trips_through_bytes() -> None:
    state = PatientState("p-1")
    for i in range(200):
        _state(state, i)
    copy, how = PatientState.from_bytes(state.to_bytes(), "p-1")
    assert how == "restored" and copy.to_dict() == state.to_dict()
    # the JSON a checkpoint keeps between saves is the JSON of the state's data
    assert zlib.decompress(state.to_bytes()[3:]) == orjson.dumps(state.to_dict())
    for i in range(200, 230):
        _state(state, i)
        _state(copy, i)
    assert close(json.loads(json.dumps(copy.to_dict())), json.loads(json.dumps(state.to_dict())))


def test_a_checkpoint_of_recent_readings_in_the_earlier_form_still_recognises_copies() -> None:
    """Checkpoints written before the replay memory was packed kept [digest, time] pairs, with
    unsigned digests for structured values: a copy of such a reading is still skipped."""
    state = PatientState("p-1")
    sleep = {"signal": "sleep", "value": {"stage": "deep"}, "ts": 1000.0, "end_ts": 1600.0}
    beat = {"signal": "heart_rate", "value": 61.0, "ts": 1000.0}
    assert state.update(sleep, now=2000.0) and state.update(beat, now=2000.0)
    doc = state.to_dict()
    doc["recent"] = [[k % (1 << 64), 2000.0] for k in state.recent]  # as unsigned 64-bit
    old = PatientState.from_dict(doc)
    assert old.recent == state.recent
    assert not old.update(dict(sleep), now=2100.0) and not old.update(dict(beat), now=2100.0)
    assert old.duplicates == 2
    restored, _ = PatientState.from_bytes(old.to_bytes(), "p-1")
    assert restored.recent == pytest.approx(old.recent) and list(restored.recent) == list(
        old.recent
    )
