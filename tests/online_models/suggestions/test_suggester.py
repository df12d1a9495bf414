"""One patient's suggestions end to end in the pure core: decision points, the gate, the cap,
staleness, reward windows, and messages that match the contract's schemas."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from online_models.suggestions.bandit import FixedArm
from online_models.suggestions.decisions import DecisionPoints
from online_models.suggestions.safety import ClinicalState
from online_models.suggestions.suggester import Situation, Suggester, Suggestions
from online_models.suggestions.zones import target
from vigilstream import messages

TZ = "Europe/Paris"
DAY0 = datetime(2026, 11, 27, 6, 0, tzinfo=ZoneInfo(TZ)).timestamp()
PROFILE = {"age": 64, "tz": TZ}


def well(t: float) -> Situation:
    return Situation(clinical=ClinicalState(news2_total=0, sleep_last_night_min=420),
                     sedentary_min=75, steps_today=2100, step_goal=5300,
                     target=target(PROFILE, 66.0))  # fmt: skip


def steps_of(k: int) -> int:
    """Steps of the ``k``-th 5-minute block of the day ``day`` feeds."""
    return 40 + (k % 6) * 30


def day(suggester: Suggester, situation=well, now_lag: float = 5.0, days: int = 1,
        after_days: int = 0) -> dict:  # fmt: skip
    """Feed days of 5-minute step counts; processing time ``now_lag`` behind event time."""
    out = {"decisions": [], "sent": [], "outcomes": []}
    for k in range(days * 24 * 12):
        ts = DAY0 + after_days * 86400 + k * 300
        suggester.note_steps(steps_of(k), ts, ts + 300)
        result = suggester.step(ts + 300, ts + 300 + now_lag, PROFILE, situation)
        for name in out:
            out[name] += getattr(result, name)
    return out


def test_five_decisions_a_day_at_most_three_sent_and_every_window_closes() -> None:
    out = day(Suggester("p-1"))
    local = [datetime.fromisoformat(d["decided_at"]).astimezone(ZoneInfo(TZ)).strftime("%H:%M")
             for d in out["decisions"]]  # fmt: skip
    assert local == ["08:30", "12:00", "15:00", "18:00", "20:30"]
    assert len(out["sent"]) <= 3
    assert {d["suppressed"] for d in out["decisions"] if not d["sent"] and d["arm"] != "none"} <= {
        "daily_cap"}  # fmt: skip
    assert len(out["outcomes"]) == 5  # every decision's window closed 30 minutes later
    for d in out["decisions"]:
        messages.validate("suggestion_decision", d)
    for s in out["sent"]:
        messages.validate("suggestion", s)
        assert s["kind"] in ("walk", "break_sedentary")
        assert "resting 66 bpm (measured)" in s["rationale"]
    for o in out["outcomes"]:
        messages.validate("suggestion_outcome", o)


def test_the_gate_allows_only_rest_or_nothing_and_says_why() -> None:
    def feverish(t: float) -> Situation:
        return Situation(clinical=ClinicalState(body_temperature=38.6), sedentary_min=90)

    suggester = Suggester("p-2")
    out = day(suggester, feverish, days=3)
    assert {d["arm"] for d in out["decisions"]} <= {"rest", "none"}
    assert all(d["suppressed"] == "fever" for d in out["decisions"])
    assert all(s["kind"] == "rest" for s in out["sent"])
    # Advice to rest is given once a local day, not repeated: after it, only nothing is offered.
    days = [datetime.fromisoformat(s["decided_at"]).astimezone(ZoneInfo(TZ)).date()
            for s in out["sent"]]  # fmt: skip
    assert len(days) == len(set(days)) >= 1
    after = [d for d in out["decisions"] if any(
        s["decided_at"] < d["decided_at"] and s["decided_at"][:10] == d["decided_at"][:10]
        for s in out["sent"])]  # fmt: skip
    assert after and all(list(d["context"]["propensities"]) == ["none"] for d in after)


def test_no_decision_while_asleep_or_active_and_none_from_old_data() -> None:
    def asleep(t: float) -> Situation:
        return Situation(asleep=True)

    out = day(Suggester("p-3"), asleep)
    assert {(d["arm"], d["sent"], d["suppressed"]) for d in out["decisions"]} == {
        ("none", False, "asleep")}  # fmt: skip
    old = day(Suggester("p-4"), now_lag=6 * 3600)  # a backlog replayed hours later
    assert old["sent"] == []
    assert {d["suppressed"] for d in old["decisions"] if d["arm"] != "none"} == {"stale"}


def test_a_replay_decides_identically_and_a_checkpoint_continues_the_same() -> None:
    first, second = day(Suggester("p-5")), day(Suggester("p-5"))
    assert first == second
    live = Suggester("p-6")
    day(live)
    copy = Suggester("p-6")
    copy.load(live.to_dict())
    assert copy.to_dict() == live.to_dict()


def test_the_daily_cap_holds_and_is_logged() -> None:
    from online_models.suggestions.suggester import SuggesterPolicy

    out = day(Suggester("p-7", SuggesterPolicy(daily_cap=1)), days=2)
    by_day: dict[str, int] = {}
    for s in out["sent"]:
        key = datetime.fromisoformat(s["decided_at"]).astimezone(ZoneInfo(TZ)).date().isoformat()
        by_day[key] = by_day.get(key, 0) + 1
    assert by_day and max(by_day.values()) == 1
    chosen = [d for d in out["decisions"] if d["arm"] != "none"]
    capped = [d for d in chosen if d["suppressed"] == "daily_cap"]
    assert len(capped) == len(chosen) - len(out["sent"]) > 0


def test_not_for_me_twice_removes_the_arm_and_ignores_lower_the_cap() -> None:
    patient = Suggester("p-8")
    first = day(patient)
    assert first["sent"], "the first day sent something to answer"
    kind = first["sent"][0]["kind"]
    for _ in range(2):
        assert patient.feedback(first["sent"][0]["suggestion_id"], "not_for_me")
    later = day(patient, days=2, after_days=1)
    assert kind not in {d["arm"] for d in later["decisions"]}  # never offered again
    assert patient.feedback("d-unknown", "done") is False
    patient.ignored = patient.policy.ignored_limit
    assert patient.daily_cap() == patient.policy.daily_cap - 1


def test_an_hour_of_sitting_is_a_decision_point_once_per_bout() -> None:
    s = Suggester("p-sit")
    still_since = DAY0 + 4 * 3600  # 10:00 local: sitting from then on
    decided, triggered = [], []

    def sitting(t: float) -> Situation:
        return Situation(clinical=ClinicalState(news2_total=0),
                         sedentary_min=max(0.0, (t - still_since) / 60))  # fmt: skip

    for k in range(4 * 12):  # 10:00-14:00 in 5-minute events
        ts = still_since + k * 300
        out = s.step(ts, ts + 5, PROFILE, sitting, still_since=still_since)
        decided += [datetime.fromisoformat(d["decided_at"]).astimezone(ZoneInfo(TZ))
                    .strftime("%H:%M") for d in out.decisions]  # fmt: skip
        triggered += [d for d in out.decisions if d["context"]["trigger"] == "sedentary"]
    # 11:00 (an hour of sitting) and the scheduled 12:00 would be an hour apart: both; the bout
    # triggers once however long it lasts.
    assert decided == ["11:00", "12:00"]
    (sat,) = triggered  # the 11:00 one, offering only a break from sitting or nothing
    assert set(sat["context"]["propensities"]) == {"break_sedentary", "none"}
    asleep = Suggester("p-night")
    asleep.step(still_since, still_since, PROFILE, lambda t: Situation(asleep=True),
                still_since=still_since)  # fmt: skip
    out = asleep.step(still_since + 3900, still_since + 3900, PROFILE,
                      lambda t: Situation(asleep=True, sedentary_min=65),
                      still_since=still_since)  # fmt: skip
    assert [d["suppressed"] for d in out.decisions] == []  # no sedentary point asleep


def test_a_sitting_nudge_never_crowds_out_the_scheduled_points_still_to_come() -> None:
    def sitting_since(since: float):
        return lambda t: Situation(clinical=ClinicalState(news2_total=0),
                                   sedentary_min=max(0.0, (t - since) / 60))  # fmt: skip

    morning = Suggester("p-am", chooser=FixedArm("break_sedentary"))
    since = DAY0 + 4 * 3600  # 10:00: four scheduled points (12:00 ... 20:30) still to come
    morning.step(since, since, PROFILE, sitting_since(since), still_since=since)
    out = morning.step(since + 3700, since + 3700, PROFILE, sitting_since(since),
                       still_since=since)  # fmt: skip
    (decision,) = out.decisions
    assert (decision["arm"], decision["sent"], decision["suppressed"]) == (
        "break_sedentary", False, "reserved")  # fmt: skip
    evening = Suggester("p-pm", chooser=FixedArm("break_sedentary"))
    since = DAY0 + 14.75 * 3600  # 20:45: no scheduled point left today
    evening.step(since, since, PROFILE, sitting_since(since), still_since=since)
    out = evening.step(since + 3700, since + 3700, PROFILE, sitting_since(since),
                       still_since=since)  # fmt: skip
    assert [s["kind"] for s in out.sent] == ["break_sedentary"]


def test_the_bandit_learns_the_reward_less_what_nothing_would_have_got() -> None:
    """The outcome message carries the contract's reward (after minus before); the bandit
    learns that less the population's baseline for the steps before, which the same patient
    and context would have got with nothing sent."""
    from online_models.suggestions.population import PopulationPrior

    population = PopulationPrior()
    for b in range(0, 1000, 10):  # people after a quiet half hour walk more than before it
        population.learn_baseline("morning", float(b), 300.0)
    suggester = Suggester("p-1", chooser=None)
    suggester.note_steps(100.0, DAY0, DAY0 + 1800)  # the half hour before 06:30
    suggester.note_steps(500.0, DAY0 + 1800, DAY0 + 3600)  # and after it
    suggester.pending = [["d-1", DAY0 + 1800, "walk", "morning"]]
    out = Suggestions()
    suggester.close_windows(DAY0 + 3600, out, population)
    assert out.outcomes[0]["reward"] == 400.0  # 500 - 100
    expected = population.expected("morning", 100.0)
    assert expected == pytest.approx(200.0)  # 300 after, 100 before
    assert suggester.bandit.arm_mean("walk") == (1, pytest.approx(400.0 - expected))


def test_skipping_the_steps_with_nothing_to_do_changes_no_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Suggester.step`` returns at once before its next decision instant, reward window or
    sitting point (``Suggester._idle_until``), which is most events. Through simulated
    patients' days (phone syncs that bring step counts late, sleep, sitting bouts, walks) it
    makes exactly the decisions, at the same instants, of a suggester that never skips."""
    from vigilstream.evaluation.replay import replay
    from vigilstream.simulation import simulate

    cohort = simulate(9, 8, 12, progress=False)

    def decisions(skipping: bool) -> tuple[list[tuple[str, float, str, str]], int]:
        made: list[tuple[str, float, str, str]] = []
        crossed = [0]
        decide, cross = Suggester.decide, DecisionPoints.crossed

        def logged(self: Suggester, t: float, *args, **kwargs) -> None:
            decide(self, t, *args, **kwargs)
            made.append((self.patient_id, t, kwargs.get("trigger", "scheduled"),
                         args[3].decisions[-1]["arm"]))  # fmt: skip

        def counted(self: DecisionPoints, *args, **kwargs) -> list[float]:
            crossed[0] += 1
            return cross(self, *args, **kwargs)

        with monkeypatch.context() as m:
            m.setattr(Suggester, "decide", logged)
            m.setattr(DecisionPoints, "crossed", counted)
            if not skipping:
                m.setattr(Suggester, "_idle_until", lambda self, event_ts, still: -math.inf)
            replay(cohort, None, False)
        return made, crossed[0]

    skipped, looked = decisions(skipping=True)
    every, looked_every = decisions(skipping=False)
    assert skipped == every
    assert {trigger for _, _, trigger, _ in every} == {"scheduled", "sedentary"}
    assert looked < looked_every / 2  # most events had nothing to do


@pytest.mark.parametrize("lag_min", [15, 90])
def test_the_reward_window_starts_when_the_suggestion_reached_the_patient(lag_min: int) -> None:
    """A phone that syncs late makes the 08:30 decision when data of 08:30 arrive; its reward
    is the half hour after the patient got it (a walk at 08:50 counts) against the half hour
    before. A decision on data more than an hour old reached nobody and keeps its own time."""
    lag = lag_min * 60.0
    suggester = Suggester("p-1", chooser=FixedArm("walk"))
    out = day(suggester, now_lag=lag)
    first = out["decisions"][0]
    decided = datetime.fromisoformat(first["decided_at"]).timestamp()
    outcome = next(o for o in out["outcomes"] if o["decision_id"] == first["decision_id"])
    start = datetime.fromisoformat(outcome["window_start"]).timestamp()
    delivered = lag_min <= 60
    assert first["sent"] is delivered
    assert start - decided == pytest.approx(lag if delivered else 0.0, abs=300)
    log = Suggester("p-1").log  # the day's steps again, to recount the window by hand
    for k in range(24 * 12):
        ts = DAY0 + k * 300
        log.add(steps_of(k), ts, ts + 300)
    after, before = log.between(start, start + 1800), log.between(start - 1800, start)
    assert outcome["reward"] == pytest.approx(after - before)
    assert (outcome["steps_before"], outcome["steps_after"]) == (round(before), round(after))
