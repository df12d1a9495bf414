"""``vigilstream replay``: a program's own recordings in every input format through the core,
per-patient output, and the same scoring as ``evaluate`` on the simulator's episodes."""

from __future__ import annotations

import copy
import csv
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.streams.samples import FHIR_STEPS, fhir_obs, omh
from vigilstream.cli import main

DAY0 = 1767571200.0  # 2026-01-05T00:00:00Z
HR = [(DAY0 + d * 86400 + i * 600, 60 + i % 7) for d in range(2) for i in range(144)]
STEPS = [(DAY0 + d * 86400 + i * 3600, 100 * (d + 1)) for d in range(2) for i in range(24)]
PID = "p-rec"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def native() -> list[dict]:
    return ([{"patient_id": PID, "signal": "heart_rate", "value": v, "unit": "bpm", "ts": iso(t)}
             for t, v in HR]
            + [{"patient_id": PID, "signal": "steps", "value": n, "ts": iso(t),
                "end_ts": iso(t + 3600)} for t, n in STEPS])  # fmt: skip


def batch() -> list[dict]:
    readings = [{k: v for k, v in r.items() if k != "patient_id"} for r in native()]
    return [{"patient_id": PID, "readings": readings[i : i + 12]}
            for i in range(0, len(readings), 12)]  # fmt: skip


def fhir() -> list[dict]:
    out = [{**fhir_obs("8867-4", v, "/min", patient=PID), "effectiveDateTime": iso(t)}
           for t, v in HR]  # fmt: skip
    for t, n in STEPS:
        obs = copy.deepcopy(FHIR_STEPS)
        obs["subject"] = {"reference": f"Patient/{PID}"}
        obs["effectivePeriod"] = {"start": iso(t), "end": iso(t + 3600)}
        obs["valueQuantity"]["value"] = n
        out.append(obs)
    return out


def open_mhealth() -> list[dict]:
    out = []
    for t, v in HR:
        body = {
            "heart_rate": {"value": v, "unit": "beats/min"},
            "effective_time_frame": {"date_time": iso(t)},
        }
        point = omh("heart-rate", body, user=PID)
        point["header"]["id"] = f"hr-{t}"
        out.append(point)
    for t, n in STEPS:
        frame = {"time_interval": {"start_date_time": iso(t), "end_date_time": iso(t + 3600)}}
        point = omh("step-count", {"step_count": n, "effective_time_frame": frame}, user=PID)
        point["header"]["id"] = f"steps-{t}"
        out.append(point)
    return out


def write_jsonl(path: Path, docs: list[dict], gzipped: bool = False) -> Path:
    text = "".join(json.dumps(d) + "\n" for d in reversed(docs))  # out of order on purpose
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["replay", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


FORMATS: dict[str, Callable[[], list[dict]]] = {
    "native": native, "batch": batch, "fhir": fhir, "openmhealth": open_mhealth,
}  # fmt: skip


@pytest.mark.parametrize("fmt", [*FORMATS, "native-gzip"])
def test_each_json_format_replays_per_patient_and_per_local_day(fmt, tmp_path, capsys) -> None:
    gzipped = fmt.endswith("-gzip")
    docs = FORMATS[fmt.removesuffix("-gzip")]()
    path = write_jsonl(tmp_path / f"in.jsonl{'.gz' if gzipped else ''}", docs, gzipped)
    result = run(["--input", str(path)], capsys)
    assert result["dead_letters"] == {}
    patient = result["patients"][PID]
    assert patient["readings"] == len(HR) + len(STEPS)
    days = {d["day"]: d for d in patient["days"]}
    assert [days["2026-01-05"]["steps"], days["2026-01-06"]["steps"]] == [2400, 4800]
    assert patient["baselines"]["heart_rate"]["n"] > 0


def test_csv_rows_replay_and_bad_rows_are_dead_letters(tmp_path, capsys) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["patient_id", "ts", "signal", "value", "end_ts"])
        for t, v in HR:
            out.writerow([PID, iso(t), "heart_rate", v, ""])
        for t, v in STEPS:  # an interval: steps counted from ts to end_ts, a whole number
            out.writerow([PID, t, "steps", v, t + 3600])
        out.writerow([PID, iso(DAY0), "glucose", 5.4, ""])  # not a signal of the contract
        out.writerow([PID, iso(DAY0), "steps", 100, ""])  # steps without their interval
    result = run(["--input", str(path)], capsys)
    assert result["readings"] == len(HR) + len(STEPS)
    assert result["dead_letters"] == {"unknown_signal": 1, "schema": 1}
    patient = result["patients"][PID]
    assert patient["baselines"]["heart_rate"]["n"] > 100
    days = {d["day"]: d["steps"] for d in patient["days"]}
    assert [days["2026-01-05"], days["2026-01-06"]] == [2400, 4800]


def test_unreadable_inputs_are_one_line_errors(tmp_path, capsys) -> None:
    bad_csv = tmp_path / "x.csv"
    bad_csv.write_text("who,when\np,1\n")
    episodes = tmp_path / "e.csv"
    episodes.write_text("patient_id,onset,critical,end,kind\np,yesterday,1,2,fever\n")
    good = write_jsonl(tmp_path / "in.jsonl", native()[:3])
    cases = (
        (["--input", str(bad_csv)], "needs the columns"),
        (["--input", str(tmp_path / "none.jsonl")], "no such file"),
        (["--input", str(good), "--episodes", str(episodes)], "RFC 3339"),
    )
    for argv, needle in cases:
        capsys.readouterr()
        assert main(["replay", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err


def test_replay_of_the_simulators_recording_scores_as_evaluate_does(tmp_path, capsys) -> None:
    cohort = tmp_path / "cohort.jsonl"
    assert main(["simulate", "--patients", "10", "--days", "6", "--seed", "3", "--out",
                 str(cohort)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["evaluate", "--input", str(cohort), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    replayed = run(["--input", str(cohort), "--episodes", str(cohort.with_suffix(".truth.json")),
                    "--report", str(tmp_path / "report")], capsys)  # fmt: skip
    found = replayed["detection"]
    assert evaluated["episodes"] > 0 and found["episodes"] == evaluated["episodes"]
    for key in ("recall", "precision", "f1", "median_lead_time_h", "detected"):
        assert found["system"][key] == evaluated["system"][key], key
    assert found["episodes_by_kind"] == evaluated["episodes_by_kind"]
    assert found["alerts_by_kind"] == evaluated["alerts_by_kind"]
    assert replayed["readings"] == evaluated["ingest"]["readings"]
    assert len(replayed["patients"]) == 10
    page = (tmp_path / "report" / "index.html").read_text()
    assert '<table id="detection">' in page and "sim-0001" in page


@pytest.mark.parametrize("with_steps", [True, False])
def test_free_living_runs_page_nobody_with_or_without_step_counts(
    with_steps: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three days of a healthy wearer's heart rate each minute, a 45-minute run every evening
    (150 bpm). With a watch that sends each 5-minute step block when it closes, after the heart
    rates of its minutes, the steps say it was a run. Without step counts (a chest strap, a
    PPG-only recording) nothing says so, and a heart rate of 150 is a NEWS2 red score: it must
    outlast a bout of exercise (an hour) before it pages."""
    docs = []
    for minute in range(3 * 1440):
        ts = DAY0 + minute * 60
        running = 18 * 60 <= minute % 1440 < 18 * 60 + 45
        docs.append({"patient_id": PID, "signal": "heart_rate", "ts": ts,
                     "value": 150 if running else 64 + minute % 5})  # fmt: skip
        if with_steps and minute % 5 == 4:
            steps = 800 if running else 20
            docs.append({"patient_id": PID, "signal": "steps", "value": steps,
                         "ts": ts - 240, "end_ts": ts + 60})  # fmt: skip
    result = run(["--input", str(write_jsonl(tmp_path / "week.jsonl", docs))], capsys)
    assert result["patients"][PID]["alerts_opened"] == {}


def test_a_run_whose_steps_come_with_a_later_phone_sync_pages_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Heart rate streams live each minute; the phone syncs the (non-zero) step blocks every 15
    minutes, after the heart rates of a run have arrived. Delivery order is the recording's
    (``simulate --out`` lines with their arrival time ``at``)."""
    lines = []
    for minute in range(3 * 1440):
        ts = DAY0 + minute * 60
        running = 18 * 60 <= minute % 1440 < 18 * 60 + 45
        value = {"patient_id": PID, "signal": "heart_rate", "ts": ts,
                 "value": 150 if running else 64 + minute % 5}  # fmt: skip
        lines.append({"at": ts + 5, "topic": "vitals.raw", "key": PID, "value": value})
        if minute % 5 == 4 and (running or minute % 60 < 10):  # quiet blocks are not sent
            end = ts + 60
            steps = {"patient_id": PID, "signal": "steps", "value": 800 if running else 30,
                     "ts": end - 300, "end_ts": end}  # fmt: skip
            lines.append({"at": (end // 900 + 1) * 900, "topic": "vitals.raw", "key": PID,
                          "value": steps})  # fmt: skip
    lines.sort(key=lambda line: line["at"])  # in delivery order, as ``simulate --out`` writes
    path = tmp_path / "synced.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run(["--input", str(path)], capsys)
    assert result["patients"][PID]["alerts_opened"] == {}


def test_a_tachycardia_that_outlasts_any_run_pages_without_step_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side of the rule above: two days of calm heart rate, then 140 bpm for three
    hours with no step counts at all. It opens, an hour after it began."""
    docs = [{"patient_id": PID, "signal": "heart_rate", "ts": DAY0 + minute * 60,
             "value": 140 if minute >= 2 * 1440 else 64 + minute % 5}
            for minute in range(2 * 1440 + 180)]  # fmt: skip
    result = run(["--input", str(write_jsonl(tmp_path / "fast.jsonl", docs))], capsys)
    assert result["patients"][PID]["alerts_opened"] == {"deterioration": 1}


def free_living_export(tmp_path: Path, day3: Callable[[int], tuple[int, bool] | None],
                       extra: list[list[Any]] | None = None) -> Path:  # fmt: skip
    """Five free-living days as a watch exports them (CSV, step blocks only when walking, sleep
    stages as bare words): asleep until 06:00 at 56 bpm, then 66 at rest with ten minutes an
    hour on foot at 90 bpm and 90 steps a minute. ``day3(minute)`` gives (heart rate, walking)
    where day 3 differs; ``extra`` rows come first."""
    rows = [["patient_id", "ts", "signal", "value", "end_ts"], *(extra or [])]
    for day in range(5):
        night = DAY0 + day * 86400
        rows.append([PID, iso(night), "sleep", "light", iso(night + 6 * 3600)])
        for minute in range(1440):
            ts = night + minute * 60
            special = day3(minute) if day == 3 else None
            if special is not None:
                hr, walking = special
            else:
                walking = minute >= 6 * 60 and minute % 60 < 10
                hr = 56 if minute < 6 * 60 else 90 if walking else 66
            rows.append([PID, iso(ts), "heart_rate", hr + minute % 3, ""])
            if walking:
                rows.append([PID, iso(ts), "steps", 90, iso(ts + 60)])
    path = tmp_path / "export.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_a_hike_pages_nobody(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Free-living days as a watch exports them: on day 3 a two-hour hike at 135 bpm and 90
    steps a minute, far above this wearer's walking heart rate (90). Walking explains whatever
    it does to the heart rate; one signal's run is not sustained against the walking
    baseline."""
    path = free_living_export(tmp_path, lambda m: (135, True) if 10 * 60 <= m < 12 * 60 else None)
    result = run(["--input", str(path)], capsys)
    assert result["dead_letters"] == {}  # the bare sleep stages are read
    assert result["patients"][PID]["alerts_opened"] == {}


@pytest.mark.parametrize("logged", [True, False])
def test_a_logged_ride_pages_nobody(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    logged: bool) -> None:  # fmt: skip
    """A 90-minute ride at 125-140 bpm counts no steps: only the workout the watch logged
    tells it from a tachycardia at rest. Logged (a row of ``exercise`` over the ride, as
    exports write workouts), it pages nobody; without the log the monitor cannot know."""
    night = DAY0 + 3 * 86400
    workout = [PID, iso(night + 10 * 3600), "exercise", "Cycling", iso(night + 11.5 * 3600)]
    path = free_living_export(
        tmp_path,
        lambda m: (125 + m % 16, False) if 10 * 60 <= m < 11.5 * 60 else None,
        [workout] if logged else None,
    )
    result = run(["--input", str(path)], capsys)
    assert result["dead_letters"] == {}
    opened = result["patients"][PID]["alerts_opened"]
    clinical = {"baseline_deviation", "deterioration"} & set(opened)
    assert not opened if logged else clinical


def test_an_unlogged_ride_within_the_hour_pages_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 45-minute ride at 140-149 bpm that no workout log records, then the hourly walk: the
    watch counts no steps on the bike and the heart rate goes from calm to far out in a minute.
    A change that sudden, with no step count saying the patient is at rest, waits 90 minutes
    after it began and not while the latest readings are calm again; the ride is over by then.
    A tachycardia at rest in the same stream outlasts the wait and pages."""
    ride = free_living_export(
        tmp_path, lambda m: (140 + m % 10, False) if 17 * 60 <= m < 17 * 60 + 45 else None
    )
    assert run(["--input", str(ride)], capsys)["patients"][PID]["alerts_opened"] == {}
    fast = free_living_export(tmp_path, lambda m: (140, False) if m >= 17 * 60 else None)
    opened = run(["--input", str(fast)], capsys)["patients"][PID]["alerts_opened"]
    assert {"baseline_deviation", "deterioration"} & set(opened)


def test_a_gym_session_with_a_few_steps_pages_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fifty minutes of weights at 110-124 bpm with 8 steps a minute between the sets: a step
    count reaches every minute, too low to say "walking", so nothing says exercise but nothing
    says rest either. Heart rate alone, from calm to far out in minutes, waits 90 minutes after
    it was last calm; the session and its recovery are over by then."""
    night = DAY0 + 3 * 86400
    gym = range(17 * 60, 17 * 60 + 50)
    steps = [[PID, iso(night + m * 60), "steps", 8, iso(night + m * 60 + 60)] for m in gym]
    path = free_living_export(tmp_path, lambda m: (110 + m % 15, False) if m in gym else None,
                              steps)  # fmt: skip
    result = run(["--input", str(path)], capsys)
    assert result["dead_letters"] == {}
    assert result["patients"][PID]["alerts_opened"] == {}
