"""Group wait for anything that pages: one delivery per episode change, at its latest state.

Readings of one moment often arrive as separate messages (heart rate from the watch, SpO2 and
temperature from other devices), so an episode can open at ``medium`` and be updated to
``high`` a few milliseconds later. The ``alerts`` topic keeps every state change; a page should
not. As Alertmanager's ``group_wait`` does, the first message of an episode starts a short wait
(processing time, ``VIGIL_ALERT_GROUP_WAIT_S``); later messages of the same episode within it
replace the held one, and the episode's latest state is delivered once when the wait ends. A
change after that starts a new wait. Pure: the caller passes the time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GroupWait"]


class GroupWait:
    """Holds each episode's latest alert message until ``wait_s`` after its first one.

    >>> g = GroupWait(5.0)
    >>> g.offer({"alert_id": "a", "severity": "medium"}, now=100.0)
    []
    >>> g.offer({"alert_id": "a", "severity": "high"}, now=100.004)
    []
    >>> g.due(104.9), g.next_due()
    ([], 105.0)
    >>> g.due(105.0)
    [{'alert_id': 'a', 'severity': 'high'}]
    >>> GroupWait(0.0).offer({"alert_id": "b"}, now=1.0)   # no wait: at once
    [{'alert_id': 'b'}]
    """

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.held: dict[str, tuple[float, dict[str, Any]]] = {}  # alert_id -> (first, latest)

    def offer(self, alert: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """Hold ``alert``; returns what to deliver now (itself when there is no wait)."""
        if self.wait_s <= 0:
            return [alert]
        held = self.held.get(alert["alert_id"])
        self.held[alert["alert_id"]] = (held[0] if held else now, alert)
        return []

    def due(self, now: float) -> list[dict[str, Any]]:
        """The latest message of each episode whose wait has ended, oldest first."""
        ready = sorted((first, alert_id) for alert_id, (first, _) in self.held.items()
                       if now - first >= self.wait_s)  # fmt: skip
        return [self.held.pop(alert_id)[1] for _, alert_id in ready]

    def next_due(self) -> float | None:
        """When the next held episode is due (processing time), or None."""
        first = min((first for first, _ in self.held.values()), default=None)
        return None if first is None else first + self.wait_s
