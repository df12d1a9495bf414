"""The shapes of what the alert engine reads and writes (``TypedDict``: no runtime cost).

``AlertMessage`` is the alert of docs/spec.md ("Alert (JSON on ``alerts``)"); ``DeviceState`` is
what the patient's device last said about itself.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["AlertMessage", "DeviceState"]


class DeviceState(TypedDict, total=False):
    """The device's own report: battery percentage and whether it is on the wrist."""

    battery: float
    worn: bool


class AlertMessage(TypedDict):
    """One message on the ``alerts`` topic: an episode opened, updated, escalated or resolved."""

    alert_id: str
    patient_id: str
    kind: str
    severity: str
    status: str
    opened_at: str
    updated_at: str
    event_time: str
    summary: str
    explanation: dict[str, Any]
