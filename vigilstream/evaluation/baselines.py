"""Comparison detectors computed on the same data as the system.

- NEWS2-only: an alert when the aggregate NEWS2 (RCP 2017) of the same assessment is >= 5,
  the RCP trigger for an urgent clinical response.
- Population thresholds: an alert when a single reading crosses a fixed limit, the factory
  alarm limits of bedside monitors (heart rate < 50 or > 120 bpm, respiration < 8 or > 30/min,
  SpO2 < 90 %; e.g. Philips IntelliVue defaults), plus temperature > 38.0 °C and systolic
  pressure < 90 mmHg.

Both get the same re-arming as the system's hysteresis (an alert ends after 30 minutes in
range), so the comparison isolates personalisation, corroboration and explanation rather
than de-bouncing.
"""

from __future__ import annotations

POPULATION_LIMITS: dict[str, tuple[float, float]] = {
    "heart_rate": (50.0, 120.0),
    "respiratory_rate": (8.0, 30.0),
    "spo2": (90.0, 101.0),
    "body_temperature": (35.0, 38.0),
    "blood_pressure": (90.0, 1000.0),  # systolic
}
NEWS2_TRIGGER = 5
REARM_S = 1800.0


class Rearm:
    """Alert on entering the alerting range; re-armed after ``hold_s`` back in range.

    >>> r = Rearm()
    >>> [r.step("p", bad, t) for bad, t in [(True, 0), (True, 60), (False, 120), (True, 180)]]
    [True, False, False, False]
    >>> r.step("p", False, 3000), r.step("p", True, 3060)
    (False, True)
    """

    def __init__(self, hold_s: float = REARM_S) -> None:
        self.hold_s = hold_s
        self.last_abnormal: dict[str, float] = {}

    def step(self, key: str, abnormal: bool, ts: float) -> bool:
        last = self.last_abnormal.get(key)
        if abnormal:
            self.last_abnormal[key] = ts if last is None else max(ts, last)
            return last is None
        if last is not None and ts - last >= self.hold_s:
            del self.last_abnormal[key]
        return False


def out_of_limits(signal: str, value: object) -> bool | None:
    """True/False for a signal with a population limit, None for the others."""
    limits = POPULATION_LIMITS.get(signal)
    if limits is None:
        return None
    if signal == "blood_pressure":
        value = value["systolic"]  # type: ignore[index]
    low, high = limits
    return not (low <= float(value) <= high)  # type: ignore[arg-type]
