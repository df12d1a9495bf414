"""One patient's suggestions: decision points, the safety gate, the bandit, caps and rewards.

``Suggester.step`` is called after every event of the patient (event time ``event_ts``,
processing time ``now``). For each decision point the event time crossed it asks the caller
for the patient's ``Situation`` at that instant, then:

1. no decision while asleep, in quiet hours or already active (logged, reason given);
2. the safety gate (``safety.refusals``): when it refuses exertion, only ``rest`` and ``none``
   are eligible and the decision records the first reason;
3. the bandit chooses among the eligible arms with known propensities (``bandit``);
4. a chosen suggestion is *sent* unless the daily cap is reached (``daily_cap``), the
   decision is far behind processing time (``stale``: a backlog or a replay of old data —
   nobody wants yesterday's walking prompt), or a sitting-triggered nudge would take cap the
   day's remaining scheduled points need (``reserved``);
5. every decision gets a reward window; when it closes in event time the reward (steps after
   minus before) trains the bandit and an outcome message is emitted.

The messages are those of docs/spec.md: ``suggestions``, ``suggestions.decisions``,
``suggestions.outcomes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from online_models.suggestions.bandit import BanditPolicy, Chooser, SuggestionBandit, block_of
from online_models.suggestions.decisions import (
    WINDOW_S,
    DecisionPoints,
    StepLog,
    decision_id,
    reward,
)
from online_models.suggestions.goals import next_goal
from online_models.suggestions.population import PopulationPrior
from online_models.suggestions.safety import ClinicalState, SafetyPolicy, refusals
from online_models.suggestions.zones import ExerciseTarget

__all__ = ["Situation", "Suggester", "SuggesterPolicy", "Suggestions"]

EXERTION = frozenset({"walk", "break_sedentary"})
RECENT = 5
IDLE_MAX_S = 1800.0  # a step runs at least this often in event time (it prunes the step log)


@dataclass(frozen=True)
class SuggesterPolicy:
    daily_cap: int = 3  # suggestions sent per local day
    not_for_me_limit: int = 2  # "not for me" this often on an arm: not offered to the patient
    ignored_limit: int = 3  # this many ignored in a row: one fewer a day (habituation)
    stale_after_s: float = 3600.0  # a decision this far behind processing time is not sent
    sedentary_min: float = 60.0  # break_sedentary needs a sedentary bout this long
    trigger_gap_s: float = 3600.0  # no sedentary-triggered decision this soon after another
    short_sleep_min: float = 360.0  # sleep_routine in the evening after nights shorter
    walk_minutes: int = 10
    version: str = "ts-gauss-1"
    bandit: BanditPolicy = field(default_factory=BanditPolicy)
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)


@dataclass(frozen=True)
class Situation:
    """What the caller knows of the patient at a decision instant."""

    asleep: bool = False
    active: bool = False
    quiet_hours: bool = False
    clinical: ClinicalState = field(default_factory=ClinicalState)
    sedentary_min: float = 0.0
    steps_today: int = 0
    step_goal: int | None = None
    target: ExerciseTarget | None = None


@dataclass
class Suggestions:
    """What one step produced."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class Suggester:
    """The suggestion state of one patient (pure; travels in the patient's checkpoint)."""

    def __init__(self, patient_id: str, policy: SuggesterPolicy | None = None,
                 chooser: Chooser | None = None) -> None:  # fmt: skip
        """``chooser`` replaces the learning bandit (the evaluation's comparison policies)."""
        self.patient_id = patient_id
        self.policy = policy or SuggesterPolicy()
        self.bandit: Chooser = chooser or SuggestionBandit(self.policy.bandit)
        self.points = DecisionPoints()
        self.log = StepLog()
        # [decision_id, reward window start (``_window_start``), arm learned, block]
        self.pending: list[list[Any]] = []
        self.sent_by_day: dict[str, int] = {}
        self.recent: list[list[Any]] = []  # last sent: [suggestion id, kind, decided_at, reward]
        self.not_for_me: dict[str, int] = {}  # arm -> "not for me" answers
        self.ignored = 0  # sent suggestions in a row answered "not now" or followed by no steps
        self.goal: list[int | None] = [None, None]  # [local day index, that day's step goal]
        self.bout: float | None = None  # the sedentary bout that last triggered a decision
        self.last_decided = -1e18  # event time of the latest decision
        # Until this event time, with the same profile and no earlier still bout, a step has
        # nothing to do (``_idle_until``): most events are. A cache, not persisted.
        self.idle: tuple[float, float | None, dict[str, Any] | None] = (-math.inf, None, None)

    def note_steps(self, steps: float, ts: float, end_ts: float | None) -> None:
        self.log.add(steps, ts, end_ts)

    def step(self, event_ts: float, now: float, profile: dict[str, Any],
             situation: Callable[[float], Situation], population: PopulationPrior | None = None,
             still_since: float | None = None) -> Suggestions:  # fmt: skip
        """Close the reward windows and make the decisions event time ``event_ts`` reached:
        the scheduled points it crossed, and the moment a sedentary bout (the patient still
        since ``still_since``) reached ``sedentary_min`` while awake. ``population`` is the
        pooled prior shared by the worker's patients, if any."""
        out = Suggestions()
        idle_until, idle_still, idle_profile = self.idle
        if (
            event_ts < idle_until
            and profile is idle_profile
            and (still_since in (None, idle_still) or self._sitting(still_since) >= idle_until)
        ):  # nothing to do: only the clock moves on, as ``DecisionPoints.crossed`` moves it
            if event_ts > (self.points.last_ts or event_ts):
                self.points.last_ts = event_ts
            return out
        if self.pending and event_ts >= min(p[1] for p in self.pending) + WINDOW_S:
            self.close_windows(event_ts, out, population)
        tz = profile.get("tz") or "UTC"
        last = self.points.last_ts
        for decided_at in self.points.crossed(event_ts, tz, profile.get("decision_times") or ()):
            self.decide(decided_at, now, tz, situation(decided_at), out, population)
        bout_s = self.policy.sedentary_min * 60.0  # a bout long enough after ``last``, maybe
        if still_since is not None and last is not None and last < still_since + bout_s:
            self._sedentary_point(still_since, last, event_ts, now, tz, situation, out,
                                  population, profile.get("decision_times") or ())  # fmt: skip
        oldest = min(p[1] for p in self.pending) if self.pending else event_ts
        self.log.prune(min(event_ts, oldest) - WINDOW_S)  # what no reward window needs
        self.idle = (self._idle_until(event_ts, still_since), still_since, profile)
        return out

    def _idle_until(self, event_ts: float, still_since: float | None) -> float:
        """The event time before which no step can do anything: the next decision instant,
        the first reward window to close, the moment the current still bout (if it does not
        end before) reaches ``sedentary_min``, and at most ``IDLE_MAX_S`` on (the step log is
        pruned then). Skipping the steps before it took the suggestions' cost on the hot path
        per reading from 6.0 to 4.5 % (``vigilstream bench``, on and off interleaved)."""
        wake = min(self.points.next_instant(), event_ts + IDLE_MAX_S)
        if self.pending:
            wake = min(wake, min(p[1] for p in self.pending) + WINDOW_S)
        if still_since is not None and self._sitting(still_since) > event_ts:
            wake = min(wake, self._sitting(still_since))  # (one reached already was decided)
        return wake

    def _sitting(self, still_since: float | None) -> float:
        """The decision instant of a still bout (``_sedentary_point``): ``sedentary_min``
        after it began, on the minute."""
        t = (still_since or 0.0) + self.policy.sedentary_min * 60.0
        return t - t % 60.0

    def _sedentary_point(self, still_since: float, last: float, event_ts: float, now: float,
                         tz: str, situation: Callable[[float], Situation], out: Suggestions,
                         population: PopulationPrior | None,
                         times: list[str] | tuple[str, ...]) -> None:  # fmt: skip
        """An event-triggered decision point: the moment the patient has been still for
        ``sedentary_min`` (once per bout, not within ``trigger_gap_s`` of another decision;
        cf. the anti-sedentary decision points of HeartSteps V2, Spruijt-Metz D et al.,
        Transl Behav Med 2022;12:1-12)."""
        t = self._sitting(still_since)  # on the minute, like the scheduled decisions
        if not last < t <= event_ts or self.bout == still_since:
            return
        if t - self.last_decided < self.policy.trigger_gap_s:
            return
        s = situation(t)
        if s.asleep or s.quiet_hours or s.sedentary_min < self.policy.sedentary_min:
            return  # not a sedentary bout while awake: no decision point
        self.bout = still_since
        self.decide(t, now, tz, s, out, population, trigger="sedentary", times=times)

    def goal_of_day(self, day: int, recent_days: Callable[[], list[tuple[int, int]]],
                    clinician_cap: int | None) -> int | None:  # fmt: skip
        """The step goal of local day ``day``: fixed for the day once set, and at most 10 %
        above the previous day's goal (``goals.next_goal``). ``recent_days`` gives the days
        before it (steps, wear minutes), asked only when the day has no goal yet."""
        known_day, known = self.goal
        if known_day == day:
            return known
        goal = next_goal(recent_days(), known, clinician_cap)
        if known_day is None or day > known_day:
            self.goal = [day, goal]
        return goal

    def decide(self, t: float, now: float, tz: str, s: Situation, out: Suggestions,
               population: PopulationPrior | None = None, trigger: str = "scheduled",
               times: list[str] | tuple[str, ...] = ()) -> None:  # fmt: skip
        """One decision at event time ``t`` (processing time ``now``) in situation ``s``.

        A ``sedentary`` trigger offers only a break from sitting (or nothing), as HeartSteps V2
        kept its anti-sedentary messages apart from its walking suggestions, and sends only
        from the part of the daily cap that the scheduled points (``times``) still to come
        today cannot use: the scheduled points are the programme's plan, a sitting nudge must
        not crowd them out (``reserved``)."""
        self.last_decided = max(self.last_decided, t)
        local = datetime.fromtimestamp(t, ZoneInfo(tz))
        block = block_of(local.hour + local.minute / 60)
        context: dict[str, Any] = {
            "block": block,
            "trigger": trigger,
            "local_time": f"{local.hour:02d}:{local.minute:02d}",
            "sedentary_min": s.sedentary_min,
            "steps_today": s.steps_today,
            "sleep_last_night_min": s.clinical.sleep_last_night_min,
        }
        unavailable = ("asleep" if s.asleep else "quiet_hours" if s.quiet_hours
                       else "active" if s.active else None)  # fmt: skip
        if unavailable is not None:
            out.decisions.append(self._decision(t, "none", 1.0, False, unavailable, context))
            return
        refused = refusals(s.clinical, self.policy.safety)
        rested = any(kind == "rest" and datetime.fromtimestamp(at, local.tzinfo).date()
                     == local.date() for _, kind, at, _ in self.recent)  # fmt: skip
        eligible = self._eligible(refused, block, s, trigger, rested)
        context_key = "sitting" if trigger == "sedentary" else block  # see bandit.BLOCKS
        choice = self.bandit.choose(
            eligible,
            context_key,
            seed=f"{self.patient_id}|{t:.3f}",
            prior=population,
        )
        context.update(refusals=refused, propensities=choice.propensities)
        day = local.date().isoformat()
        suppressed = refused[0] if refused else None
        sent = choice.arm != "none"
        if sent and now - t > self.policy.stale_after_s:
            sent, suppressed = False, "stale"
        elif sent and self.sent_by_day.get(day, 0) >= self.daily_cap():
            sent, suppressed = False, "daily_cap"
        elif (sent and trigger == "sedentary" and self.sent_by_day.get(day, 0)
              + len(self.points.later_today(t, tz, times)) >= self.daily_cap()):  # fmt: skip
            sent, suppressed = False, "reserved"
        decision = self._decision(t, choice.arm, choice.propensity, sent, suppressed, context)
        out.decisions.append(decision)
        if sent:
            self.sent_by_day = {day: self.sent_by_day.get(day, 0) + 1}
            out.sent.append(self._suggestion(decision, s))
            self.recent = [*self.recent, [decision["decision_id"], choice.arm, t, None]][-RECENT:]
        # What the patient received is what the reward teaches: a suppressed send is "none".
        self.pending.append([decision["decision_id"], self._window_start(t, now),
                             choice.arm if sent else "none", context_key])  # fmt: skip

    def _window_start(self, t: float, now: float) -> float:
        """Where a decision's reward window starts: when it reached the patient. A decision
        at event time ``t`` is made when data of ``t`` arrive (processing time ``now``); a
        watch that syncs a quarter of an hour late gets its 08:30 prompt at 08:45, and its
        reward counts the 30 minutes after that (on the patient's own clock, which the
        watch's event time follows), not the minutes before they read it — on simulated
        cohorts a followed morning walk fell 59 % outside a window from ``t``. A decision on
        data older than ``stale_after_s`` reached nobody: its window is its own time."""
        return now if 0.0 < now - t <= self.policy.stale_after_s else t

    def daily_cap(self) -> int:
        """The daily cap, one lower while suggestions keep being ignored (habituation)."""
        cap = self.policy.daily_cap
        return max(1, cap - 1) if self.ignored >= self.policy.ignored_limit else cap

    def _eligible(self, refused: list[str], block: str, s: Situation, trigger: str,
                  rested: bool) -> list[str]:  # fmt: skip
        """The arms a decision may choose. When the gate refuses exertion, ``rest`` — once a
        local day (``rested``: sent already today): advice to take it easy is given, not
        repeated as a nudge; every message received adds to the patient's burden."""
        if refused:
            return ["none"] if trigger == "sedentary" or rested else ["rest", "none"]
        arms = [] if trigger == "sedentary" else ["walk"]
        if s.sedentary_min >= self.policy.sedentary_min:
            arms.append("break_sedentary")
        sleep = s.clinical.sleep_last_night_min
        if (
            trigger == "scheduled"
            and block == "evening"
            and sleep is not None
            and sleep < self.policy.short_sleep_min
        ):
            arms.append("sleep_routine")
        wanted = [a for a in arms if self.not_for_me.get(a, 0) < self.policy.not_for_me_limit]
        return [*wanted, "none"]

    def feedback(self, suggestion_id: str, response: str) -> bool:
        """The patient's answer to a sent suggestion; False when it is not one of the recent.

        >>> s = Suggester("p-1"); s.recent = [["d-1", "walk", 0.0, None]]
        >>> s.feedback("d-1", "not_for_me"), s.feedback("d-1", "not_for_me"), s.not_for_me
        (True, True, {'walk': 2})
        """
        arm = next((r[1] for r in self.recent if r[0] == suggestion_id), None)
        if arm is None:
            return False
        if response == "not_for_me":
            self.not_for_me[arm] = self.not_for_me.get(arm, 0) + 1
        self.ignored = 0 if response == "done" else self.ignored + (response == "not_now")
        return True

    def _decision(self, t: float, arm: str, propensity: float, sent: bool,
                  suppressed: str | None, context: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        return {"decision_id": decision_id(self.patient_id, t), "patient_id": self.patient_id,
                "decided_at": _iso(t), "arm": arm, "propensity": round(propensity, 4),
                "sent": sent, "suppressed": suppressed, "context": context}  # fmt: skip

    def _suggestion(self, decision: dict[str, Any], s: Situation) -> dict[str, Any]:
        arm, minutes = decision["arm"], self.policy.walk_minutes
        target = s.target or ExerciseTarget(None, (11, 13), "no target yet")
        zone = (f"keeping your heart rate between {target.hr_zone_bpm[0]} and "
                f"{target.hr_zone_bpm[1]} bpm" if target.hr_zone_bpm
                else "at a pace that feels fairly light to somewhat hard")  # fmt: skip
        goal = s.step_goal
        progress = f" You have {s.steps_today} of today's {goal} steps." if goal else ""
        texts = {
            "walk": f"Time for a {minutes}-minute walk, {zone}.{progress}",
            "break_sedentary": f"You have been sitting for {s.sedentary_min:.0f} minutes: "
                               f"stand up and walk for a few minutes.{progress}",
            "rest": "Take it easy today: rest, drink water, and let your care team know if you "
                    "feel unwell.",
            "sleep_routine": "Your nights have been short: wind down now, screens off, and aim "
                             "for bed at your usual time.",
        }  # fmt: skip
        rationale = (f"{arm} chosen by Thompson sampling (p={decision['propensity']}); "
                     f"{target.basis}; step goal {goal}; safety gate: "
                     f"{', '.join(decision['context']['refusals']) or 'clear'}")  # fmt: skip
        steps = None if arm in ("rest", "sleep_routine") else (goal or None)
        return {
            "suggestion_id": decision["decision_id"], "patient_id": self.patient_id,
            "kind": arm, "text": texts[arm],
            "target": {"hr_zone_bpm": list(target.hr_zone_bpm) if target.hr_zone_bpm else None,
                       "rpe": list(target.rpe) if target.rpe else None,
                       "steps": steps, "minutes": minutes if arm in EXERTION else None},
            "rationale": rationale,
            "policy": {"arm": arm, "propensity": decision["propensity"],
                       "version": self.policy.version},
            "decided_at": decision["decided_at"],
        }  # fmt: skip

    def close_windows(self, event_ts: float, out: Suggestions,
                      population: PopulationPrior | None = None) -> None:  # fmt: skip
        """Learn from the reward windows that event time ``event_ts`` closed."""
        still = []
        for entry in self.pending:
            did, start, arm, block = entry
            if event_ts < start + WINDOW_S:
                still.append(entry)
                continue
            value, before, after = reward(self.log, start)
            if population is not None and isinstance(self.bandit, SuggestionBandit):
                # The bandit learns the reward less what nothing would have got (the
                # population's baseline; a control variate, see ``population``).
                effect = value - population.expected(block, before)
                self.bandit.learn(arm, block, effect)
                population.learn(arm, block, effect, patient=self.bandit.arm_mean(arm))
                if arm == "none":
                    population.learn_baseline(block, before, after)
            else:
                self.bandit.learn(arm, block, value)
            for item in self.recent:
                if item[0] == did:
                    item[3] = round(value, 1)
                    self.ignored = self.ignored + 1 if value <= 0 else 0
            out.outcomes.append({"decision_id": did, "patient_id": self.patient_id,
                                 "reward": round(value, 1), "steps_before": round(before),
                                 "steps_after": round(after),
                                 "window_start": _iso(start)})  # fmt: skip
        self.pending = still

    def to_dict(self) -> dict[str, Any]:
        return {"bandit": self.bandit.to_dict(), "points": self.points.to_dict(),
                "log": self.log.to_dict(), "pending": self.pending,
                "sent": self.sent_by_day, "recent": self.recent,
                "nfm": self.not_for_me, "ignored": self.ignored, "goal": self.goal,
                "bout": self.bout, "last": self.last_decided}  # fmt: skip

    def load(self, data: dict[str, Any]) -> None:
        self.bandit.load(data["bandit"])
        self.points.load(data["points"])
        self.log.load(data["log"])
        self.pending = [list(p) for p in data["pending"]]
        self.sent_by_day = dict(data["sent"])
        self.recent = [list(r) for r in data.get("recent", [])]
        self.not_for_me = dict(data.get("nfm", {}))
        self.ignored = data.get("ignored", 0)
        self.goal = list(data.get("goal", [None, None]))
        self.bout = data.get("bout")
        self.last_decided = data.get("last", -1e18)
        self.idle = (-math.inf, None, None)

    def view(self) -> list[dict[str, Any]]:
        """Recent suggestions with their reward once known, newest first (the patient API)."""
        return [{"suggestion_id": sid, "kind": kind, "decided_at": _iso(t), "reward": value}
                for sid, kind, t, value in reversed(self.recent)]  # fmt: skip
