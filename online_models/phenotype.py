"""Digital phenotype: daily behaviour and physiology features, streamed, trended 7 vs 28 days.

Per local day of the patient (profile ``tz``, default UTC) from the readings as they arrive, in
any order within the last 28 days:

- resting heart rate: mean of the 20 lowest heart rates while awake and not active (a robust
  low percentile; cf. the resting-HR definitions in Quer G et al., Nat Med 2021;27:73-77);
- HRV: mean RMSSD (device value, or computed from R-R intervals);
- steps; active minutes (cadence >= 100 steps/min, Tudor-Locke C et al., Br J Sports Med
  2018;52:776-788); sedentary bouts and sedentary minutes: 30 min to 4 h awake without a step
  block of at least 15 steps/min (cf. HeartSteps' anti-sedentary trigger, < 150 steps in 40
  min: Spruijt-Metz D et al., Transl Behav Med 2022;12:1-12); a longer gap is a night or a
  watch off the wrist, not a bout;
- sleep: minutes asleep, minutes in bed, efficiency (asleep / in bed), midpoint (circular mean
  of sleep-interval midpoints, local hours); a night counts on the day the patient woke up;
- wear: minutes within 5 minutes after any reading (wearables sample every 1-5 minutes);
  coverage = wear minutes / 1440.

Circadian rhythm from hourly step counts of the last 7 days (van Someren EJ et al.,
Chronobiol Int 1999;16:505-518): interdaily stability (IS), intradaily variability (IV) and
relative amplitude (RA = (M10 - L5) / (M10 + L5)).

Trends: the mean of the last 7 days minus the mean of the last 28 days, per feature. Volumes
of activity (steps, active minutes) grow with the time the device was worn, so their trends count
only valid days, with at least 10 hours of wear (Troiano RP et al., Med Sci Sports Exerc
2008;40:181-188); a day with the watch on the charger is not a day without steps.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from online_models.context import DAY_S

KEEP_DAYS = 28  # closed days kept besides the current one
# steps/min of moderate intensity (Tudor-Locke C et al., IJBNPA 2011;8:79)
MODERATE_CADENCE = 100.0
SEDENTARY_BOUT_S = 30 * 60.0
SEDENTARY_MAX_S = 4 * 3600.0  # a longer gap between movements is a night or the watch off
WEAR_MARK_MIN = 5  # a reading shows the device worn for this many minutes from it
MOVING_CADENCE = 15.0  # steps/min: a step block at least this brisk ends sedentary time
LOW_HR_N = 20
TREND_FEATURES = ("resting_hr", "hrv", "steps", "active_min", "sleep_min", "coverage")
VOLUME_FEATURES = frozenset({"steps", "active_min"})  # trended over valid days only
VALID_DAY_WEAR_MIN = 600  # minutes of wear that make a valid day (the 10-hour rule)
ASLEEP_STAGES = frozenset({"light", "deep", "rem", "asleep"})


@dataclass(frozen=True)
class PhenotypePolicy:
    """Hyperparameters of the digital phenotype (see the module doc)."""

    keep_days: int = KEEP_DAYS
    moderate_cadence: float = MODERATE_CADENCE
    sedentary_bout_s: float = SEDENTARY_BOUT_S
    low_hr_n: int = LOW_HR_N  # lowest resting heart rates kept per day for the resting HR


class Day:
    """Accumulators of one UTC day."""

    __slots__ = ("active_min", "bed_min", "hr_low", "hrv_n", "hrv_sum", "mid_cos", "mid_sin",
                 "sed_bouts", "sed_min", "sleep_min", "steps", "wear", "wear_min")  # fmt: skip

    def __init__(self) -> None:
        self.steps = 0
        self.active_min = 0.0
        self.sed_bouts = 0
        self.sed_min = 0.0
        self.hr_low: list[float] = []
        self.hrv_sum = 0.0
        self.hrv_n = 0
        self.sleep_min = 0.0
        self.bed_min = 0.0
        self.mid_sin = 0.0
        self.mid_cos = 0.0
        self.wear = 0  # bitmap of minutes with data; folded into wear_min when the day closes
        self.wear_min = 0

    def features(self) -> dict[str, float | None]:
        wear = self.wear_min or self.wear.bit_count()
        midpoint = None
        if self.mid_sin or self.mid_cos:
            midpoint = (math.degrees(math.atan2(self.mid_sin, self.mid_cos)) / 15.0) % 24.0
        return {
            "resting_hr": round(sum(self.hr_low) / len(self.hr_low), 1) if self.hr_low else None,
            "hrv": round(self.hrv_sum / self.hrv_n, 1) if self.hrv_n else None,
            "steps": self.steps,
            "active_min": round(self.active_min, 1),
            "sedentary_bouts": self.sed_bouts,
            "sedentary_min": round(self.sed_min, 1),
            "sleep_min": round(self.sleep_min, 1),
            "sleep_efficiency": round(self.sleep_min / self.bed_min, 3) if self.bed_min else None,
            "sleep_midpoint_h": round(midpoint, 2) if midpoint is not None else None,
            "wear_min": wear,
            "coverage": round(wear / 1440.0, 3),
        }

    def to_list(self) -> list[Any]:
        return [self.steps, round(self.active_min, 2), self.sed_bouts, round(self.sed_min, 2),
                [round(x, 1) for x in self.hr_low], round(self.hrv_sum, 2), self.hrv_n,
                round(self.sleep_min, 2), round(self.bed_min, 2), round(self.mid_sin, 4),
                round(self.mid_cos, 4), format(self.wear, "x") if self.wear else "",
                self.wear_min]  # fmt: skip

    @classmethod
    def from_list(cls, data: list[Any]) -> Day:
        day = cls()
        (day.steps, day.active_min, day.sed_bouts, day.sed_min, day.hr_low, day.hrv_sum,
         day.hrv_n, day.sleep_min, day.bed_min, day.mid_sin, day.mid_cos, wear,
         day.wear_min) = data  # fmt: skip
        day.wear = int(wear, 16) if wear else 0
        return day


class Phenotype:
    """Streaming daily features of one patient.

    >>> p = Phenotype()
    >>> for minute in range(60):
    ...     p.learn_one("steps", 110, ts=minute * 60.0, end_ts=minute * 60.0 + 60, context="active")
    >>> today = p.day_features(0.0)
    >>> today["steps"], today["active_min"], today["wear_min"]
    (6600, 60.0, 60)
    """

    def __init__(self, policy: PhenotypePolicy | None = None) -> None:
        self.policy = policy or PhenotypePolicy()
        self.days: dict[int, Day] = {}
        self.hourly_steps: dict[int, int] = {}  # epoch hour -> steps, last 7 days
        self.moved_at: float | None = None  # end of the latest movement (or of sleep)
        self.latest_day = 0
        self._trends: tuple[int, dict[str, dict[str, float | None]]] | None = None
        self.tz = "UTC"  # the patient's days are local days (profile ``tz``)
        self._offsets: dict[int, float] = {}  # epoch hour -> UTC offset there, in seconds
        self._rows: dict[int, bytes] = {}  # checkpoint JSON of days unchanged since made

    def local(self, ts: float) -> float:
        """``ts`` shifted by the patient's UTC offset at that moment, so that ``// DAY_S`` is
        the patient's local day (DST included).

        >>> p = Phenotype(); p.tz = "America/Los_Angeles"
        >>> evening = 1795744800.0                # 2026-11-27 04:00 UTC = 20:00 the 26th in LA
        >>> int(p.local(evening) // DAY_S) == int(evening // DAY_S) - 1
        True
        """
        if self.tz == "UTC":
            return ts
        hour = int(ts // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(ts, ZoneInfo(self.tz))
            offset = (moment.utcoffset() or timedelta()).total_seconds()
            if len(self._offsets) > 1000:
                self._offsets.clear()
            self._offsets[hour] = offset
        return ts + offset

    def day_index(self, ts: float) -> int:
        """The patient's local day of ``ts`` (days since the epoch)."""
        return int(self.local(ts) // DAY_S)

    def worn_share(self, start: float, end: float) -> float:
        """Share of the minutes in [start, end) with the device worn (days whose minute bitmap
        was already folded count as worn).

        >>> p = Phenotype()
        >>> for minute in range(0, 60, 5):
        ...     p.learn_one("heart_rate", 60, ts=minute * 60.0)
        >>> p.worn_share(0.0, 3600.0), p.worn_share(0.0, 7200.0)
        (1.0, 0.5)
        """
        minutes = worn = 0
        a, b = self.local(start), self.local(end)
        while a < b:  # day by day: the bits of [a, b) in each day's minute bitmap
            index = int(a // DAY_S)
            first = int((a % DAY_S) // 60)
            last = min(1440, first + math.ceil((b - a) / 60))
            span = last - first
            day = self.days.get(index)
            if day is not None and not day.wear and day.wear_min:
                worn += span  # a folded day: counted as worn
            elif day is not None:
                worn += ((day.wear >> first) & ((1 << span) - 1)).bit_count()
            minutes += span
            a = (index + 1) * DAY_S
        return worn / minutes if minutes else 0.0

    def features_of_day(self, index: int) -> dict[str, Any]:
        day = self.days.get(index)
        return day.features() if day is not None else {}

    def _day(self, local_ts: float) -> Day | None:
        index = int(local_ts // DAY_S)
        if index < self.latest_day - self.policy.keep_days:
            return None  # older than what we keep
        if index > self.latest_day:
            self.latest_day = index
            self._prune()
        if index < self.latest_day:
            self._trends = None  # a closed day changed
        self._rows.pop(index, None)  # every change of a day comes through here
        day = self.days.get(index)
        if day is None:
            day = self.days[index] = Day()
        return day

    def _prune(self) -> None:
        self._rows.clear()
        keep = self.policy.keep_days
        for index in [i for i in self.days if i < self.latest_day - keep]:
            del self.days[index]
        for index, day in self.days.items():
            if index < self.latest_day - 1 and day.wear:
                day.wear_min, day.wear = day.wear.bit_count(), 0  # close the day's bitmap
        oldest_hour = (self.latest_day - 7) * 24
        for hour in [h for h in self.hourly_steps if h < oldest_hour]:
            del self.hourly_steps[hour]

    def learn_one(
        self, signal: str, value: Any, ts: float, end_ts: float | None = None, context: str = "rest"
    ) -> None:
        """Fold one normalized reading (canonical unit) into the features."""
        local = self.local(ts)
        # A night counts on the day the patient woke up.
        day = self._day(self.local(end_ts) if signal == "sleep" and end_ts else local)
        if day is None:
            return
        if signal != "sleep" and (day.wear or not day.wear_min):
            # A reading shows the device worn over its interval, or 5 minutes from a sample.
            minute = int((local % DAY_S) // 60)
            span = round((end_ts - ts) / 60) if end_ts and end_ts > ts else WEAR_MARK_MIN
            width = span if span < 1440 - minute else 1440 - minute  # not past midnight
            day.wear |= ((1 << (width if width > 1 else 1)) - 1) << minute
        if signal == "heart_rate" and context == "rest":
            if len(day.hr_low) < self.policy.low_hr_n or value < day.hr_low[-1]:
                bisect.insort(day.hr_low, float(value))
                del day.hr_low[self.policy.low_hr_n :]
        elif signal == "hrv_rmssd":
            day.hrv_sum += value
            day.hrv_n += 1
        elif signal == "steps":
            self._steps(day, int(value), ts, end_ts if end_ts is not None else ts, local)
        elif signal == "sleep":
            self._sleep(day, value, ts, end_ts if end_ts is not None else ts)

    def _steps(self, day: Day, steps: int, ts: float, end_ts: float, local: float) -> None:
        minutes = max((end_ts - ts) / 60.0, 1.0)
        day.steps += steps
        if steps / minutes >= self.policy.moderate_cadence:
            day.active_min += minutes
        hour = int(local // 3600)  # local hours: the circadian measures are of the local day
        self.hourly_steps[hour] = self.hourly_steps.get(hour, 0) + steps
        if steps / minutes < MOVING_CADENCE:
            return
        still = ts - self.moved_at if self.moved_at is not None else 0.0
        if self.policy.sedentary_bout_s <= still <= SEDENTARY_MAX_S:
            day.sed_bouts += 1
            day.sed_min += still / 60.0
        self.moved_at = max(end_ts, self.moved_at or end_ts)

    def sedentary_s(self, ts: float) -> float:
        """How long the patient has been still at ``ts``: since the latest movement or
        waking, 0 beyond ``SEDENTARY_MAX_S`` (then it is not known to be sitting)."""
        still = ts - self.moved_at if self.moved_at is not None else 0.0
        return still if 0.0 < still <= SEDENTARY_MAX_S else 0.0

    def _sleep(self, day: Day, value: dict[str, Any], ts: float, end_ts: float) -> None:
        minutes = (end_ts - ts) / 60.0
        asleep = value.get("minutes", minutes) if value.get("stage") in ASLEEP_STAGES else 0.0
        self.moved_at = max(end_ts, self.moved_at or end_ts)  # sleep is not sedentary
        day.bed_min += minutes
        day.sleep_min += asleep
        if asleep:
            angle = math.radians((self.local((ts + end_ts) / 2) % DAY_S) / 3600.0 * 15.0)
            day.mid_sin += asleep * math.sin(angle)
            day.mid_cos += asleep * math.cos(angle)

    # ------------------------------------------------------------------ views
    def day_features(self, ts: float) -> dict[str, Any]:
        day = self.days.get(self.day_index(ts))
        return day.features() if day is not None else {}

    def trends(self) -> dict[str, dict[str, float | None]]:
        """Per feature: mean of the last 7 days, of the last 28, and their difference."""
        if self._trends is not None and self._trends[0] == self.latest_day:
            return self._trends[1]
        out: dict[str, dict[str, float | None]] = {}
        # The current day is incomplete; trends use closed days only.
        closed = {i: d.features() for i, d in self.days.items() if i < self.latest_day}
        valid = {i: f for i, f in closed.items() if (f["wear_min"] or 0) >= VALID_DAY_WEAR_MIN}
        for feature in TREND_FEATURES:
            days = valid if feature in VOLUME_FEATURES else closed
            last28 = {i: v for i, f in days.items() if (v := f[feature]) is not None}
            last7 = [v for i, v in last28.items() if i >= self.latest_day - 7]
            m7 = sum(last7) / len(last7) if last7 else None
            m28 = sum(last28.values()) / len(last28) if last28 else None
            delta = round(m7 - m28, 2) if m7 is not None and m28 is not None else None
            out[feature] = {"mean_7d": _r(m7), "mean_28d": _r(m28), "delta": delta}
        self._trends = (self.latest_day, out)
        return out

    def circadian(self) -> dict[str, float | None]:
        """IS, IV and RA from the hourly steps of the last 7 full days."""
        if not self.hourly_steps:
            return {"IS": None, "IV": None, "RA": None}
        first = (self.latest_day - 7) * 24
        hours = [self.hourly_steps.get(h, 0) for h in range(first, self.latest_day * 24)]
        n = len(hours)
        mean = sum(hours) / n
        total_var = sum((x - mean) ** 2 for x in hours)
        if total_var == 0:
            return {"IS": None, "IV": None, "RA": None}
        profile = [sum(hours[h::24]) / len(hours[h::24]) for h in range(24)]
        is_ = n * sum((p - mean) ** 2 for p in profile) / (24 * total_var)
        iv = n * sum((hours[i] - hours[i - 1]) ** 2 for i in range(1, n)) / ((n - 1) * total_var)
        doubled = profile + profile
        m10 = max(sum(doubled[h : h + 10]) / 10 for h in range(24))
        l5 = min(sum(doubled[h : h + 5]) / 5 for h in range(24))
        ra = (m10 - l5) / (m10 + l5) if m10 + l5 else None
        return {"IS": round(is_, 3), "IV": round(iv, 3), "RA": _r(ra, 3)}

    def _row(self, index: int) -> orjson.Fragment:
        row = self._rows.get(index)
        if row is None:
            # A copy: orjson's own result holds a 4 KB buffer whatever its length.
            row = self._rows[index] = bytes(memoryview(orjson.dumps(self.days[index].to_list())))
        return orjson.Fragment(row)

    def checkpoint(self) -> dict[str, Any]:
        """``to_dict`` as a checkpoint writes it: a day's JSON is made again only after the
        day changed (most days of a month-old patient are closed: re-making them all was a
        fifth of a save)."""
        return {**self.to_dict(days=False), "days": {str(i): self._row(i) for i in self.days}}

    def to_dict(self, days: bool = True) -> dict[str, Any]:
        return {"days": {str(i): d.to_list() for i, d in self.days.items()} if days else {},
                "hours": {str(h): s for h, s in self.hourly_steps.items()},
                "moved": self.moved_at, "latest": self.latest_day}  # fmt: skip

    def load(self, data: dict[str, Any]) -> None:
        self.days = {int(i): Day.from_list(v) for i, v in data["days"].items()}
        self._rows = {}
        self.hourly_steps = {int(h): s for h, s in data["hours"].items()}
        self.moved_at = data.get("moved")  # checkpoints before 0.4 kept "sed", another meaning
        self.latest_day = data["latest"]


def _r(value: float | None, places: int = 2) -> float | None:
    return round(value, places) if value is not None else None
