"""An adaptive daily step goal from the patient's own recent days.

Adams MA et al., "An adaptive physical activity intervention for overweight adults: a
randomized controlled trial", PLoS One 2013;8:e82901, and Adams MA et al., "Adaptive goal
setting and financial incentives", BMC Public Health 2017;17:286: the next goal is the 60th
percentile of the patient's recent days, so it follows them up and down and stays within
reach. Here: the last ``window_days`` *valid* days (enough wear to count the steps), raised by
at most ``max_rise`` a day (never a sudden jump), capped by a clinician's goal from the
profile (``activity_goals.steps_per_day``) when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

from online_models.phenotype import VALID_DAY_WEAR_MIN

__all__ = ["StepGoalPolicy", "next_goal", "percentile"]


@dataclass(frozen=True)
class StepGoalPolicy:
    """Hyperparameters of the adaptive step goal (Adams et al. 2013, 2017)."""

    rank: float = 0.60  # percentile of the recent valid days
    window_days: int = 9
    min_valid_days: int = 3  # fewer valid days: no personal goal yet
    min_wear_min: int = VALID_DAY_WEAR_MIN  # less wear: the day does not count (the 10-h rule)
    max_rise: float = 0.10  # the goal rises at most this fraction from one day to the next
    floor: int = 1000


def percentile(values: list[float], rank: float) -> float:
    """Linear-interpolated percentile (``numpy.percentile``'s default).

    >>> percentile([1000, 2000, 3000, 4000, 5000], 0.6)
    3400.0
    """
    ordered = sorted(values)
    position = rank * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def next_goal(days: list[tuple[int, int]], previous: int | None, clinician_cap: int | None = None,
              policy: StepGoalPolicy | None = None) -> int | None:  # fmt: skip
    """Today's goal from ``days`` (steps, wear minutes) oldest first and yesterday's goal.

    >>> days = [(4000, 900), (5200, 880), (300, 60), (6100, 950), (4800, 700), (5500, 820)]
    >>> next_goal(days, previous=None)            # the 60th percentile of the 5 valid days
    5320
    >>> next_goal(days, previous=4000)            # at most 10 % above yesterday's
    4400
    >>> next_goal(days, previous=None, clinician_cap=5000)
    5000
    >>> next_goal(days[:2], previous=None) is None  # too few valid days yet
    True
    """
    policy = policy or StepGoalPolicy()
    valid = [steps for steps, wear in days if wear >= policy.min_wear_min][-policy.window_days :]
    if len(valid) < policy.min_valid_days:
        return None
    goal = max(policy.floor, round(percentile([float(v) for v in valid], policy.rank)))
    if previous is not None:
        goal = min(goal, round(previous * (1 + policy.max_rise)))
    if clinician_cap is not None:
        goal = min(goal, clinician_cap)
    return int(goal)
