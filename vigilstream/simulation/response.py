"""How simulated patients respond to activity suggestions: the closed loop of the evaluation.

The device data of a cohort are fixed in advance; a suggestion's effect is added on top of
them as the extra steps a patient takes after following it (``Response.steps``). Whether a
patient follows is a draw with a personal probability:

- **per arm**: following a 10-minute walking suggestion is less likely (mean ~0.2) than
  standing up from a long sedentary bout (mean ~0.3); a sixth of patients hardly ever follow
  walking suggestions and say so ("not for me"). HeartSteps saw a mean effect of about 35
  steps (+24 %) in the 30 minutes after a walking suggestion, with large differences between
  people and contexts (Klasnja P et al., Ann Behav Med 2019;53:573-82).
- **per time of day**: receptivity differs by person and time of day (Künzler F et al.,
  "Exploring the state-of-receptivity for mHealth interventions", Proc ACM IMWUT 2019;3:140);
  each patient has a multiplier per block (morning, midday, evening), log-normal around 1.
- **habituation**: the effect fades with days in the programme (HeartSteps: gone after about
  six weeks; here a personal half-life of 3-8 weeks) and with suggestions received in the
  previous 24 hours (each one lowers the chance by 15 %).
- **no response when ill**: during a true deterioration episode nobody follows an exertion
  suggestion.

``rest``, ``sleep_routine`` and sending nothing add no steps (their benefit is not steps; the
proximal reward cannot see it). A followed walk starts 2-20 minutes after the suggestion
reached the patient (processing time: a suggestion decided late reaches them late) and lasts
the suggested minutes ±30 % at the patient's walking cadence (Tudor-Locke C et al., IJBNPA
2011;8:79). The same random numbers serve every policy at the same decision, so policies
compared on a cohort differ only by what they chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vigilstream.simulation.cohort import Patient

__all__ = ["PatientResponse", "Response"]

BLOCK_S = 300.0  # the device's step blocks (5 minutes)
BLOCKS = ("morning", "midday", "evening")
EXERTION = ("walk", "break_sedentary")
FATIGUE = 0.85  # each suggestion received in the previous 24 h multiplies the chance by this
BREAK_MINUTES = (2.0, 4.0)  # a followed break: 2 minutes plus up to 4 more


@dataclass(frozen=True)
class Response:
    """What a patient did after a suggestion: followed or not, the extra step blocks
    ``(start, end, steps)`` on the device's 5-minute grid, and the answer they gave."""

    followed: bool
    blocks: list[tuple[float, float, float]]
    answer: str | None  # "done", "not_now", "not_for_me" or no answer


@dataclass
class PatientResponse:
    """One simulated patient's responsiveness, and the suggestions they received (per policy:
    each policy compared has its own ``PatientResponse`` of the same patient)."""

    seed: int
    index: int
    start: float  # the patient's first day in the programme (and the step grid's origin)
    follow: dict[str, float]  # arm -> base chance of following
    block: dict[str, float]  # time-of-day block -> multiplier
    half_life_days: float
    cadence: float
    received: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, seed: int, patient: Patient, start: float) -> PatientResponse:
        """The patient's responsiveness, from its own random stream (the cohort's physiology
        and delivery are untouched by it)."""
        index = int(patient.patient_id.rsplit("-", 1)[-1])
        rng = np.random.default_rng([seed, index, 12])
        walk = float(rng.beta(1.5, 6.0)) * (0.6 + 0.8 * patient.fitness)
        if rng.random() < 1 / 6:
            walk *= 0.1  # not a walker
        follow = {"walk": walk, "break_sedentary": float(rng.beta(2.0, 4.5))}
        raw = np.exp(rng.normal(0.0, 0.6, len(BLOCKS)))
        block = dict(zip(BLOCKS, (raw / raw.mean()).tolist(), strict=True))
        half_life = float(rng.uniform(21, 56))
        cadence = float(np.clip(rng.normal(100, 8), 80, 125))
        return cls(seed, index, start, follow, block, half_life, cadence)

    def chance(self, arm: str, block: str, at: float, ill: bool) -> float:
        """The chance of following ``arm`` received at ``at`` (processing time)."""
        if arm not in EXERTION or ill:
            return 0.0
        days = max(0.0, (at - self.start) / 86400.0)
        fading = math.exp(-math.log(2) * days / self.half_life_days)
        recent = sum(at - 86400.0 < r <= at for r in self.received)
        return min(0.95, self.follow[arm] * self.block[block] * fading * FATIGUE**recent)

    def expected_steps(self, arm: str, block: str, at: float, minutes: float) -> float:
        """The extra steps ``arm`` received at ``at`` adds on average, for a well patient: the
        chance of following times the steps of the mean response (``respond``)."""
        if arm not in EXERTION:
            return 0.0
        length = minutes if arm == "walk" else BREAK_MINUTES[0] + BREAK_MINUTES[1] / 2
        return self.chance(arm, block, at, ill=False) * length * self._cadence(arm)

    def _cadence(self, arm: str) -> float:
        """Steps per minute of a followed ``arm``: a break is a slower stroll."""
        return self.cadence if arm == "walk" else 0.9 * self.cadence

    def respond(self, arm: str, block: str, decided_at: float, at: float, ill: bool,
                minutes: float) -> Response:  # fmt: skip
        """The patient's response to ``arm`` decided at event time ``decided_at`` and received
        at processing time ``at``; ``minutes`` is what a walking suggestion asked for."""
        rng = np.random.default_rng([self.seed, self.index, int(decided_at)])
        u, delay, stretch, cadence_noise, u_answer, short = rng.random(6)
        chance = self.chance(arm, block, at, ill)
        self.received.append(at)
        self.received = [r for r in self.received if r > at - 86400.0]
        followed = u < chance
        blocks: list[tuple[float, float, float]] = []
        if followed:
            base = minutes if arm == "walk" else BREAK_MINUTES[0] + BREAK_MINUTES[1] * short
            length = base * (0.7 + 0.6 * stretch)
            begin = at + 60.0 * (2 + 18 * delay)
            rate = self._cadence(arm) + 10 * (cadence_noise - 0.5)
            blocks = self._on_grid(begin, begin + 60.0 * length, rate / 60.0)
        answer = None
        if followed and u_answer < 0.4:
            answer = "done"
        elif not followed and arm in EXERTION and self.follow[arm] < 0.04 and u_answer < 0.5:
            answer = "not_for_me"
        elif not followed and arm in EXERTION and u_answer < 0.15:
            answer = "not_now"
        return Response(followed, blocks, answer)

    def _on_grid(self, begin: float, end: float, per_s: float) -> list[tuple[float, float, float]]:
        """Steps at ``per_s`` from ``begin`` to ``end``, split into the device's blocks."""
        out = []
        first = self.start + math.floor((begin - self.start) / BLOCK_S) * BLOCK_S
        a = first
        while a < end:
            overlap = min(end, a + BLOCK_S) - max(begin, a)
            if overlap > 0:
                out.append((a, a + BLOCK_S, round(per_s * overlap)))
            a += BLOCK_S
        return out
