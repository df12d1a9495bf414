"""Alert decisions: one alert per episode, with hysteresis, explained.

In hospital monitoring 72-99 % of alarms are non-actionable (Sendelbach S, Funk M. "Alarm
fatigue: a patient safety concern." AACN Adv Crit Care 2013;24:378-386), so an episode opens
once, changes are sent as ``updated`` / ``escalated`` messages with the same ``alert_id``, and it
resolves only after its condition has been normal for ``hold_s``. Severity rises at once and
falls only when the lower level has held for ``hold_s`` too, so a value hovering at a threshold
does not flap.

Kinds decided here, from an ``Assessment`` of ``online_models.state``:

- ``deterioration``: NEWS2 aggregate >= 7 high, 5-6 medium, a 3 in a single parameter low
  (RCP 2017, chart 2); never capped, never made less eager by feedback. The one personal
  exception: a single-parameter 3 from a wearable (heart rate, respiration, SpO2) or the
  patient's blood pressure cuff (systolic) that lies within 2 SD of the patient's own warm
  baseline for the context (``Assessment.usual``; e.g. a sleeping heart rate of 40 under
  beta-blockers, night after night, or a young adult's usual systolic 90) does not page;
  aggregate bands always do.
- ``baseline_deviation``: a corroborated deviation from the personal baseline (severity by the
  combined z: >= 6 high, >= 4.5 medium, else low), not opened while a deterioration episode
  is open (one page per patient; its signals are in the deterioration alert's explanation).

- ``risk``: the risk model's probability >= 0.8, and at least the probability from which its own
  out-of-sample precision reaches 90 %, once it has learned from 50 labels (medium); not opened
  while a deterioration or deviation episode is open.
- ``trend``: days-scale change. Either today's resting heart rate, respiration and SpO2 have
  drifted, two of them by >= 3 day-to-day SD, from the patient's days -9..-2
  (``online_models.drift``; low, medium from 4.5 SD), or over 7 vs 28 days resting heart rate
  rose >= 5 bpm while daily steps fell >= 30 % (low; medium when sleep also fell by 30 minutes
  or more). Not opened while a deterioration or deviation episode is open.

A low-severity clinical condition opens an episode only once it has lasted 10 minutes of event
time (an alarm delay: Görges M et al., Anesth Analg 2009;108:1546-52 found that short delays
remove a large share of non-actionable alarms); medium and high open at once. While the patient
sleeps, a single red NEWS2 parameter (low) must last 30 minutes: a wrist oximeter sees the
brief desaturations of normal sleep (up to 5 an hour in healthy adults, the AASM threshold for
apnoea; Berry RB et al., J Clin Sleep Med 2012;8:597-619), and sustained nocturnal hypoxaemia is
judged by time, not by events (T90). Where the patient is awake and nothing says they are at
rest, a condition that exercise alone explains must last 60 minutes: a run drives heart rate
and respiration far out, and without steps it cannot be told from a tachycardia at rest until
it outlasts a bout of exercise. For NEWS2 scoring only on heart rate and respiration that is
where no step count reaches the moment (a device that sends heart rate but no steps, a phone
whose step sync lags behind the heart rate, a block without steps the device did not send;
``Assessment.activity_unknown``); for a deviation naming only heart rate, respiration and
heart-rate variability, where the stream has counted no steps for 12 hours
(``Assessment.no_step_counts``), and, where no step count reaches the moment (or one does and
heart rate is all it names), for one whose signals went from calm to far out (a ride, a sauna,
a gym session: it opens 90 minutes after they were last calm, unless an HRV reading says the
rhythm is irregular; ``_exercise_wait``). Elsewhere a phone's step sync lands before a
deviation of those signals counts (one signal needs 30 minutes, a pattern 20, and the reading
that ends a gap needs a second one beside it: ``online_models.deviation``), and a change hours
in the making is no bout of exercise. NEWS2 high (>= 7) and anything with a low SpO2, a
temperature or a blood pressure in it still open as before. A per-patient daily cap (6 episodes
a day) applies to every kind except NEWS2 high.

Technical kinds, which never count as clinical (they do not hold baseline learning):
``battery_low`` on crossing 20 % (low) and 5 % (medium), ``not_worn`` once the device has said so
for 2 hours (a daily charge is not news), ``device_offline`` when no data arrived for 30 minutes
(checked on a processing-time timer; not while the device says it is off the wrist).

``alert_id`` is derived from patient, kind and the event time that opened the episode, so the
same episode gets the same id after a failover (the episode state travels in the patient's
checkpoint). Pure: time is a parameter, nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alerts.messages import AlertMessage, DeviceState
from online_models.deviation import EXERTIONAL, WITNESS
from online_models.suggestions.safety import AlertStatus

if TYPE_CHECKING:
    from online_models.deviation import DeviationResult
    from online_models.drift import DriftResult
    from online_models.news2 import News2Result
    from online_models.risk import RiskEstimate
    from online_models.state import Assessment

__all__ = ["TECHNICAL", "AlertEngine", "AlertPolicy", "Episode", "alert_id", "news2_severity"]

TECHNICAL = frozenset({"device_offline", "battery_low", "not_worn"})
SUMMARIES = {
    "risk": "The deterioration risk model flags this patient ({p:.0%}): please review.",
    "trend": "Over the last week resting heart rate rose while activity fell (possible "
    "decompensation): please review.",
    "device_offline": "No data from the wearable for over {minutes:g} minutes: please check the "
    "device.",
}
PATTERN_WORDS = {  # online_models.deviation.PATTERNS, as a nurse would say them
    "hypoxaemia": "Possible hypoxaemia: SpO2 falling while breathing quickens",
    "febrile": "Possible fever: skin temperature, heart rate and breathing rising together",
}
BATTERY_LOW, BATTERY_CRITICAL = 20.0, 5.0
SEVERITY_RANK = {"none": 0, "info": 1, "low": 2, "medium": 3, "high": 4}


@dataclass(frozen=True)
class AlertPolicy:
    hold_s: float = 1800.0  # condition normal (or lower) this long before resolving/downgrading
    cooldown_s: float = 3600.0  # a relapse within this of resolution reopens the same episode
    deviation_high_z: float = 6.0
    deviation_medium_z: float = 4.5
    escalate_after_s: float = 900.0  # unacknowledged this long (processing time): escalated
    margin_step: float = 0.5  # each not_actionable verdict on a deviation alert raises the bar
    margin_max: float = 2.0  # ... up to 2 SD more, never beyond
    offline_after_s: float = 1800.0  # no data this long (processing time): device_offline
    confirm_low_s: float = 600.0  # a low-severity clinical condition must last this long to open
    # ... and a single red NEWS2 parameter while the patient sleeps this long (see the module doc)
    confirm_low_asleep_s: float = 1800.0
    # A condition that exercise alone explains, where no step counts say the patient is at rest
    # (``_exercise_wait``), must last this long: most bouts of daily exercise end within it.
    # Not NEWS2 high.
    confirm_exertional_s: float = 3600.0
    # ... and a deviation of heart rate, respiration or HRV alone that went from calm to far
    # out, where no step count reaches the moment (or, for heart rate alone, a count too low to
    # say walking does), opens this long after its signals were last calm: a bout of exercise
    # that no step count shows, and the recovery after it (``_exercise_wait``).
    confirm_sudden_s: float = 5400.0
    not_worn_after_s: float = 7200.0  # off the wrist this long before a not_worn alert
    daily_cap: int = 6  # non-critical episodes opened per patient and day; NEWS2 high exempt
    risk_alerts: bool = False  # risk-model alerts of their own (see EVALUATION.md: off)
    risk_threshold: float = 0.8  # risk-model probability that opens a risk alert
    risk_min_examples: int = 50  # ... once the model has learned from this many labels
    trend_rhr_bpm: float = 5.0  # resting heart rate up this much (7 vs 28 days) ...
    trend_steps_drop: float = 0.3  # ... with daily steps down this fraction: a trend alert
    drift_medium_z: float = 4.5  # a corroborated day-level drift this large: medium, else low
    # Readings older than this (processing time) are late: a phone's upload after days offline.
    # They update the patient's models and daily phenotype but never open or change an alert:
    # a page about yesterday's vitals is not something a care team can act on.
    horizon_s: float = 24 * 3600.0


@dataclass
class Episode:
    """One open (or recently resolved) episode of a kind for a patient."""

    alert_id: str
    kind: str
    severity: str
    opened_at: float
    updated_at: float
    event_time: float
    status: str = "open"
    lower_since: float | None = None  # when the condition first fell below the severity
    lower_severity: str = "none"
    none_since: float | None = None  # when the condition became normal
    resolved_at: float | None = None
    acked: bool = False
    escalated: bool = False
    history: list[list[Any]] = field(default_factory=list)  # [status, severity, event time]


def alert_id(patient_id: str, kind: str, opened_event_ts: float) -> str:
    """Deterministic id of an episode."""
    digest = hashlib.sha256(f"{patient_id}|{kind}|{opened_event_ts:.3f}".encode()).hexdigest()
    return f"a-{digest[:20]}"


def _exercise_wait(kind: str, assessment: Assessment, first: float, policy: AlertPolicy) -> float:
    """How long after ``first`` (the condition's first event time) a clinical condition must
    last because exercise alone may explain it (0: it need not wait; ``inf``: not now).

    Everything behind it must be what exercise does (``EXERTIONAL``: every NEWS2 parameter that
    scores, or every signal the deviation names) and nothing may say the patient is at rest.
    NEWS2: no step count reaches the moment; it waits ``confirm_exertional_s``. A deviation
    builds up more slowly (z smoothed over 10 minutes, a reading after a gap waits for a second,
    one signal alone for 30 minutes), and a phone's step sync usually brings the counts of a run
    first: it waits ``confirm_exertional_s`` where the stream has counted no steps for 12 hours.
    Awake, where no step count reaches the moment, or where one does (too low to say walking)
    and heart rate is the only witness, it opens no sooner than ``confirm_sudden_s`` after
    its signals were last calm, unless an HRV reading says the rhythm is irregular, and not
    while the latest readings are back to calm (the bout is over): a bike ride or a sauna
    counts no steps and goes from calm to far out in minutes, and the heart rate takes a while
    to recover after it; a fever's heart-rate rise is hours old when it corroborates and does
    not wait (``DeviationResult.calm_until``, ``irregular``, ``settled``)."""
    wait_s = policy.confirm_exertional_s
    if kind == "deterioration":
        behind = [p for p, sub in assessment.news2.subscores.items() if sub > 0]
        exertional = bool(behind) and set(behind) <= EXERTIONAL
        return wait_s if exertional and assessment.activity_unknown else 0.0
    if kind != "baseline_deviation":
        return 0.0
    deviation = assessment.deviation
    behind = [s["signal"] for s in deviation.signals]
    if not behind or not set(behind) <= EXERTIONAL:
        return 0.0
    if assessment.no_step_counts:
        return wait_s
    calm = deviation.calm_until
    # Where a step count reaches the moment but is too low to say "walking" (a gym session, a
    # few steps an hour at home), only the heart rate alone waits: breathing that quickens with
    # it is the hypoxaemia and sepsis pattern, not a set of squats.
    heart_only = {WITNESS.get(name, name) for name in behind} == {"heart_rate"}
    unexplained = assessment.activity_unknown or heart_only
    if unexplained and not assessment.asleep and not deviation.irregular and calm is not None:
        sudden_s = policy.confirm_sudden_s
        if first - calm < sudden_s and deviation.settled:
            return math.inf  # the bout is over; what is left is its smoothed z on the way down
        return max(0.0, calm + sudden_s - first)
    return 0.0


def news2_severity(news2: News2Result) -> str:
    """Alert severity of a NEWS2 result: its RCP 2017 clinical risk band (chart 2)."""
    return {"high": "high", "medium": "medium", "low-medium": "low"}.get(news2.risk, "none")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class AlertEngine:
    """Episode lifecycle of one patient's clinical alerts.

    >>> from online_models.deviation import DeviationResult
    >>> from online_models.news2 import score
    >>> from online_models.state import Assessment
    >>> engine = AlertEngine("p-1")
    >>> sick = Assessment(score({"respiratory_rate": 26, "heart_rate": 135, "spo2": 95}),
    ...                   DeviationResult(0.0, False))
    >>> [m["status"] for m in engine.decide(sick, event_ts=0.0, now=1.0)]
    ['open']
    >>> engine.decide(sick, event_ts=60.0, now=61.0)   # the same episode: nothing new
    []
    """

    def __init__(self, patient_id: str, policy: AlertPolicy | None = None) -> None:
        self.patient_id = patient_id
        self.policy = policy or AlertPolicy()
        self.episodes: dict[str, Episode] = {}
        self.deviation_margin = 0.0  # learned from care-team verdicts, in SD
        self.opened_by_day: dict[str, int] = {}  # episodes opened on the current event-time day
        self.suppressed = 0  # episodes not opened because of the daily cap
        self.pending: dict[str, list[float]] = {}  # kind -> [first, last] low event time

    @property
    def open_episode(self) -> bool:
        """True while any clinical episode is open (baselines must not learn then)."""
        return any(
            e.status != "resolved" and e.kind not in TECHNICAL for e in self.episodes.values()
        )

    def status(self) -> AlertStatus:
        """Open, latest resolved and pending clinical episodes (the suggestion safety gate)."""
        clinical = [e for e in self.episodes.values() if e.kind not in TECHNICAL]
        resolved = [(e.resolved_at, _peak(e) == "low") for e in clinical if e.resolved_at]
        return AlertStatus(
            open=any(e.status != "resolved" for e in clinical),
            resolved_at=max((at for at, low in resolved if not low), default=None),
            resolved_low_at=max((at for at, low in resolved if low), default=None),
            watching=any(kind not in TECHNICAL for kind in self.pending),
        )

    def decide(
        self, assessment: Assessment, event_ts: float, now: float,
        device: DeviceState | None = None,
    ) -> list[AlertMessage]:  # fmt: skip
        """Alert messages (docs/spec.md ``alerts``) caused by this assessment and device state."""
        out = []
        deterioration = news2_severity(assessment.news2)
        if deterioration == "low" and self._red_flags_quiet(assessment):
            deterioration = "none"
        wanted = {"deterioration": deterioration}
        # While NEWS2 alerts, a personal-deviation alert would page twice for one patient; its
        # signals are in the deterioration alert's explanation instead.
        covered = deterioration != "none" or self._is_open("deterioration")
        if not covered or self._is_open("baseline_deviation"):
            wanted["baseline_deviation"] = self._deviation_severity(assessment.deviation)
        # Likewise a risk alert adds nothing while a NEWS2 or deviation episode is open.
        if not (covered or self._is_open("baseline_deviation")) or self._is_open("risk"):
            wanted["risk"] = self._risk_severity(assessment.risk)
        if not (covered or self._is_open("baseline_deviation")) or self._is_open("trend"):
            wanted["trend"] = max(self._trend_severity(assessment.trends),
                                  drift_severity(assessment.drift, self.policy.drift_medium_z),
                                  key=SEVERITY_RANK.__getitem__)  # fmt: skip
        if device:
            wanted["battery_low"] = battery_severity(device.get("battery"))
            wanted["not_worn"] = "info" if device.get("worn") is False else "none"
        for kind, severity in wanted.items():
            message = self._step(kind, severity, assessment, event_ts, now, device)
            if message is not None:
                out.append(message)
        offline = self.episodes.get("device_offline")
        if offline is not None and offline.status != "resolved":  # data arrives again: resolved
            offline.resolved_at = event_ts
            out.append(self._message(offline, "resolved", assessment, event_ts, now, device))
        return out

    def check_offline(self, assessment: Assessment, last_received: float, now: float,
                      worn: bool | None = None) -> list[AlertMessage]:  # fmt: skip
        """``device_offline`` when no data arrived for ``offline_after_s`` (processing time)."""
        if not self.offline_due(last_received, now, worn):
            return []
        message = self._step("device_offline", "low", assessment, last_received, now)
        return [message] if message is not None else []

    def offline_due(self, last_received: float, now: float, worn: bool | None = None) -> bool:
        """True when the device has been silent long enough; never while it reports itself
        off the wrist (charging), which ``not_worn`` already says."""
        if worn is False:
            return False
        episode = self.episodes.get("device_offline")
        if episode is not None and episode.status != "resolved":
            return False
        return last_received > 0 and now - last_received >= self.policy.offline_after_s

    def _risk_severity(self, risk: RiskEstimate | None) -> str:
        if not self.policy.risk_alerts or risk is None:
            return "none"
        if risk.examples < self.policy.risk_min_examples:
            return "none"
        if risk.alert_threshold is None:  # the model's precision guard (online_models.risk)
            return "none"
        threshold = max(self.policy.risk_threshold, risk.alert_threshold)
        return "medium" if risk.probability >= threshold else "none"

    def _trend_severity(self, trends: dict[str, dict[str, float | None]] | None) -> str:
        """Resting heart rate rising while activity falls over a week: the pattern of heart-
        failure decompensation (cf. Stehlik J et al., Circ Heart Fail 2020;13:e006513)."""
        if not trends:
            return "none"
        rhr, steps = trends.get("resting_hr", {}), trends.get("steps", {})
        rhr_delta, steps_delta = rhr.get("delta"), steps.get("delta")
        steps_mean = steps.get("mean_28d")
        if rhr_delta is None or steps_delta is None or not steps_mean:
            return "none"
        rising = rhr_delta >= self.policy.trend_rhr_bpm
        falling = steps_delta / steps_mean <= -self.policy.trend_steps_drop
        if not (rising and falling):
            return "none"
        sleep = trends.get("sleep_min", {}).get("delta")
        return "medium" if sleep is not None and sleep <= -30 else "low"

    @staticmethod
    def _red_flags_quiet(assessment: Assessment) -> bool:
        """True when every single-parameter red score (3) is the patient's established normal
        (``Assessment.usual``) or a wearable's single reading not yet confirmed by a second
        (``Assessment.unconfirmed``: a watch's hourly SpO2 outlier): the low band is a prompt to
        look, and there is nothing new to see yet. Aggregate scores (medium, high) always alert."""
        quiet = assessment.usual | assessment.unconfirmed
        red = [p for p, sub in assessment.news2.subscores.items() if sub == 3]
        return bool(red) and all(p in quiet for p in red)

    def _is_open(self, kind: str) -> bool:
        episode = self.episodes.get(kind)
        return episode is not None and episode.status != "resolved"

    def escalate(self, assessment: Assessment, now: float) -> list[AlertMessage]:
        """Escalate clinical episodes left unacknowledged for ``escalate_after_s``."""
        out = []
        for episode in self.episodes.values():
            if (episode.kind not in TECHNICAL and episode.status in ("open", "updated")
                    and not episode.acked and not episode.escalated
                    and now - episode.opened_at >= self.policy.escalate_after_s):  # fmt: skip
                episode.escalated = True
                out.append(self._message(episode, "escalated", assessment, episode.event_time, now))
        return out

    def acknowledge(self, alert_id: str, verdict: str) -> Episode | None:
        """A care-team verdict: no more escalation; a ``not_actionable`` deviation alert makes
        this patient's deviation alerts less eager (bounded), never NEWS2 ones. A verdict is
        given once: a second one on the same episode changes nothing and returns None."""
        for episode in self.episodes.values():
            if episode.alert_id == alert_id:
                if episode.acked:
                    return None
                episode.acked = True
                if verdict == "not_actionable" and episode.kind == "baseline_deviation":
                    self.deviation_margin = min(
                        self.policy.margin_max, self.deviation_margin + self.policy.margin_step
                    )
                return episode
        return None

    def _deviation_severity(self, deviation: DeviationResult) -> str:
        if not deviation.corroborated or deviation.score < deviation.bar + self.deviation_margin:
            return "none"
        if deviation.score >= self.policy.deviation_high_z:
            return "high"
        if deviation.score >= self.policy.deviation_medium_z:
            return "medium"
        return "low"

    def _step(self, kind: str, severity: str, assessment: Assessment, event_ts: float,
              now: float, device: DeviceState | None = None) -> AlertMessage | None:  # fmt: skip
        policy = self.policy
        episode = self.episodes.get(kind)
        active = episode is not None and episode.status != "resolved"
        if not active:
            pending = self.pending.get(kind)
            if severity == "none":
                if pending is not None and event_ts - pending[1] >= policy.confirm_low_s:
                    del self.pending[kind]  # normal for a while: the clock starts again
                return None
            # Alarm delays: a low-severity clinical condition opens once it has been present for
            # ``confirm_low_s`` (brief normal readings in between do not restart the clock),
            # medium and high at once; ``not_worn`` once the device has been off the wrist for
            # ``not_worn_after_s`` (a daily charge is not news).
            first = pending[0] if pending is not None else event_ts
            delay = self._alarm_delay(kind, severity, assessment, first)
            if delay > 0:
                self.pending[kind] = [first, event_ts]
                if event_ts - first < delay:
                    return None
            self.pending.pop(kind, None)
            if (episode is not None and episode.resolved_at is not None
                    and event_ts - episode.resolved_at < policy.cooldown_s):  # fmt: skip
                # A relapse soon after resolution continues the episode: same id, never silence.
                episode.severity, episode.resolved_at = severity, None
                episode.none_since = episode.lower_since = None
                episode.acked = episode.escalated = False
                return self._message(episode, "updated", assessment, event_ts, now, device)
            day = str(int(event_ts // 86400))
            critical = kind == "deterioration" and severity == "high"
            if not critical and self.opened_by_day.get(day, 0) >= policy.daily_cap:
                self.suppressed += 1
                return None
            self.opened_by_day = {day: self.opened_by_day.get(day, 0) + 1}
            episode = Episode(alert_id(self.patient_id, kind, event_ts), kind, severity,
                              opened_at=now, updated_at=now, event_time=event_ts)  # fmt: skip
            self.episodes[kind] = episode
            return self._message(episode, "open", assessment, event_ts, now, device)
        assert episode is not None
        rank, current = SEVERITY_RANK[severity], SEVERITY_RANK[episode.severity]
        if rank >= current:
            episode.lower_since = episode.none_since = None
            if rank == current:
                return None
            episode.severity = severity  # worse: at once
            return self._message(episode, "updated", assessment, event_ts, now, device)
        if severity == "none":  # heading back to normal: resolve once that has held
            episode.lower_since = None
            if episode.none_since is None:
                episode.none_since = event_ts
            if event_ts - episode.none_since < policy.hold_s:
                return None
            episode.resolved_at = event_ts
            return self._message(episode, "resolved", assessment, event_ts, now, device)
        # Lower but not normal: the episode follows once that has held, to the highest level
        # seen meanwhile.
        episode.none_since = None
        if episode.lower_since is None:
            episode.lower_since, episode.lower_severity = event_ts, severity
        else:
            episode.lower_severity = max(episode.lower_severity, severity,
                                         key=SEVERITY_RANK.__getitem__)  # fmt: skip
        if event_ts - episode.lower_since < policy.hold_s:
            return None
        episode.severity = episode.lower_severity
        episode.lower_since, episode.lower_severity = None, "none"
        return self._message(episode, "updated", assessment, event_ts, now, device)

    def _alarm_delay(self, kind: str, severity: str, assessment: Assessment,
                     first: float) -> float:  # fmt: skip
        """How long after ``first``, its first event time, a condition must last before its
        episode opens."""
        policy = self.policy
        if kind == "not_worn":
            return policy.not_worn_after_s
        if kind in TECHNICAL:
            return 0.0
        delay = 0.0
        if severity == "low":
            delay = policy.confirm_low_s
            if kind == "deterioration" and assessment.asleep:
                delay = policy.confirm_low_asleep_s
        critical = kind == "deterioration" and severity == "high"
        if not critical:
            delay = max(delay, _exercise_wait(kind, assessment, first, policy))
        return delay

    def _message(self, episode: Episode, status: str, assessment: Assessment, event_ts: float,
                 now: float, device: DeviceState | None = None) -> AlertMessage:  # fmt: skip
        episode.status, episode.updated_at, episode.event_time = status, now, event_ts
        episode.history.append([status, episode.severity, event_ts])
        return {
            "alert_id": episode.alert_id,
            "patient_id": self.patient_id,
            "kind": episode.kind,
            "severity": episode.severity,
            "status": status,
            "opened_at": _iso(episode.opened_at),
            "updated_at": _iso(now),
            "event_time": _iso(event_ts),
            "summary": summary(
                episode.kind,
                episode.severity,
                status,
                assessment,
                device,
                self.policy.offline_after_s,
            ),
            "explanation": explanation(assessment, episode.kind, device),
        }

    def current(self, assessment: Assessment, as_of: float) -> list[tuple[str, dict[str, Any]]]:
        """Each open clinical episode's explanation as of now: (alert_id, {"summary",
        "explanation", "as_of"}). An episode only publishes a message when its state changes,
        so its last message can say NEWS2 9 while the patient now scores 11; this is what the
        care team should read beside it."""
        return [(e.alert_id, {"summary": summary(e.kind, e.severity, "updated", assessment),
                              "explanation": explanation(assessment, e.kind),
                              "as_of": _iso(as_of)})
                for e in self.episodes.values()
                if e.status != "resolved" and e.kind not in TECHNICAL]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {"episodes": {kind: asdict(e) for kind, e in self.episodes.items()},
                "margin": self.deviation_margin, "by_day": self.opened_by_day,
                "suppressed": self.suppressed, "pending": self.pending}  # fmt: skip

    def load(self, data: dict[str, Any]) -> None:
        self.episodes = {kind: Episode(**e) for kind, e in data.get("episodes", {}).items()}
        self.deviation_margin = data.get("margin", 0.0)
        self.opened_by_day = data.get("by_day", {})
        self.suppressed = data.get("suppressed", 0)
        self.pending = data.get("pending", {})


def _peak(episode: Episode) -> str:
    """The highest severity an episode reached."""
    seen: list[str] = [episode.severity, *(str(entry[1]) for entry in episode.history)]
    return max(seen, key=SEVERITY_RANK.__getitem__)


def drift_severity(drift: DriftResult | None, medium_z: float) -> str:
    """A corroborated day-level drift of resting vitals (``online_models.drift``): low, medium
    from a combined z of ``medium_z`` (``AlertPolicy.drift_medium_z``)."""
    if drift is None or not drift.corroborated:
        return "none"
    return "medium" if drift.score >= medium_z else "low"


def battery_severity(battery: float | None) -> str:
    """Battery alerts on crossing 20 % (low) and 5 % (medium); the hold time is the hysteresis."""
    if battery is None or battery >= BATTERY_LOW:
        return "none"
    return "medium" if battery < BATTERY_CRITICAL else "low"


def explanation(
    assessment: Assessment, kind: str = "", device: DeviceState | None = None
) -> dict[str, Any]:
    """What was measured, against which baseline, which NEWS2 parameters scored (docs/spec.md)."""
    if kind in ("battery_low", "not_worn"):
        key = "battery" if kind == "battery_low" else "worn"
        return {"signals": [{"signal": key, "value": (device or {}).get(key)}]}
    if kind == "device_offline":
        return {}
    drift = assessment.drift
    days = list(drift.signals) if kind == "trend" and drift is not None else []
    return {
        "news2": assessment.news2.as_dict(),
        "signals": days or list(assessment.deviation.signals),
        "risk": assessment.risk.as_dict() if assessment.risk is not None else None,
    }


def summary(kind: str, severity: str, status: str, assessment: Assessment,
            device: DeviceState | None = None, offline_after_s: float = 1800.0) -> str:  # fmt: skip
    """One sentence a nurse can act on."""
    news2 = assessment.news2
    if kind == "battery_low" and status != "resolved":
        level = (device or {}).get("battery")
        return f"Wearable battery at {level:.0f} %: please ask the patient to charge it."
    if kind == "not_worn" and status != "resolved":
        return "The wearable is not being worn: monitoring is paused until it is back on."
    drift = assessment.drift
    if kind == "trend" and status != "resolved" and drift is not None and drift.corroborated:
        parts = ", ".join(f"{s['signal'].replace('_', ' ')} {s['value']:g} vs usual "
                          f"{s['baseline_mean']:g}" for s in drift.signals[:3])  # fmt: skip
        return (f"Resting vitals have drifted from this patient's usual over the last days "
                f"({parts}): possible decompensation, please review.")  # fmt: skip
    if kind in SUMMARIES and status != "resolved":
        p = assessment.risk.probability if assessment.risk is not None else 0.0
        return SUMMARIES[kind].format(p=p, minutes=offline_after_s / 60)
    if status == "resolved":
        return f"{kind.replace('_', ' ').capitalize()} resolved: values back within limits."
    if kind == "deterioration":
        scored = sorted((v, k) for k, v in news2.subscores.items() if v)
        worst = ", ".join(k.replace("_", " ") for v, k in reversed(scored[-3:]))
        action = {"high": "urgent clinical review (rapid response)",
                  "medium": "urgent review by a clinician",
                  "low": "review by a clinician"}[severity]  # fmt: skip
        return f"NEWS2 {news2.total} ({worst or 'no single parameter'}): {action}."
    deviation = assessment.deviation
    shown = 3 if deviation.pattern else 2
    parts = ", ".join(
        f"{s['signal'].replace('_', ' ')} {s['value']:g} vs usual {s['baseline_mean']:g}"
        for s in deviation.signals[:shown]
    )
    if deviation.pattern in PATTERN_WORDS:
        words = PATTERN_WORDS[deviation.pattern]
        return f"{words}, against this patient's own baseline ({parts}): please check."
    return f"Sustained change from this patient's own baseline ({parts}): please check."
