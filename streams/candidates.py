"""What format adapters hand to normalization: a reading body with its owner, or a rejection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigilstream.messages import ReasonCode


@dataclass(slots=True)
class Rejection:
    """Why (part of) a message was rejected: a docs/spec.md reason code and a readable detail."""

    reason: ReasonCode
    detail: str


@dataclass(slots=True)
class Candidate:
    """A reading in native form (``signal``, ``value``, ``unit``, ``ts``, ...) not yet validated.

    ``where`` locates it inside its message for error details (``readings[3]: ``).
    """

    patient_id: Any
    device_id: Any
    body: dict[str, Any]
    where: str = ""
