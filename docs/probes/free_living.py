"""Free-living probe: healthy wearers as a watch exports them, for ``vigilstream replay``.

Not the simulator (``vigilstream/simulation``): an independent, deliberately plain generator of
the days that raise false alarms in wearable monitoring, to check that the monitor stays quiet
on them. Nobody is ill, so every clinical alert ``replay`` opens on this file is false.

Per wearer: a resting heart rate of 58-76 bpm with AR(1) noise, ~8 bpm lower asleep; 6-11 walks
a day (80-115 steps a minute); from day 3 at most one of: an unlogged ride (30-75 min, 120-150
bpm, no steps), a gym session (30-75 min, 105-135 bpm, 0-15 steps a minute), a run (25-50 min,
145-170 bpm, 165 steps a minute), two sauna rounds of 15 minutes, a hot afternoon (+8 bpm), a
stressful day (+7 bpm), an evening with alcohol (+9 bpm into the night), and the heart rate's
recovery after exercise. Asleep: SpO2 (with rare dips) and breathing every 5 minutes; the night
as a sleep row. Written like an export: a CSV row per reading, step rows only for minutes with
steps.

    python docs/probes/free_living.py 1 probe-1.csv   # 6 wearers x 10 days
    vigilstream replay --input probe-1.csv
"""

from __future__ import annotations

import csv
import math
import sys
from collections import Counter
from datetime import UTC, datetime

import numpy as np

DAY0 = 1_767_225_600  # 2026-01-01 UTC
EVENTS = ("ride", "gym", "sauna", "run", "alcohol", "stress", "hot", "none", "none")
PEAK = {"ride": (120, 150), "gym": (105, 135), "run": (145, 170)}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def wearer_day(rng: np.random.Generator, rest: float, wake: int, bed: int,
               event: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Heart rate (without noise), steps and asleep per minute of one day."""
    hr, steps, asleep = np.full(1440, rest), np.zeros(1440), np.zeros(1440, bool)
    asleep[:wake] = True
    asleep[bed:] = True
    hr[asleep] = rest - 8
    for _ in range(rng.integers(6, 12)):
        start, length = int(rng.integers(wake + 30, bed - 60)), int(rng.integers(5, 25))
        steps[start : start + length] = rng.uniform(80, 115)
        hr[start : start + length] = rest + rng.uniform(18, 30)
    if event in PEAK:
        start = int(rng.integers(wake + 60, bed - 180))
        length = int(rng.integers(25, 50) if event == "run" else rng.integers(30, 75))
        peak = rng.uniform(*PEAK[event])
        for m in range(length):
            jitter = rng.normal(0, 8) if event == "gym" else 0.0
            hr[start + m] = rest + (peak - rest) * min(1.0, (m + 1) / 4) + jitter
            steps[start + m] = {"run": 165.0, "gym": rng.uniform(0, 15)}.get(event, 0.0)
        for m in range(30):  # recovery
            at = start + length + m
            if at < 1440 and not asleep[at]:
                hr[at] = max(hr[at], rest + (peak - rest) * 0.35 * math.exp(-m / 8))
    elif event == "sauna":
        start = int(rng.integers(wake + 600, bed - 120))
        for round_start in (start, start + 25):
            hr[round_start : round_start + 15] = rest + np.linspace(20, 55, 15)
    elif event == "alcohol":
        hr[bed - 120 :] += 9
    elif event == "stress":
        hr[wake + 120 : wake + 660] += 7
    elif event == "hot":
        hr[720:1080] += 8
    return hr, steps, asleep


def probe(seed: int, people: int = 6, days: int = 10) -> tuple[list[list[object]], Counter[str]]:
    """The export's rows (with header) and how many of each event it holds."""
    rng = np.random.default_rng(seed)
    rows: list[list[object]] = [["patient_id", "ts", "signal", "value", "end_ts"]]
    events: Counter[str] = Counter()
    for p in range(people):
        pid = f"fl-{seed}-{p}"
        rest, noise = rng.uniform(58, 76), rng.uniform(2, 4)
        bed_h, wake_h = rng.uniform(22.5, 24.0), rng.uniform(6.0, 7.5)
        ar, last_bed = 0.0, float(DAY0)
        for d in range(days):
            day = DAY0 + d * 86400
            wake = int(wake_h * 60 + rng.normal(0, 20))
            bed = min(int(bed_h * 60 + rng.normal(0, 20)), 1439)
            event = EVENTS[int(rng.integers(len(EVENTS)))] if d >= 2 else "none"
            events[event] += 1
            hr, steps, asleep = wearer_day(rng, rest, wake, bed, event)
            rows.append([pid, iso(last_bed), "sleep", "light", iso(day + wake * 60)])
            last_bed = day + bed * 60
            for m in range(1440):
                ar = 0.9 * ar + rng.normal(0, noise * math.sqrt(1 - 0.81))
                ts = day + m * 60
                rows.append([pid, iso(ts), "heart_rate", round(float(hr[m] + ar)), ""])
                if steps[m] > 0:
                    rows.append([pid, iso(ts), "steps", int(steps[m]), iso(ts + 60)])
                if asleep[m] and m % 5 == 0:
                    dip = rng.uniform(3, 6) if rng.random() < 0.01 else 0.0
                    spo2 = round(float(96 + rng.normal(0, 1) - dip))
                    rows.append([pid, iso(ts), "spo2", spo2, ""])
                    rr = round(float(14 + rng.normal(0, 1)), 1)
                    rows.append([pid, iso(ts), "respiratory_rate", rr, ""])
    return rows, events


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit("usage: free_living.py SEED OUT.csv [PEOPLE DAYS]")
    sizes = [int(a) for a in sys.argv[3:5]]
    table, counts = probe(int(sys.argv[1]), *sizes)
    with open(sys.argv[2], "w", newline="") as f:
        csv.writer(f).writerows(table)
    print(dict(counts))
