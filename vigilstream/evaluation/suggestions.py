"""The suggestions trial of ``vigilstream evaluate``: the learned policy against comparison
policies on the same cohort, in parallel worlds.

The replay runs every patient's state once, exactly as the worker does; the patient's own
suggester (``state.suggester``, reached through ``apply_event``) is the **learned** policy.
Beside it, each comparison policy — uniform random, each fixed arm, and sending nothing — has
a shadow suggester per patient that decides at the same decision points, in the same
situation (the same safety gate, daily cap and staleness rule), with a different chooser.

Every world sees the cohort's own steps plus the extra steps its suggestions caused
(``vigilstream.simulation.response``); extra steps count only once the device delivers data
of that time (a response while the watch is off is never measured, as in life). The reward of
a decision is what the product computes — steps in the 30 minutes after minus the 30 before
— from that world's steps. Because the natural steps and the patients' random numbers are
shared, the worlds differ only by what their policy chose: a paired comparison.

Beside the policies, an **oracle** (``Oracle``) shows how much there is to learn: it knows each
simulated patient's chance of following each arm at each moment, which no deployed policy can.

Safety counts exertion suggestions sent while the patient was truly in a deterioration
episode (ground truth, onset to end) or had an open clinical alert.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from alerts.engine import AlertEngine
from online_models.state import PatientState
from online_models.suggestions.bandit import (
    Choice,
    Chooser,
    FixedArm,
    Prior,
    UniformRandom,
    block_of,
)
from online_models.suggestions.situation import situation
from online_models.suggestions.suggester import (
    EXERTION,
    Situation,
    Suggester,
    SuggesterPolicy,
    Suggestions,
)
from vigilstream.simulation.recording import Cohort
from vigilstream.simulation.response import PatientResponse

__all__ = ["POLICIES", "SuggestionTrial"]

FIXED_ARMS = ("walk", "break_sedentary", "rest", "sleep_routine", "none")
POLICIES = ("learned", "uniform_random", *FIXED_ARMS, "oracle")
# The oracle sends nothing when its best arm would add fewer steps than this on average: every
# message received lowers the chance of following the next day's (``response.FATIGUE``). Of 0,
# 50 and 100 on dev seeds 3 and 5 (100 x 28 d), 50 did best on both.
ORACLE_MIN_STEPS = 50.0
MIN_DAYS_FOR_ZONES = 3  # a patient with this many days of data should have a measured zone
# How far a vital sign must have moved for an episode to be manifest: about one NEWS2 band.
NOTICEABLE = {"hr": 10.0, "rr": 3.0, "spo2": 2.0, "temp": 0.5, "sbp": 15.0}


class Oracle(UniformRandom):
    """Reference, not a policy anyone can run: it knows the simulated patient's responsiveness
    (``PatientResponse.expected_steps``) and sends the exertion arm expected to add the most
    steps, or nothing below ``ORACLE_MIN_STEPS``. Its effect approximates what a policy that
    had learned each patient perfectly could reach (it looks at each decision alone, not at
    what a message does to the chances of the next day's)."""

    def __init__(self, response: PatientResponse, local_block: Callable[[float], str],
                 walk_minutes: float) -> None:  # fmt: skip
        self.response, self.local_block, self.walk_minutes = response, local_block, walk_minutes

    def choose(self, eligible: list[str], block: str, seed: str,
               prior: Prior | None = None) -> Choice:  # fmt: skip
        t = float(seed.rsplit("|", 1)[1])  # the suggester's seed: "<patient>|<event time>"
        best, most = "none", ORACLE_MIN_STEPS
        for arm in eligible:
            steps = self.response.expected_steps(arm, self.local_block(t), t, self.walk_minutes)
            if steps > most:
                best, most = arm, steps
        return Choice(best, 1.0, {a: float(a == best) for a in eligible})


@dataclass
class World:
    """One policy's world: its suggesters (the patients' own for ``learned``), the patients'
    responses to it, and what happened."""

    name: str
    shadows: dict[str, Suggester] = field(default_factory=dict)
    responses: dict[str, PatientResponse] = field(default_factory=dict)
    uncredited: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    followed: int = 0
    extra_steps: float = 0.0
    extra_by_day: Counter[tuple[str, int]] = field(default_factory=Counter)
    unsafe: int = 0
    sent_by_day: Counter[tuple[str, int]] = field(default_factory=Counter)
    unsafe_phase: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)

    def suggester(self, pid: str, state: PatientState) -> Suggester:
        if self.name == "learned":
            return state.suggester
        shadow = self.shadows.get(pid)
        if shadow is None:
            shadow = self.shadows[pid] = Suggester(pid, chooser=self._chooser(pid, state))
        return shadow

    def _chooser(self, pid: str, state: PatientState) -> Chooser:
        if self.name == "uniform_random":
            return UniformRandom()
        if self.name == "oracle":
            minutes = SuggesterPolicy().walk_minutes
            return Oracle(self.responses[pid], lambda t: _local_block(state, t), minutes)
        return FixedArm(self.name)


@dataclass
class SuggestionTrial:
    """Runs beside ``replay``: ``before`` and ``after`` each ``apply_event`` of a patient."""

    cohort: Cohort
    worlds: list[World] = field(default_factory=lambda: [World(n) for n in POLICIES])
    episodes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    goals: dict[tuple[str, int], int] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # pid -> latest target basis
    refused: Counter[str] = field(default_factory=Counter)  # the gate on well patients
    episode_of: dict[str, list[Any]] = field(default_factory=dict)
    seconds: float = 0.0  # spent in the trial (the replay reports core speed without it)

    def __post_init__(self) -> None:
        for e in self.cohort.episodes:
            self.episodes.setdefault(e.patient_id, []).append((e.onset, e.end))
            self.episode_of.setdefault(e.patient_id, []).append(e)
        patients = {p.patient_id: p for p in self.cohort.patients}
        for world in self.worlds:
            world.responses = {
                pid: PatientResponse.of(self.cohort.seed, p, self.cohort.start)
                for pid, p in patients.items()
            }

    def ill(self, pid: str, *times: float) -> bool:
        return any(a <= t <= b for a, b in self.episodes.get(pid, ()) for t in times)

    def _phase(self, pid: str, t: float) -> str:
        """Where in a true episode ``t`` falls: ``subclinical`` while no vital sign has moved
        by a clinically noticeable amount yet (``NOTICEABLE``), ``manifest`` after, up to the
        critical point, then ``recovery``; ``open_alert`` outside any episode."""
        for e in self.episode_of.get(pid, ()):
            if e.onset <= t <= e.end:
                if t > e.critical:
                    return "recovery"
                level = float(e.level(np.array([t]))[0])
                moved = any(abs(e.effects().get(v, 0.0)) * level >= size
                            for v, size in NOTICEABLE.items())  # fmt: skip
                return "manifest" if moved else "subclinical"
        return "open_alert"

    def before(self, pid: str, readings: Any, state: PatientState) -> None:
        """Credit the extra steps of a world's responses once data of their time arrive."""
        started = time.perf_counter()
        for world in self.worlds:
            blocks = world.uncredited.get(pid)
            if not blocks:
                continue
            times = [r["ts"] for r in readings]
            kept = []
            for a, b, steps in blocks:
                if any(a <= t < b for t in times):
                    world.suggester(pid, state).note_steps(steps, a, b)
                    world.extra_steps += steps
                    world.extra_by_day[pid, state.phenotype.day_index(a)] += steps
                else:
                    kept.append((a, b, steps))
            world.uncredited[pid] = kept
        self.seconds += time.perf_counter() - started

    def after(self, pid: str, readings: Any, state: PatientState, engine: AlertEngine,
              learned: Suggestions, now: float) -> None:  # fmt: skip
        """Mirror the event into the shadow worlds and let every world's patient respond."""
        started = time.perf_counter()
        event_ts = max(r["ts"] for r in readings)
        steps = [r for r in readings if r["signal"] == "steps"]
        made: dict[str, Suggestions] = {"learned": learned}
        decided = [(_epoch(d["decided_at"]), d["context"]["trigger"]) for d in learned.decisions]
        times = state.profile.get("decision_times") or ()
        status = engine.status()
        situations = {t: situation(state, status, t) for t, _ in decided}
        tz = state.profile.get("tz") or "UTC"
        for world in self.worlds[1:]:
            shadow, out = world.suggester(pid, state), Suggestions()
            for r in steps:
                shadow.note_steps(r["value"], r["ts"], r.get("end_ts"))
            shadow.close_windows(event_ts, out)
            for t, trigger in decided:
                shadow.decide(t, now, tz, situations[t], out, trigger=trigger, times=times)
            made[world.name] = out
        for t, s in situations.items():
            if s.step_goal is not None:
                self.goals[pid, state.phenotype.day_index(t)] = s.step_goal
            if s.target is not None:
                self.targets[pid] = s.target.basis
        for d in learned.decisions:
            refusals = d["context"].get("refusals")
            if refusals is not None and not self.ill(pid, _epoch(d["decided_at"])):
                self.refused["decisions_when_well"] += 1
                self.refused["refused_when_well"] += bool(refusals)
        for world in self.worlds:
            self._account(world, pid, state, engine, made[world.name], situations, now)
        self.seconds += time.perf_counter() - started

    def _account(self, world: World, pid: str, state: PatientState, engine: AlertEngine,
                 out: Suggestions, situations: dict[float, Situation],
                 now: float) -> None:  # fmt: skip
        world.rewards += [o["reward"] for o in out.outcomes]
        for suggestion in out.sent:
            t = _epoch(suggestion["decided_at"])
            arm = suggestion["kind"]
            world.sent[arm] += 1
            world.sent_by_day[pid, state.phenotype.day_index(t)] += 1
            ill = self.ill(pid, t, now)
            if arm in EXERTION and (ill or situations[t].clinical.open_clinical_alert):
                world.unsafe += 1
                world.unsafe_phase[self._phase(pid, max(t, now))] += 1
            response = world.responses[pid].respond(
                arm, _local_block(state, t), t, now, ill,
                suggestion["target"]["minutes"] or 0,
            )  # fmt: skip
            world.followed += response.followed
            world.uncredited.setdefault(pid, []).extend(response.blocks)
            if response.answer is not None:
                world.answers[response.answer] += 1
                if world.name == "learned":  # the patient's answer reaches their own policy
                    state.suggester.feedback(suggestion["suggestion_id"], response.answer)

    def result(self, states: dict[str, PatientState]) -> dict[str, Any]:
        """The suggestions section of the evaluation's result object."""
        patient_days = len(self.cohort.patients) * self.cohort.days
        policies = {}
        for world in self.worlds:
            attained = [
                (states[pid].phenotype.features_of_day(day).get("steps") or 0)
                + world.extra_by_day[pid, day]
                >= goal
                for (pid, day), goal in self.goals.items()
                if pid in states and states[pid].phenotype.features_of_day(day)
            ]
            sent = sum(world.sent.values())
            policies[world.name] = {
                "decisions": len(world.rewards),
                "mean_reward": _mean(world.rewards),
                "extra_steps_per_day": round(world.extra_steps / patient_days, 1),
                "sent_per_patient_day": round(sent / patient_days, 3),
                "max_sent_in_a_day": max(world.sent_by_day.values(), default=0),
                "sent_by_kind": dict(sorted(world.sent.items())),
                "followed_share": round(world.followed / sent, 3) if sent else None,
                "unsafe_exertion": world.unsafe,
                "unsafe_by_phase": dict(sorted(world.unsafe_phase.items())),
                "goal_attainment": round(sum(attained) / len(attained), 3) if attained else None,
                "answers": dict(sorted(world.answers.items())),
            }
        # The effect of a policy: its mean reward minus that of sending nothing at the same
        # decisions (the steps patients take anyway cancel; they are the same in every world).
        for row in policies.values():
            row["effect_vs_none"] = round(row["mean_reward"] - policies["none"]["mean_reward"], 1)
        learned = policies["learned"]["effect_vs_none"]
        uniform = policies["uniform_random"]["effect_vs_none"]
        fixed = {n: policies[n]["effect_vs_none"] for n in FIXED_ARMS}
        raw = policies["learned"]["mean_reward"], policies["uniform_random"]["mean_reward"]
        best_fixed = max(fixed, key=lambda n: fixed[n])
        well = max(1, self.refused["decisions_when_well"])
        refused_share = round(self.refused["refused_when_well"] / well, 3)
        return {
            "policies": policies,
            "learned_vs_uniform": round(learned / uniform, 2) if uniform > 0 else None,
            "learned_vs_uniform_raw": round(raw[0] / raw[1], 2) if raw[1] > 0 else None,
            "oracle_vs_uniform": (
                round(policies["oracle"]["effect_vs_none"] / uniform, 2) if uniform > 0 else None
            ),
            "best_fixed_arm": best_fixed,
            "learned_minus_best_fixed": round(learned - fixed[best_fixed], 1),
            "zones": self._zones(states),
            "gate_on_well_patients": {**self.refused, "refused_share": refused_share},
        }

    def _zones(self, states: dict[str, PatientState]) -> dict[str, int]:
        """Patients by the basis of their latest exercise target."""
        out: Counter[str] = Counter()
        for pid, basis in self.targets.items():
            data_days = len(states[pid].phenotype.days) if pid in states else 0
            kind = ("measured_hr_zone" if "(measured)" in basis else "rpe_by_medication"
                    if "not a guide" in basis else "rpe_not_measured_yet")  # fmt: skip
            out[kind] += 1
            if kind == "rpe_not_measured_yet" and data_days >= MIN_DAYS_FOR_ZONES:
                out["unmeasured_with_enough_data"] += 1
        return dict(sorted(out.items()))


def _local_block(state: PatientState, t: float) -> str:
    """The time-of-day block of ``t`` on the patient's local clock."""
    return block_of(state.phenotype.local(t) % 86400.0 / 3600.0)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
