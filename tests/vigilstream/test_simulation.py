"""The simulator: deterministic, with ground truth, realistic enough to pass ingest unchanged."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pytest

from streams.dedupe import DuplicateFilter
from streams.normalize import Ingestor
from vigilstream.simulation import Cohort, simulate
from vigilstream.simulation.cohort import make_patient
from vigilstream.simulation.episodes import KINDS, Episode
from vigilstream.simulation.physiology import simulate_physiology


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return simulate(seed=11, patients=24, days=14)


def test_same_seed_same_output_other_seed_other_output() -> None:
    a, b = simulate(3, 3, 3), simulate(3, 3, 3)
    assert a.messages == b.messages and a.truth() == b.truth()
    c = simulate(4, 3, 3)
    assert [m.value for m in c.messages] != [m.value for m in a.messages]


def test_a_patient_does_not_depend_on_the_cohort_size() -> None:
    small, large = simulate(5, 2, 2), simulate(5, 4, 2)
    assert small.patients == large.patients[:2]
    assert small.episodes == [e for e in large.episodes if e.patient_id in {"sim-0001", "sim-0002"}]


def test_ground_truth_episodes_and_their_outcomes(cohort: Cohort) -> None:
    assert len(cohort.episodes) >= 8
    assert {e.scale for e in cohort.episodes} == {"hours", "days"} or len(cohort.episodes) < 20
    end = cohort.start + cohort.days * 86400
    outcomes = [orjson.loads(m.value) for m in cohort.messages if m.topic == "outcomes"]
    for e in cohort.episodes:
        assert cohort.start < e.onset < e.critical < e.end
        assert e.critical < end
        assert e.scale == KINDS[e.kind].scale
        reported = [
            o for o in outcomes if o["patient_id"] == e.patient_id and o["ts"] == e.critical
        ]
        assert [o["kind"] for o in reported] == [KINDS[e.kind].outcome]
    assert any(o["kind"] == "no_event" for o in outcomes)  # quiet weeks label negatives
    assert cohort.surprises, "benign surprises are where false alarms come from"


def test_every_message_passes_ingest_except_the_malformed_share(cohort: Cohort) -> None:
    ingestor = Ingestor(dedupe=DuplicateFilter())
    reasons: Counter[str] = Counter()
    readings = duplicates = 0
    for m in cohort.messages:
        if m.topic == "vitals.raw":
            out = ingestor.ingest(m.value, m.at)
            reasons.update(r.reason for r in out.rejections)
            readings += len(out.readings)
            duplicates += out.duplicates
    assert cohort.counts["malformed_total"] > 0
    assert reasons == Counter(cohort.counts["malformed"])
    assert readings == cohort.counts["readings"]
    assert duplicates == cohort.counts["duplicate_readings"] > 0
    formats = Counter(orjson.loads(m.value).get("resourceType", "native")
                      for m in cohort.messages[:5000] if m.topic == "vitals.raw"
                      and m.value.startswith(b"{") and m.value.endswith(b"}"))  # fmt: skip
    assert formats["Observation"] > 0  # spot checks arrive as FHIR from another client


def test_phone_backlogs_arrive_late_and_out_of_order(cohort: Cohort) -> None:
    late = out_of_order = 0
    last_ts: dict[str, float] = {}
    for m in cohort.messages:
        if m.topic != "vitals.raw" or b'"readings"' not in m.value[:80]:
            continue
        batch = orjson.loads(m.value)
        first = min(r["ts"] for r in batch["readings"])
        late += m.at - max(r["ts"] for r in batch["readings"]) > 3600
        out_of_order += first < last_ts.get(batch["patient_id"], -1) - 3600
        last_ts[batch["patient_id"]] = max(last_ts.get(batch["patient_id"], 0), first)
    assert late > 0 and out_of_order > 0


def test_jsonl_round_trip_keeps_every_byte_that_matters(cohort: Cohort, tmp_path: Path) -> None:
    small = simulate(2, 2, 2)
    small.write(tmp_path / "cohort.jsonl")  # docs/spec.md's --out FILE
    assert (tmp_path / "cohort.truth.json").is_file()
    small.write(tmp_path / "as-directory")
    assert Cohort.read(tmp_path / "as-directory").messages == Cohort.read(
        tmp_path / "cohort.jsonl").messages  # fmt: skip
    back = Cohort.read(tmp_path / "cohort.jsonl")
    assert back.truth() == orjson.loads(orjson.dumps(small.truth()))
    assert [(m.topic, m.key, orjson.loads(m.value)) for m in back.messages if m.value[:1] == b"{"
            and m.value.endswith(b"}")] == [
        (m.topic, m.key, orjson.loads(m.value)) for m in small.messages
        if m.value[:1] == b"{" and m.value.endswith(b"}")]  # fmt: skip
    assert len(back.messages) == len(small.messages)


def test_episode_levels_follow_onset_critical_point_and_recovery() -> None:
    ramp = Episode("p", "sepsis", "hours", 1000.0, 1000.0 + 8 * 3600, 1000.0 + 34 * 3600,
                   "rapid_response", 1.0)  # fmt: skip
    ts = np.array([0.0, 1000.0 + 4 * 3600, ramp.critical, ramp.critical + 3600, ramp.end + 1])
    level = ramp.level(ts)
    assert level[0] == 0 and 0 < level[1] < 0.5 and level[2] == level[3] == 1 and level[4] == 0
    abrupt = Episode("p", "tachyarrhythmia", "hours", 1000.0, 1000.0 + 3 * 3600,
                     1000.0 + 4.5 * 3600, "deterioration", 0.8)  # fmt: skip
    assert abrupt.level(np.array([999.0, 1001.0]))[1] == pytest.approx(0.8)


def test_physiology_sleeps_walks_and_deteriorates() -> None:
    rng = np.random.default_rng(1)
    patient = make_patient(rng, 1)
    start = 1767571200.0
    calm = simulate_physiology(np.random.default_rng(2), patient, start, 4, [], [])
    assert calm.hr[calm.asleep].mean() < calm.hr[~calm.asleep].mean() - 3
    walking = calm.cadence > 80
    assert walking.any() and calm.hr[walking].mean() > calm.hr[~walking & ~calm.asleep].mean()
    onset = start + 2 * 86400
    fever = Episode(patient.patient_id, "fever", "hours", onset, onset + 6 * 3600,
                    onset + 86400, "deterioration", 1.0)  # fmt: skip
    sick = simulate_physiology(np.random.default_rng(2), patient, start, 4, [fever], [])
    peak = int((fever.critical - start) // 60)
    assert sick.temp[peak] - calm.temp[peak] == pytest.approx(2.0, abs=0.01)


def test_oximeter_bias_by_skin_type_gives_occult_hypoxaemia_as_published() -> None:
    """Sjoding et al. 2020: SaO2 < 88 % while the oximeter reads 92-96 % in 11.7 % of Black vs
    3.6 % of White patients' readings: several times as often, not the same."""
    import numpy as np

    from vigilstream.simulation.oximetry import oximeter_reading

    rng = np.random.default_rng(7)
    sao2 = rng.uniform(82, 100, 200_000)

    def occult(skin_type: int) -> float:
        read = np.round(oximeter_reading(np.random.default_rng(1), sao2, skin_type))
        shown = (read >= 92) & (read <= 96)
        return float(((sao2 < 88) & shown).sum() / shown.sum())

    light, dark = occult(1), occult(6)
    assert 0.005 < light < 0.06 and 0.05 < dark < 0.2 and dark > 2.5 * light
    mean_bias = float(np.mean(oximeter_reading(np.random.default_rng(2), np.full(50_000, 97.0), 6)
                              - 97.0))  # fmt: skip
    assert 0.9 < mean_bias < 1.6  # about +1 % at normal saturation (Valbuena et al. 2022)


def test_sensor_errors_leave_every_other_random_draw_alone() -> None:
    import numpy as np

    from vigilstream.simulation.cohort import make_patient
    from vigilstream.simulation.device import deliver
    from vigilstream.simulation.episodes import plan_episodes, plan_surprises
    from vigilstream.simulation.physiology import simulate_physiology

    def readings(sensor: bool) -> dict[str, list]:
        from dataclasses import replace

        rng = np.random.default_rng([3, 1])
        patient = replace(make_patient(rng, 1), skin_type=6)
        eps = plan_episodes(rng, patient, 0.0, 2)
        body = simulate_physiology(rng, patient, 0.0, 2, eps, plan_surprises(rng, patient, 0.0,
                                                                              2, eps))  # fmt: skip
        out = deliver(rng, patient, body, np.random.default_rng([3, 1, 14]) if sensor else None)
        docs = []
        for _, topic, value in out.messages:
            if topic == "vitals.raw":
                with contextlib.suppress(orjson.JSONDecodeError):  # the malformed share
                    docs.append(orjson.loads(value))
        flat = [r for d in docs if isinstance(d, dict) for r in d.get("readings", [d])]
        return {s: [r.get("value") for r in flat if r.get("signal") == s]
                for s in ("respiratory_rate", "steps", "skin_temperature", "spo2")}  # fmt: skip

    plain, with_errors = readings(False), readings(True)
    for signal in ("respiratory_rate", "steps", "skin_temperature"):
        assert plain[signal] == with_errors[signal], signal
    assert plain["spo2"] != with_errors["spo2"]
