"""A program's own recordings as a cohort the replay understands (``vigilstream replay``).

Inputs, one file, optionally gzipped (``.gz`` or gzip's magic bytes):

- JSONL of raw messages in any input format of docs/spec.md (native reading, batch, device
  status, FHIR R4 Observation or Bundle, Open mHealth data point), one per line. Messages are
  replayed in event-time order, each as if it arrived at the time of its latest reading. A
  logged workout (``exercise``) is replayed as a live client sends one (docs/spec.md): every
  ``WORKOUT_REPORT_S`` from its start with the end so far, since the watch knows a workout
  from the moment it is started or detected, not only when it ends.
- JSONL written by ``vigilstream simulate --out`` (lines with ``at``, ``topic``, ``key`` and
  ``value``/``raw``): replayed at the recorded delivery times, exactly as ``evaluate`` does.
- CSV with a header ``patient_id,ts,signal,value`` (``ts`` RFC 3339 or epoch seconds), one
  reading per row, e.g. an export of a program's database; an optional ``end_ts`` column gives
  the end of interval readings (steps, sleep, exercise), which the contract requires.

Episodes, for scoring: CSV ``patient_id,onset,critical,end,kind`` (times as above) or JSON — a
list of such objects, or the simulator's truth file (``{"episodes": [...]}``).
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.dedupe import DuplicateFilter
from streams.normalize import Ingestor, IngestPolicy
from vigilstream.simulation.episodes import KINDS, Episode
from vigilstream.simulation.recording import Cohort, Envelope

CSV_COLUMNS = ("patient_id", "ts", "signal", "value")
EPISODE_COLUMNS = ("patient_id", "onset", "critical", "end", "kind")
WORKOUT_REPORT_S = 300.0  # a workout under way is reported this often (its end so far)


class RecordingError(ValueError):
    """A file that cannot be read as a recording; the message is one readable line."""


def _text(path: Path) -> str:
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    raw = path.read_bytes()
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise RecordingError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not UTF-8 text") from None


def epoch(value: Any, where: str) -> float:
    """Epoch seconds of an RFC 3339 date-time or a number.

    >>> epoch("2026-01-05T00:00:00Z", "x"), epoch("1767571200", "x")
    (1767571200.0, 1767571200.0)
    """
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(
            f"{where}: {text!r} is not an RFC 3339 time or epoch seconds"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _csv_value(text: str) -> Any:
    """A CSV cell as the reading's value: a whole number (a step count must be one), another
    number, a boolean, or text (consciousness).

    >>> _csv_value("812"), _csv_value("97.5"), _csv_value("TRUE"), _csv_value(" V ")
    (812, 97.5, True, 'V')
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _csv_messages(text: str, name: str) -> list[bytes]:
    rows = csv.DictReader(io.StringIO(text))
    missing = set(CSV_COLUMNS) - set(rows.fieldnames or ())
    if missing:
        raise RecordingError(f"{name}: CSV needs the columns {', '.join(CSV_COLUMNS)} "
                             f"(missing {', '.join(sorted(missing))})")  # fmt: skip
    out = []
    for n, row in enumerate(rows, start=2):
        when = epoch(row["ts"], f"{name}:{n}")
        reading = {"patient_id": row["patient_id"], "signal": row["signal"],
                   "value": _csv_value(row["value"]), "ts": when}  # fmt: skip
        if (row.get("end_ts") or "").strip():
            reading["end_ts"] = epoch(row["end_ts"], f"{name}:{n}")
        out.append(orjson.dumps(reading))
    return out


def _timed(ingestor: Ingestor, raw: bytes) -> list[tuple[float | None, bytes]]:
    """(delivery time, message) of a raw message: at its latest event time (an interval's
    end), None when it does not parse; a lone workout as the reports a live client sends
    while it goes on (module doc)."""
    readings = ingestor.ingest(raw, 0.0).readings
    if len(readings) == 1 and readings[0]["signal"] == "exercise":
        r = readings[0]
        ends = [*range(int(r["ts"] + WORKOUT_REPORT_S), int(r["end_ts"]), int(WORKOUT_REPORT_S))]
        return [(float(end), orjson.dumps({"patient_id": r["patient_id"],
                                           "device_id": r["device_id"], "signal": "exercise",
                                           "value": r["value"], "ts": r["ts"], "end_ts": end}))
                for end in ends] + [(r["end_ts"], raw)]  # fmt: skip
    return [(max((r.get("end_ts") or r["ts"] for r in readings), default=None), raw)]


def read_recording(path: Path) -> Cohort:
    """The file as a cohort without patients' truth (see the module docstring)."""
    text = _text(path)
    name = path.name.removesuffix(".gz")
    cohort = Cohort(seed=0, days=0, start=0.0)
    if name.endswith(".csv"):
        raws = _csv_messages(text, path.name)
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        first = _json_or_none(lines[0]) if lines else None
        if isinstance(first, dict) and {"at", "topic"} <= set(first):
            return _simulated(lines, path.name)
        raws = [line.encode() for line in lines]
    # Order by event time: parse each message once with a lenient clock (any age, any time).
    lenient = Ingestor(IngestPolicy(stale_horizon_s=1e13, future_tolerance_s=1e13),
                       DuplicateFilter(window_s=0.0))  # fmt: skip
    timed, last = [], 0.0
    for raw in raws:
        for ts, message in _timed(lenient, raw):
            last = ts if ts is not None else last  # unreadable: keeps its place, dead-lettered
            timed.append(Envelope(last, len(timed), "vitals.raw", "", message))
    cohort.messages = sorted(timed)
    if cohort.messages:
        cohort.start = cohort.messages[0].at
        cohort.days = max(1, round((cohort.messages[-1].at - cohort.start) / 86400 + 0.5))
    return cohort


def _json_or_none(line: str) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def _simulated(lines: list[str], name: str) -> Cohort:
    cohort = Cohort(seed=0, days=0, start=0.0)
    for seq, line in enumerate(lines):
        doc = _json_or_none(line)
        if not isinstance(doc, dict) or "at" not in doc:
            raise RecordingError(f"{name}:{seq + 1}: not a line of 'vigilstream simulate --out'")
        value = doc["raw"].encode() if "raw" in doc else orjson.dumps(doc["value"])
        cohort.messages.append(Envelope(doc["at"], seq, doc["topic"], doc["key"], value))
    if cohort.messages:
        cohort.start = min(m.at for m in cohort.messages)
        cohort.days = max(1, round((max(m.at for m in cohort.messages) - cohort.start) / 86400))
    return cohort


def read_episodes(path: Path) -> list[Episode]:
    """Ground-truth episodes of a recording (see the module docstring)."""
    text = _text(path)
    if path.name.removesuffix(".gz").endswith(".csv"):
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    else:
        doc = _json_or_none(text)
        rows = doc.get("episodes") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise RecordingError(f'{path.name}: JSON episodes are a list or {{"episodes": [...]}}')
    out = []
    for n, row in enumerate(rows, start=1):
        missing = [c for c in EPISODE_COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise RecordingError(f"{path.name}: episode {n} lacks {', '.join(missing)}")
        kind = str(row["kind"])
        where = f"{path.name}: episode {n}"
        scale = row.get("scale") or (KINDS[kind].scale if kind in KINDS else "hours")
        out.append(Episode(str(row["patient_id"]), kind, scale, epoch(row["onset"], where),
                           epoch(row["critical"], where), epoch(row["end"], where),
                           str(row.get("outcome") or "deterioration"),
                           float(row.get("magnitude") or 1.0)))  # fmt: skip
    return out
