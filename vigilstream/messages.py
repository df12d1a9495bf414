"""Message schemas of the external contract (docs/spec.md), as pydantic v2 models.

These are the shapes integrators produce and consume; ``vigilstream schema [NAME]`` prints their
JSON Schema. Canonical units follow docs/spec.md ("Native reading"). Unit conversion, plausibility
ranges and clock checks belong to ingest, which adds reason codes of its own; the models here
check structure and types only, and reject anything they do not know (``extra="forbid"``) so a
misspelt field is an error rather than silently dropped data.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

PatientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
EventTime = Annotated[
    AwareDatetime,
    Field(description="event time: RFC 3339 with offset, or epoch seconds"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "RFC 3339 with offset, or epoch seconds",
        }
    ),
]


def _json_number(value: Any) -> Any:
    """Readings carry JSON numbers: ``"72"`` or ``true`` is a schema error, not 72 or 1.0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a JSON number, not {type(value).__name__}")
    return value


Number = Annotated[float, BeforeValidator(_json_number), Field(allow_inf_nan=False)]
MAX_BATCH_READINGS = 10_000


class Message(BaseModel):
    """Base of every message: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- readings
NUMERIC_SIGNALS: dict[str, str] = {
    "heart_rate": "bpm",
    "hrv_rmssd": "ms",
    "hrv_sdnn": "ms",
    "spo2": "%",
    "respiratory_rate": "/min",
    "body_temperature": "Cel",
    "skin_temperature": "Cel",
}
"""Signals with one number, and their canonical unit (UCUM spelling for Celsius)."""

SIGNALS: tuple[str, ...] = (
    *NUMERIC_SIGNALS,
    "rr_intervals",
    "blood_pressure",
    "steps",
    "sleep",
    "exercise",
    "consciousness",
    "supplemental_o2",
)


class _ReadingBody(Message):
    """Fields common to every reading inside a batch (no patient or device)."""

    ts: EventTime
    unit: str | None = Field(None, max_length=16, description="unit as sent; canonical if absent")
    seq: int | None = Field(None, ge=0, description="device sequence number")


class NumericReadingBody(_ReadingBody):
    signal: Literal[
        "heart_rate",
        "hrv_rmssd",
        "hrv_sdnn",
        "spo2",
        "respiratory_rate",
        "body_temperature",
        "skin_temperature",
    ]
    value: Number


class RRIntervalsBody(_ReadingBody):
    signal: Literal["rr_intervals"]
    value: list[Number] = Field(min_length=1, max_length=2048, description="R-R intervals, ms")


class BloodPressureValue(Message):
    systolic: Number
    diastolic: Number


class BloodPressureBody(_ReadingBody):
    signal: Literal["blood_pressure"]
    value: BloodPressureValue


class _IntervalBody(_ReadingBody):
    """A reading over ``ts``..``end_ts``."""

    end_ts: EventTime

    @model_validator(mode="after")
    def _interval(self) -> _IntervalBody:
        if self.end_ts < self.ts:
            raise ValueError("end_ts is before ts")
        return self


class StepsBody(_IntervalBody):
    signal: Literal["steps"]
    value: Annotated[int, BeforeValidator(_json_number), Field(ge=0)]


class SleepValue(Message):
    """A sleep stage; ``asleep`` is unstaged sleep (e.g. Open mHealth sleep-duration) with the
    minutes slept within ``ts``..``end_ts``."""

    stage: Literal["awake", "light", "deep", "rem", "asleep"]
    minutes: Annotated[float, Field(ge=0, le=1440)] | None = None


def _bare_stage(value: Any) -> Any:
    """A stage written on its own (``"light"``, as a CSV export or a plain client writes it)
    is the stage of the value: ``{"stage": "light"}``."""
    return {"stage": value.strip().lower()} if isinstance(value, str) else value


class SleepBody(_IntervalBody):
    signal: Literal["sleep"]
    value: Annotated[SleepValue, BeforeValidator(_bare_stage)]


class ExerciseValue(Message):
    """A workout the watch or the patient logged (HealthKit workouts, Fitbit exercise logs,
    Open mHealth ``physical-activity``): its activity as the source names it."""

    activity: str = Field(min_length=1, max_length=64, description="e.g. cycling, strength")


def _bare_activity(value: Any) -> Any:
    """An activity written on its own (``"cycling"``) is the activity of the value."""
    return {"activity": value.strip().lower()} if isinstance(value, str) else value


class ExerciseBody(_IntervalBody):
    signal: Literal["exercise"]
    value: Annotated[ExerciseValue, BeforeValidator(_bare_activity)]


class ConsciousnessBody(_ReadingBody):
    signal: Literal["consciousness"]
    value: Literal["A", "C", "V", "P", "U"] = Field(description="ACVPU (NEWS2)")


class SupplementalO2Body(_ReadingBody):
    signal: Literal["supplemental_o2"]
    value: StrictBool


ReadingBody = Annotated[
    NumericReadingBody
    | RRIntervalsBody
    | BloodPressureBody
    | StepsBody
    | SleepBody
    | ExerciseBody
    | ConsciousnessBody
    | SupplementalO2Body,
    Field(discriminator="signal"),
]


class Owner(Message):
    """Who a reading belongs to: the patient, and the device that measured it."""

    patient_id: PatientId
    device_id: DeviceId | None = None


class NumericReading(Owner, NumericReadingBody):
    """A native reading of one numeric signal."""


class RRIntervalsReading(Owner, RRIntervalsBody):
    """A native reading of R-R intervals (ms)."""


class BloodPressureReading(Owner, BloodPressureBody):
    """A native blood-pressure reading (mmHg)."""


class StepsReading(Owner, StepsBody):
    """Steps counted over ``ts``..``end_ts``."""


class SleepReading(Owner, SleepBody):
    """A sleep stage over ``ts``..``end_ts``."""


class ExerciseReading(Owner, ExerciseBody):
    """A logged workout over ``ts``..``end_ts`` (a workout under way: the end so far)."""


class ConsciousnessReading(Owner, ConsciousnessBody):
    """Level of consciousness on the ACVPU scale (entered by a carer or a clinician)."""


class SupplementalO2Reading(Owner, SupplementalO2Body):
    """Whether the patient is on supplemental oxygen (NEWS2 'air or oxygen')."""


Reading = Annotated[
    NumericReading
    | RRIntervalsReading
    | BloodPressureReading
    | StepsReading
    | SleepReading
    | ExerciseReading
    | ConsciousnessReading
    | SupplementalO2Reading,
    Field(discriminator="signal"),
]


class Batch(Owner):
    """Readings of one patient that travel together (a phone syncing a minute or an hour)."""

    readings: list[ReadingBody] = Field(min_length=1, max_length=MAX_BATCH_READINGS)


class DeviceStatus(Owner):
    """Battery and wear state of a device."""

    signal: Literal["device_status"]
    ts: EventTime
    battery: Annotated[float, Field(ge=0, le=100)] | None = None
    worn: bool | None = None
    seq: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> DeviceStatus:
        if self.battery is None and self.worn is None:
            raise ValueError("a device status needs battery or worn")
        return self


# --------------------------------------------------------------------------- internal
SourceFormat = Literal["native", "batch", "fhir", "omh", "device_status"]


class CleanReading(Message):
    """One normalized reading on ``vitals.clean``: canonical unit, event time as epoch seconds."""

    patient_id: PatientId
    device_id: str | None = None
    signal: str
    value: Any
    ts: float = Field(description="event time, epoch seconds")
    end_ts: float | None = None
    received_at: float = Field(description="processing time at ingest, epoch seconds")
    source_format: SourceFormat
    seq: int | None = None


class CleanBatch(Message):
    """Normalized readings of one patient that arrived together, as one ``vitals.clean`` event."""

    patient_id: PatientId
    readings: list[CleanReading] = Field(min_length=1)


class OutcomeEvent(Message):
    kind: Literal[
        "deterioration", "hospitalization", "rapid_response", "death", "recovered", "no_event"
    ]
    ts: float
    onset_ts: float | None = None


class CleanOutcome(Message):
    """An outcome re-keyed to its patient's owner on ``vitals.clean`` (labels for the models)."""

    patient_id: PatientId
    outcome: OutcomeEvent


# --------------------------------------------------------------------------- inputs
class ActivityGoals(Message):
    steps_per_day: int | None = Field(None, ge=0, le=100_000)
    active_minutes_per_day: int | None = Field(None, ge=0, le=1440)


class PatientProfile(Message):
    """A patient profile on the compacted ``patients`` topic (a null value deletes it).

    ``conditions`` uses free codes; ``hypercapnic_respiratory_failure`` (or ``spo2_scale: 2``
    set by a clinician) selects NEWS2 SpO2 scale 2 (RCP 2017, chart 1).
    """

    patient_id: PatientId
    age: int | None = Field(None, ge=0, le=120)
    sex: Literal["F", "M", "X"] | None = None
    conditions: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=64
    )
    beta_blocker: bool = False
    spo2_scale: Literal[1, 2] | None = None
    activity_goals: ActivityGoals | None = None
    tz: str = Field(
        "UTC", max_length=64, description="IANA time zone of the patient's days and decisions"
    )
    decision_times: list[
        Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    ] = Field(default_factory=list, max_length=12, description="local HH:MM suggestion times")
    hr_max: int | None = Field(None, ge=80, le=230, description="measured maximal heart rate")
    exercise_restricted: bool = Field(False, description="a clinician forbids exertion")
    consent: bool | None = Field(
        None,
        description="consent to remote monitoring: false rejects the patient's readings "
        "(no_consent); absent means not on record (rejected only when VIGIL_CONSENT_REQUIRED)",
    )
    updated_at: EventTime | None = None

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (IANA names, e.g. Europe/Paris)"
            ) from None
        return value


class Outcome(Message):
    """A clinical outcome or label event on ``outcomes`` (feeds the risk model's labels)."""

    patient_id: PatientId
    kind: Literal[
        "deterioration", "hospitalization", "rapid_response", "death", "recovered", "no_event"
    ]
    ts: EventTime = Field(description="when the outcome happened (or was confirmed)")
    onset_ts: EventTime | None = Field(None, description="clinically judged onset, if known")
    note: str | None = Field(None, max_length=2000)


class Feedback(Message):
    """A care-team acknowledgement and verdict on ``alerts.feedback`` (key: alert_id)."""

    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    verdict: Literal["actionable", "not_actionable"]
    note: str | None = Field(None, max_length=2000)
    by: str | None = Field(None, max_length=128, description="who acknowledged (person's name)")
    by_sub: str | None = Field(
        None, max_length=256, description="stable id of who acknowledged (JWT sub, token digest)"
    )
    at: EventTime
    patient_id: PatientId | None = None


# --------------------------------------------------------------------------- outputs
class News2Explanation(Message):
    total: int = Field(ge=0, le=20)
    subscores: dict[str, Annotated[int, Field(ge=0, le=3)]]
    missing: list[str]
    scale: Literal[1, 2]


class SignalExplanation(Message):
    signal: str
    value: Any
    baseline_mean: float | None = None
    baseline_sd: float | None = None
    z: float | None = None
    n: int | None = None


class RiskExplanation(Message):
    probability: float = Field(ge=0, le=1)
    model_version: str
    top_features: list[str]


class Explanation(Message):
    news2: News2Explanation | None = None
    signals: list[SignalExplanation] = Field(default_factory=list)
    risk: RiskExplanation | None = None


class Alert(Message):
    """An alert on ``alerts``: one ``alert_id`` per episode, status changes re-use it."""

    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    patient_id: PatientId
    kind: Literal[
        "deterioration",
        "baseline_deviation",
        "trend",
        "risk",
        "device_offline",
        "battery_low",
        "not_worn",
    ]
    severity: Literal["info", "low", "medium", "high"]
    status: Literal["open", "updated", "escalated", "resolved"]
    opened_at: EventTime
    updated_at: EventTime
    event_time: EventTime
    summary: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    explanation: Explanation


class SuggestionTarget(Message):
    hr_zone_bpm: tuple[int, int] | None = None
    rpe: tuple[int, int] | None = Field(None, description="Borg 6-20, when HR is not a guide")
    steps: int | None = Field(None, ge=0)
    minutes: int | None = Field(None, ge=0)


class SuggestionPolicy(Message):
    arm: str
    propensity: float = Field(ge=0, le=1)
    version: str | None = None


class Suggestion(Message):
    """A personalized activity suggestion on ``suggestions``."""

    suggestion_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    patient_id: PatientId
    kind: Literal["walk", "break_sedentary", "rest", "sleep_routine"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    target: SuggestionTarget
    rationale: str
    policy: SuggestionPolicy
    decided_at: EventTime


SuppressionReason = Literal[
    "open_alert", "recovering", "outcome", "watching", "deviation", "unsettled", "drift",
    "news2", "fever", "resting_hr_trend", "short_sleep", "exercise_restricted", "daily_cap",
    "quiet_hours", "asleep", "active", "stale", "reserved",
]  # fmt: skip


class SuggestionDecision(Message):
    """Every suggestion decision, sent or not, on ``suggestions.decisions`` (off-policy data)."""

    decision_id: str
    patient_id: PatientId
    decided_at: EventTime
    arm: Literal["walk", "break_sedentary", "rest", "sleep_routine", "none"]
    propensity: float = Field(ge=0, le=1)
    sent: bool
    suppressed: SuppressionReason | None
    context: dict[str, Any]


class SuggestionFeedback(Message):
    """A patient's answer to a suggestion on ``suggestions.feedback``."""

    suggestion_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    patient_id: PatientId | None = None
    response: Literal["done", "not_now", "not_for_me"]
    at: EventTime


class SuggestionOutcome(Message):
    """A closed reward window on ``suggestions.outcomes``."""

    decision_id: str
    patient_id: PatientId
    reward: float
    steps_before: int = Field(ge=0)
    steps_after: int = Field(ge=0)
    window_start: EventTime | None = Field(
        None,
        description="when the reward window began: the decision's delivery, or its own "
        "time when it was not delivered late",
    )


ReasonCode = Literal[
    "invalid_json",
    "schema",
    "unknown_signal",
    "unit",
    "implausible_value",
    "future_timestamp",
    "stale_timestamp",
    "too_large",
    "no_consent",
]
"""Why an input was rejected (docs/spec.md, "Dead letter"): one list for code and schema."""
DEADLETTER_REASONS: tuple[str, ...] = get_args(ReasonCode)


class DeadLetter(Message):
    """A rejected input on ``vitals.deadletter``, with its reason and where it came from."""

    reason: ReasonCode
    detail: str = Field(max_length=1000)
    payload: str = Field(max_length=8192, description="the original, at most 8 KiB")
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    received_at: EventTime


# --------------------------------------------------------------------------- registry
SCHEMAS: dict[str, Any] = {
    "reading": Reading,
    "batch": Batch,
    "device_status": DeviceStatus,
    "clean_reading": CleanReading,
    "clean_batch": CleanBatch,
    "clean_outcome": CleanOutcome,
    "patient": PatientProfile,
    "outcome": Outcome,
    "feedback": Feedback,
    "alert": Alert,
    "suggestion": Suggestion,
    "suggestion_decision": SuggestionDecision,
    "suggestion_outcome": SuggestionOutcome,
    "suggestion_feedback": SuggestionFeedback,
    "deadletter": DeadLetter,
}
"""Every message type by the name ``vigilstream schema NAME`` takes."""

_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(t) for name, t in SCHEMAS.items()}


def json_schema(name: str) -> dict[str, Any]:
    """JSON Schema of one message type."""
    schema = _ADAPTERS[name].json_schema()
    schema.setdefault("title", name)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def validate(name: str, data: Any) -> Any:
    """Validate a decoded JSON value as the named message type; raises ValidationError."""
    return _ADAPTERS[name].validate_python(data)


def describe_error(exc: ValidationError, limit: int = 3) -> str:
    """A readable one-line summary of a validation error: where, and what is wrong."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
