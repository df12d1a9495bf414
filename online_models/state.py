"""The state of one patient: everything the monitor knows, updated one reading at a time.

``PatientState.update(reading, now)`` folds a normalized reading (``vitals.clean``) into the
latest values, the personal baselines, the digital phenotype and the deviation scores;
``assess(now)`` returns NEWS2 and the corroborated personal deviation for the alert engine.
Time is always a parameter: the state never reads the clock.

Context of a reading (``asleep``, ``active``, ``rest``, and vigorous exercise) comes from
``online_models.context.Activity``, fed with the patient's step counts, sleep reports and
logged workouts.

NEWS2 is fed from ``online_models.news2_feed.News2Feed`` (validity windows, median-of-3
smoothing of resting wearable values, the usual-red-flag rule). Readings taken while active
(walking) do not enter NEWS2: the score is defined on resting observations (RCP 2017), and
exercise tachycardia and tachypnoea are compared with the patient's own active baseline
instead. During vigorous exercise (a running cadence and 10 minutes after, a logged workout and
30 minutes after), vital signs are not scored at all. Baselines stop learning while
``learning`` is False (the alert engine sets it during an episode) and while a corroborated
deviation is present, so a slow deterioration never becomes the new normal; the day-level drift
(``online_models.drift``) compares today with earlier days for changes too slow for that.

Readings applied in the last ``REPLAY_WINDOW_S`` of processing time are remembered by a 64-bit
digest of (signal, event time, value) (``reading_digest``), and a second copy is not applied
again. Kafka delivers at least once: when a partition of ``vitals.raw`` changes owner, what the
old owner ingested since its last offset commit is ingested again and reaches ``vitals.clean`` a
second time, under new offsets; this memory travels with the checkpoint, so the patient's new
owner still recognises it. A checkpoint keeps them packed (``pack_recent``: the digests as
little-endian signed 64-bit integers, the times as 32-bit offsets from the oldest, each in
base64): a list of [digest, time] pairs was most of a young state's serializing time.

Serialization is compact, versioned and safe (JSON + zlib, no pickle): ``to_bytes`` /
``from_bytes``. A blob of another version is migrated when a migration exists, else the state
is rebuilt empty; never a crash.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import sys
import zlib
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from online_models.anomaly import FEATURES, VitalsAnomaly
from online_models.baselines import Baselines
from online_models.context import Activity
from online_models.deviation import EXERTIONAL, Deviation, DeviationResult
from online_models.drift import DailyDrift, DriftResult
from online_models.history import VitalsHistory
from online_models.news2 import News2Result, score
from online_models.news2_feed import SMOOTHED, News2Feed
from online_models.phenotype import Phenotype
from online_models.policy import ModelPolicy
from online_models.risk import (
    HORIZON_S,
    POSITIVE,
    SNAPSHOT_S,
    RiskEstimate,
    RiskModel,
    features,
    label_snapshots,
)
from online_models.suggestions.suggester import Suggester

STATE_VERSION = 1
MAGIC = b"VS"
ZLIB_LEVEL = 4  # level 6 costs 1.7x the time for 6 % fewer bytes (a week-old state: 240 us, 6.7 KB)
NUMERIC = frozenset({"heart_rate", "respiratory_rate", "spo2", "body_temperature",
                     "skin_temperature", "hrv_rmssd", "hrv_sdnn", "systolic_bp"})  # fmt: skip
REPLAY_WINDOW_S = 900.0
HYPERCAPNIC = frozenset({"hypercapnic_respiratory_failure", "copd_hypercapnic"})

_SIGNAL_CODES: dict[str, int] = {}


def reading_digest(signal: str, value: Any, ts: float) -> int:
    """A 64-bit digest of (signal, event time, value) that is the same in every process.

    Numbers hash with Python's numeric hash (deterministic, unlike ``hash`` of a string) next to
    a CRC of the signal name: a tenth of the cost of a cryptographic digest, and this runs once
    per reading. Structured or text values (sleep stages, blood pressure) take BLAKE2b."""
    if type(value) in (int, float) and type(ts) in (int, float):
        code = _SIGNAL_CODES.get(signal)
        if code is None:
            code = _SIGNAL_CODES[signal] = zlib.crc32(signal.encode())
        return hash((code, ts, value))
    blob = f"{signal}|{ts!r}|{value!r}".encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big", signed=True)


def _signed64(digest: int) -> int:
    """A digest of a checkpoint written before they were signed: the same 64 bits, signed."""
    return digest - (1 << 64) if digest >= 1 << 63 else digest


def _packed(values: array[Any]) -> str:
    if sys.byteorder == "big":  # checkpoints are little-endian whatever wrote them
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unpacked(typecode: str, text: str) -> array[Any]:
    values = array(typecode)
    values.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def pack_recent(recent: dict[int, float]) -> dict[str, Any]:
    """The replay memory (digest -> processing time applied) as a checkpoint keeps it.

    >>> unpack_recent(pack_recent({-5: 1000.0, 2**62: 1012.5}))
    {-5: 1000.0, 4611686018427387904: 1012.5}
    """
    base = min(recent.values(), default=0.0)
    return {"base": base, "digests": _packed(array("q", recent)),
            "after": _packed(array("f", [t - base for t in recent.values()]))}  # fmt: skip


def unpack_recent(doc: dict[str, Any] | list[list[Any]]) -> dict[int, float]:
    """``pack_recent`` undone, in the same (oldest first) order; also reads the [digest, time]
    pairs of earlier checkpoints."""
    if isinstance(doc, list):
        return {_signed64(int(k)): t for k, t in doc}
    base = doc["base"]
    after = _unpacked("f", doc["after"])
    return dict(zip(_unpacked("q", doc["digests"]), (base + t for t in after), strict=True))


Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}
"""Upgrades of a decoded state document, keyed by the version they upgrade *from*."""


@dataclass(frozen=True)
class Assessment:
    """What the alert engine needs from one patient at one moment."""

    news2: News2Result
    deviation: DeviationResult
    risk: RiskEstimate | None = None
    trends: dict[str, dict[str, float | None]] | None = None  # phenotype, 7 vs 28 days
    drift: DriftResult | None = None  # resting vitals today vs days -9..-2
    # Wearable NEWS2 parameters and systolic pressure whose current value is within ``USUAL_Z``
    # SD of a warm personal baseline of the same context: this patient's normal, even when NEWS2
    # scores it 3 (``News2Feed.usual``).
    usual: frozenset[str] = frozenset()
    asleep: bool = False  # the patient's context at the moment assessed
    # Red wearable NEWS2 parameters resting on a single reading (``News2Feed.unconfirmed``).
    unconfirmed: frozenset[str] = frozenset()
    # Awake and no step count reaches this moment (``Activity.knows``): a raised heart rate may
    # be exercise; ``no_step_counts``: awake and none for 12 hours (``Activity.counts_steps``).
    activity_unknown: bool = False
    no_step_counts: bool = False


def rmssd(intervals: list[float]) -> float | None:
    """Root mean square of successive R-R differences (Task Force of the ESC and NASPE 1996).

    >>> round(rmssd([800, 810, 790, 805]), 2)
    15.55
    """
    if len(intervals) < 2:
        return None
    diffs = [(b - a) ** 2 for a, b in itertools.pairwise(intervals)]
    return math.sqrt(sum(diffs) / len(diffs))


def spo2_scale(profile: dict[str, Any] | None) -> int:
    """NEWS2 SpO2 scale of a profile: 2 when a clinician set it or the condition calls for it."""
    if not profile:
        return 1
    if profile.get("spo2_scale") in (1, 2):
        return int(profile["spo2_scale"])
    return 2 if HYPERCAPNIC & set(profile.get("conditions") or ()) else 1


def pack(document: bytes) -> bytes:
    """A checkpoint of ``PatientState.to_json``'s document: magic, version, zlib. Apart from
    the state because zlib releases the GIL while it compresses, so a worker can compress its
    checkpoints on another core while its event loop goes on (``streams.registry``)."""
    return MAGIC + bytes([STATE_VERSION]) + zlib.compress(document, ZLIB_LEVEL)


class PatientState:
    """Per-patient online model state (pure: no I/O, no clock)."""

    def __init__(self, patient_id: str, profile: dict[str, Any] | None = None,
                 policy: ModelPolicy | None = None) -> None:  # fmt: skip
        self.policy = policy = policy or ModelPolicy()
        self.patient_id = patient_id
        self.profile: dict[str, Any] = {}
        self.latest: dict[str, list[Any]] = {}  # signal -> [value, ts]
        self.feed = News2Feed()  # smoothed resting wearable values for NEWS2
        self.activity = Activity(policy.context)  # asleep / active / rest, and vigorous exercise
        self.baselines = Baselines(policy=policy.baselines)
        self.phenotype = Phenotype(policy.phenotype)
        self.deviation = Deviation(policy.deviation)
        self.drift = DailyDrift()
        self.anomaly = VitalsAnomaly(patient_id)
        self.history = VitalsHistory()  # hourly means for the care-team board
        self.suggester = Suggester(patient_id, policy.suggester)  # activity suggestions (issue #12)
        self.offsets: dict[int, int] = {}  # vitals.clean partition -> last applied offset
        self.n_readings = 0
        # The latest NEWS2 and deviation, keyed by (moment, readings applied): every change of
        # what they are computed from goes through ``update``, which counts the reading.
        self._news2: tuple[tuple[float, int, int], News2Result] | None = None
        self._deviation: tuple[tuple[float, int], DeviationResult] | None = None
        self.received_at = 0.0  # processing time of the last applied reading
        self.duplicates = 0
        self.recent: dict[int, float] = {}  # digest -> processing time it was applied
        self._recent_oldest = -math.inf  # when the oldest of them was (-inf: to be looked up)
        self.snapshots: list[list[Any]] = []  # [event time, risk features], hourly, unlabelled
        self.outcome: list[Any] | None = None  # the latest outcome reported: [kind, event time]
        # State of other pure components that travel with the patient in its checkpoint
        # (e.g. the alert engine's episodes under "alerts"); JSON-able, opaque here.
        self.extras: dict[str, Any] = {}
        self.learning = True
        self.set_profile(profile)

    # ------------------------------------------------------------------ inputs
    def set_profile(self, profile: dict[str, Any] | None) -> None:
        self.profile = dict(profile or {})
        self.baselines.age = self.profile.get("age")
        self.baselines.sex = self.profile.get("sex")
        self.baselines.hypercapnic = spo2_scale(self.profile) == 2
        self.phenotype.tz = self.profile.get("tz") or "UTC"  # local days

    def last_event_ts(self, default: float) -> float:
        """Event time of the latest value of any signal (``default`` before the first)."""
        return max((t for _, t in self.latest.values()), default=default)

    def context(self, ts: float) -> str:
        """``asleep``, ``active`` or ``rest`` at event time ``ts`` (``online_models.context``)."""
        return self.activity.of(ts)

    def worn(self) -> bool | None:
        """Whether the device last said it was on the wrist (None: it never said)."""
        entry = self.latest.get("worn")
        return None if entry is None else bool(entry[0])

    def already_applied(self, partition: int, offset: int) -> bool:
        """True for a redelivered event at or before the checkpointed offset."""
        return offset <= self.offsets.get(partition, -1)

    def mark_applied(self, partition: int, offset: int) -> None:
        self.offsets[partition] = max(offset, self.offsets.get(partition, -1))

    def _seen(self, signal: str, value: Any, ts: float, now: float) -> bool:
        """True when this reading was applied within the replay window; remembers it if not."""
        key = reading_digest(signal, value, ts)
        recent = self.recent
        if now - self._recent_oldest > REPLAY_WINDOW_S:
            self._forget_recent(now)
        if key in recent:
            return True
        if not recent:
            self._recent_oldest = now
        recent[key] = now
        return False

    def _forget_recent(self, now: float) -> None:
        """Drop the digests applied more than the replay window ago (oldest first: processing
        time only grows) and note when the oldest kept one was applied."""
        recent = self.recent
        while recent:
            oldest = next(iter(recent))
            at = recent[oldest]
            if now - at <= REPLAY_WINDOW_S:
                self._recent_oldest = at
                return
            del recent[oldest]
        self._recent_oldest = math.inf  # nothing to forget until the next digest

    def update(self, reading: dict[str, Any], now: float) -> bool:
        """Fold one normalized reading into the state; False when it was a replayed copy.

        ``now`` is processing time."""
        signal, value, ts = reading["signal"], reading["value"], reading["ts"]
        end_ts = reading.get("end_ts")
        # A workout under way is sent again with a later end: not a copy of the first report.
        if self._seen(signal, (value["activity"], end_ts) if signal == "exercise" else value,
                      ts, now):  # fmt: skip
            self.duplicates += 1
            return False
        self.n_readings += 1
        if now > self.received_at:
            self.received_at = now
        if signal == "rr_intervals":
            value, signal = rmssd(value), "hrv_rmssd"
            if value is None:
                return True
        elif signal == "blood_pressure":
            self._latest("diastolic_bp", value["diastolic"], ts)
            value, signal = value["systolic"], "systolic_bp"
        if signal in NUMERIC:
            self._numeric(signal, float(value), ts)
        elif signal == "steps":
            moving_until = self.activity.active_until  # readings up to it were taken as active
            if self.activity.note_steps(value, ts, end_ts) and end_ts is not None:
                # Vitals of these minutes may have arrived before their step count and been
                # taken as resting ones; NEWS2 and the deviation forget them (a run is not a
                # tachycardia). Those already known to be active stay. The baselines keep them,
                # clipped to 4 SD like any outlier.
                start, until = max(ts, moving_until), end_ts + self.activity.policy.active_hold_s
                if start < until:
                    self.feed.forget(start, until)
                    self.deviation.forget(SMOOTHED, start, until)
            self.suggester.note_steps(value, ts, end_ts)
            self.phenotype.learn_one("steps", value, ts, end_ts, self.context(ts))
        elif signal == "sleep":
            if value.get("stage") != "awake" and end_ts is not None:
                self.activity.note_sleep(ts, end_ts)
            self.phenotype.learn_one("sleep", value, ts, end_ts)
        elif signal == "exercise" and end_ts is not None:  # an interval: always has an end
            # A logged workout: its vital signs are effort, not a patient state (``_numeric``).
            # Those that arrived before the log were taken as resting ones; NEWS2 and the
            # deviation forget them, as they do a run whose step count comes late.
            self.activity.note_workout(ts, end_ts)
            until = end_ts + self.activity.policy.workout_hold_s
            self.feed.forget(ts, until)
            self.deviation.forget(frozenset(self.deviation.signals), ts, until)
        elif signal == "device_status":
            for key in ("battery", "worn"):
                if value.get(key) is not None:
                    self._latest(key, value[key], ts)
        else:  # consciousness, supplemental_o2
            self._latest(signal, value, ts)
        return True

    def _latest(self, signal: str, value: Any, ts: float) -> None:
        current = self.latest.get(signal)
        if current is None or ts >= current[1]:
            self.latest[signal] = [value, ts]

    def _numeric(self, signal: str, value: float, ts: float) -> None:
        self._latest(signal, value, ts)
        self.history.add(signal, value, ts)
        context = self.context(ts)
        if self.activity.exercising(ts):
            # Running: heart rate and respiration follow the effort; there is no baseline to
            # compare with and no NEWS2 to score. Only the phenotype counts it.
            self.phenotype.learn_one(signal, value, ts, None, context)
            return
        if signal in SMOOTHED and context != "active":  # NEWS2 is a score of resting values
            self.feed.add(signal, value, ts)
            self.drift.learn_one(signal, value, ts)
        z, ref = self.baselines.z(signal, value, context)
        # A run of one signal alone is sustained only against the patient's own warm baseline,
        # and not for what walking moves: the effort of a walk varies (a hike uphill at 135 bpm
        # against a walking baseline of 90 paged free-living wearers); with another signal,
        # breathlessness on a walk still corroborates.
        sustains = ref.warm and not (context == "active" and signal in EXERTIONAL)
        self.deviation.learn_one(signal, z, value, ref.mean, ref.sd, ref.n, ts, sustains)
        learn = self.learning and not self.deviation.corroborated(ts, self.anomaly_score(ts))
        if learn:
            self.baselines.learn_one(signal, value, ts, context, ref)
        if signal == "heart_rate" and self.anomaly.due(ts):
            vector = self._vitals_vector(ts)
            if vector is not None:
                self.anomaly.learn_one(vector, ts, learn=learn)
        self.phenotype.learn_one(signal, value, ts, None, context)

    def _vitals_vector(self, ts: float) -> dict[str, float] | None:
        """The smoothed vitals the anomaly detector scores, None while one is missing. Until a
        complete vector is scored the detector is due at every heart-rate reading, and a wearer
        without SpO2 or breathing rate stays so: the rarest signal is looked at first."""
        vector = {}
        for name in FEATURES:  # the rarest first
            value = self.smoothed(name, ts)
            if value is None:
                return None
            vector[name] = value
        return vector

    # ------------------------------------------------------------------ outputs
    def smoothed(self, signal: str, now: float) -> float | None:
        """Median of the signal's last resting readings (``News2Feed``), None when too old."""
        return self.feed.smoothed(signal, now)

    def news2_inputs(self, now: float) -> dict[str, Any]:
        return self.feed.inputs(self.latest, now)

    def news2(self, now: float) -> News2Result:
        """NEWS2 of the smoothed and latest values at ``now`` (the same readings at the same
        moment give the same score, so an event's assessment and suggestion share one)."""
        scale = spo2_scale(self.profile)
        key = (now, self.n_readings, scale)
        if self._news2 is not None and self._news2[0] == key:
            return self._news2[1]
        result = score(self.news2_inputs(now), scale=scale)  # type: ignore[arg-type]
        self._news2 = (key, result)
        return result

    def anomaly_score(self, now: float) -> float:
        """The latest multivariate anomaly score, 0 when it is older than 30 minutes."""
        return self.anomaly.score if now - self.anomaly.last_ts <= 1800.0 else 0.0

    def deviation_result(self, now: float) -> DeviationResult:
        key = (now, self.n_readings)
        if self._deviation is not None and self._deviation[0] == key:
            return self._deviation[1]
        result = self.deviation.score(now, self.anomaly_score(now))
        self._deviation = (key, result)
        return result

    def risk_features(
        self,
        now: float,
        news2: News2Result | None = None,
        deviation: DeviationResult | None = None,
    ) -> dict[str, float]:
        """The risk model's inputs; pass NEWS2 and deviation when already computed for ``now``."""
        x = features(
            news2 if news2 is not None else self.news2(now),
            deviation if deviation is not None else self.deviation_result(now),
            self.deviation.current_z(now),
            self.phenotype.trends(),
        )
        x["anomaly"] = self.anomaly_score(now)
        return x

    def maybe_snapshot(self, ts: float) -> bool:
        """Keep hourly feature snapshots of the last day, for labelling by outcomes."""
        if self.snapshots and ts - self.snapshots[-1][0] < SNAPSHOT_S:
            return False
        feats = {k: round(v, 3) for k, v in self.risk_features(ts).items()}
        self.snapshots = [s for s in self.snapshots if ts - s[0] <= HORIZON_S + SNAPSHOT_S]
        self.snapshots.append([ts, feats])
        return True

    def label(self, kind: str, ts: float,
              onset_ts: float | None = None) -> list[tuple[dict[str, float], bool]]:  # fmt: skip
        """Labelled (features, deteriorated) examples from an outcome of this patient; the
        latest outcome is kept for the suggestions' safety gate (``adverse_outcome_at``)."""
        if self.outcome is None or ts >= self.outcome[1]:
            self.outcome = [kind, ts]
        examples, self.snapshots = label_snapshots(self.snapshots, kind, ts, onset_ts)
        return examples

    def adverse_outcome_at(self) -> float | None:
        """Event time of the latest outcome when it was adverse (a deterioration, a
        rapid-response call, a hospitalization, a death): a later ``recovered`` (or ``no_event``)
        lifts it."""
        if self.outcome is None or self.outcome[0] not in POSITIVE:
            return None
        return float(self.outcome[1])

    def assess(self, now: float, model: RiskModel | None = None) -> Assessment:
        news2, deviation = self.news2(now), self.deviation_result(now)
        risk = None
        if model is not None and model.examples:
            risk = model.estimate(self.risk_features(now, news2, deviation))
        context = self.context(now)
        # Red wearable parameters that do not page alone: the patient's normal, or one reading.
        usual = unconfirmed = frozenset[str]()
        if 3 in news2.subscores.values():
            usual = self.feed.usual(news2, self.baselines, context, now, self.latest)
            unconfirmed = self.feed.unconfirmed(news2)
        return Assessment(news2, deviation, risk, self.phenotype.trends(), self.drift.result(now),
                          usual, context == "asleep", unconfirmed,
                          context != "asleep" and not self.activity.knows(now),
                          context != "asleep" and not self.activity.counts_steps(now))  # fmt: skip

    def snapshot(self, now: float, model: RiskModel | None = None) -> dict[str, Any]:
        """The patient view of the care-team API (docs/spec.md)."""
        assessment = self.assess(now, model)
        news2 = assessment.news2
        return {
            "patient_id": self.patient_id,
            "latest": {s: {"value": v, "ts": t} for s, (v, t) in sorted(self.latest.items())},
            "baselines": self.baselines.summary(),
            "phenotype": {
                "today": self.phenotype.day_features(now),
                "trends": self.phenotype.trends(),
                "circadian": self.phenotype.circadian(),
            },
            "news2": {**news2.as_dict(), "risk": news2.risk},
            "deviation": asdict(assessment.deviation),
            "anomaly": round(self.anomaly_score(now), 3),
            "risk": assessment.risk.as_dict() if assessment.risk is not None else None,
            "readings": self.n_readings,
        }

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        return {**self._document(), "phen": self.phenotype.to_dict(),
                "hist": self.history.to_dict()}  # fmt: skip

    def _document(self) -> dict[str, Any]:
        """Everything but the phenotype and the history, which ``to_dict`` gives as data and
        ``to_bytes`` as JSON kept from the last save (``checkpoint()``): the same bytes."""
        return {
            "v": STATE_VERSION, "id": self.patient_id, "prof": self.profile,
            "latest": self.latest, **self.feed.to_dict(), **self.activity.to_dict(),
            "base": self.baselines.to_dict(),
            "dev": self.deviation.to_dict(), "drift": self.drift.to_dict(),
            "off": {str(p): o for p, o in self.offsets.items()},
            "n": self.n_readings, "learn": self.learning, "dup": self.duplicates,
            "recv": self.received_at,
            "recent": pack_recent(self.recent),
            "snap": self.snapshots, "outc": self.outcome, "hst": self.anomaly.to_dict(),
            "extras": self.extras,
            "sugg": self.suggester.to_dict(),
        }  # fmt: skip

    def to_json(self) -> bytes:
        """The checkpoint's document, uncompressed (``pack`` makes the checkpoint of it)."""
        document = {**self._document(), "phen": self.phenotype.checkpoint(),
                    "hist": self.history.checkpoint()}  # fmt: skip
        return orjson.dumps(document)

    def to_bytes(self) -> bytes:
        """The checkpoint: ``pack(self.to_json())``."""
        return pack(self.to_json())

    @classmethod
    def from_dict(cls, doc: dict[str, Any], policy: ModelPolicy | None = None) -> PatientState:
        state = cls(doc["id"], doc.get("prof"), policy)
        state.latest = doc["latest"]
        state.feed.load(doc)
        state.activity.load(doc)
        state.baselines.load(doc["base"])
        state.phenotype.load(doc["phen"])
        state.deviation.load(doc["dev"])
        state.drift.load(doc.get("drift", {}))  # absent in checkpoints written before it
        state.offsets = {int(p): o for p, o in doc["off"].items()}
        state.n_readings, state.learning = doc["n"], doc["learn"]
        state.duplicates, state.received_at = doc["dup"], doc["recv"]
        state.recent = unpack_recent(doc["recent"])
        state.snapshots = doc["snap"]
        state.outcome = doc.get("outc")  # absent in checkpoints written before the gate used it
        state.anomaly.load(doc["hst"])
        state.extras = doc["extras"]
        if "sugg" in doc:  # absent in checkpoints written before suggestions
            state.suggester.load(doc["sugg"])
        state.history.load(doc.get("hist", {}))  # absent in checkpoints written before it
        return state

    @classmethod
    def from_bytes(cls, blob: bytes, patient_id: str,
                   policy: ModelPolicy | None = None) -> tuple[PatientState, str]:  # fmt: skip
        """Restore a state: (state, how) where how is restored, migrated or rebuilt."""
        try:
            if blob[:2] != MAGIC:
                raise ValueError("not a vigilstream state")
            doc = orjson.loads(zlib.decompress(blob[3:]))
            how = "restored"
            while doc.get("v") != STATE_VERSION:
                migrate = MIGRATIONS.get(doc.get("v", -1))
                if migrate is None:
                    raise ValueError(f"no migration from state version {doc.get('v')}")
                doc, how = migrate(doc), "migrated"
            if doc["id"] != patient_id:
                raise ValueError("state belongs to another patient")
            return cls.from_dict(doc, policy), how
        except (ValueError, KeyError, TypeError, zlib.error, orjson.JSONDecodeError):
            return cls(patient_id, policy=policy), "rebuilt"
