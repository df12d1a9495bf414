"""Prometheus metrics of the worker (docs/spec.md, "Metrics"); never a per-patient label.

Each worker owns one registry, so several applications can live in one process (tests).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # the *_created series only add noise to dashboards

# Processing a reading takes microseconds; a batch of an hour of data, milliseconds.
_PROCESS_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5)


class Metrics:
    """The worker's metrics, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        if registry is None:  # the standard process_* and python_* series (CPU, memory, fds)
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self._ingest(self.registry)
        self._models(self.registry)
        self._alerts(self.registry)
        self._suggestions(self.registry)
        self._operations(self.registry)

    def _ingest(self, r: CollectorRegistry) -> None:
        """Ingest: what arrives and what is rejected."""
        self.readings = Counter(
            "vigil_readings", "Normalized readings accepted at ingest",
            ["signal", "source_format"], registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "vigil_readings_rejected", "Inputs rejected to the dead-letter topic", ["reason"],
            registry=r,
        )  # fmt: skip
        self.late = Counter(
            "vigil_readings_late",
            "Readings older than VIGIL_ALERT_HORIZON_H: folded into the models, never alerting",
            registry=r,
        )  # fmt: skip
        self.duplicates = Counter(
            "vigil_readings_duplicate", "Resent readings dropped by the duplicate filter",
            registry=r,
        )  # fmt: skip
        self.process_seconds = Histogram(
            "vigil_reading_process_seconds", "Processing time of one raw message at ingest",
            buckets=_PROCESS_BUCKETS, registry=r,
        )  # fmt: skip

    def _models(self, r: CollectorRegistry) -> None:
        """Patient models and their checkpoints."""
        self.model_updates = Counter(
            "vigil_model_updates", "Readings folded into patient models", registry=r
        )
        self.replays_skipped = Counter(
            "vigil_replayed_events_skipped", "Redelivered vitals.clean events already applied",
            registry=r,
        )  # fmt: skip
        self.replayed_readings = Counter(
            "vigil_replayed_readings_skipped",
            "Readings a patient's owner had already applied (redelivered through ingest)",
            registry=r,
        )
        self.patients_active = Gauge(
            "vigil_patients_active", "Patients whose state this worker holds", registry=r
        )
        self.checkpoint_failures = Counter(
            "vigil_checkpoint_failures", "Failed checkpoint writes of patient state", registry=r
        )
        self.state_restores = Counter(
            "vigil_patient_state_restores",
            "Patients met by this worker, by how their state came back (new, restored, migrated, "
            "rebuilt)", ["how"], registry=r,
        )  # fmt: skip
        self.checkpoint_seconds = Histogram(
            "vigil_checkpoint_seconds", "Duration of one pipelined checkpoint write", registry=r
        )
        self.model_update_seconds = Histogram(
            "vigil_model_update_seconds", "Model update time per reading",
            buckets=_PROCESS_BUCKETS, registry=r,
        )  # fmt: skip

        self.risk_validation = Gauge(
            "vigil_risk_model_validation",
            "Progressive validation of the shared risk model (roc_auc, precision, recall, f1, "
            "examples)", ["metric"], registry=r,
        )  # fmt: skip
        self.outcomes = Counter(
            "vigil_outcomes", "Outcome events applied to patient models", ["kind"], registry=r
        )

    def _alerts(self, r: CollectorRegistry) -> None:
        """Alerts, verdicts and webhooks."""
        self.alerts = Counter(
            "vigil_alerts", "Alert messages published", ["kind", "severity"], registry=r
        )
        self.event_to_alert = Histogram(
            "vigil_event_to_alert_seconds", "Event time of the reading to alert published",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600), registry=r,
        )  # fmt: skip

        self.verdicts = Counter(
            "vigil_alert_verdicts", "Care-team verdicts on alerts (actionable ratio)", ["verdict"],
            registry=r,
        )  # fmt: skip

        self.open_alerts = Gauge(
            "vigil_open_alerts", "Open clinical and technical episodes of this worker's patients",
            ["severity"], registry=r,
        )  # fmt: skip
        self.open_unacknowledged = Gauge(
            "vigil_open_alerts_unacknowledged",
            "Open episodes of this worker's patients without a care-team verdict yet",
            ["severity"], registry=r,
        )  # fmt: skip
        self.ack_seconds = Histogram(
            "vigil_alert_ack_seconds", "Time from an alert opening to the care team's verdict",
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400), registry=r,
        )  # fmt: skip
        self.webhook = Counter(
            "vigil_webhook_deliveries", "Webhook deliveries by outcome", ["outcome"], registry=r
        )

    def _suggestions(self, r: CollectorRegistry) -> None:
        """Activity suggestions: sent, suppressed with the reason, and their rewards."""
        self.suggestions = Counter(
            "vigil_suggestions", "Suggestions sent to patients", ["kind"], registry=r
        )
        self.suggestions_suppressed = Counter(
            "vigil_suggestions_suppressed",
            "Suggestion decisions not sent, by reason (safety gate, cap, context, stale)",
            ["reason"], registry=r,
        )  # fmt: skip
        self.suggestion_reward = Histogram(
            "vigil_suggestion_reward",
            "Proximal reward of a decision: steps 30 min after minus 30 min before",
            buckets=(-1000, -300, -100, 0, 100, 300, 1000, 3000), registry=r,
        )  # fmt: skip

    def _operations(self, r: CollectorRegistry) -> None:
        """Operations: dependencies, progress, privacy, access."""
        self.profiles = Gauge(
            "vigil_profiles_known", "Patient profiles this worker has read from patients",
            registry=r,
        )  # fmt: skip
        self.checkpoints_missing = Counter(
            "vigil_checkpoints_missing",
            "Patient checkpoints or offsets the worker expected in Redis and did not find",
            registry=r,
        )  # fmt: skip
        self.dependency_retries = Counter(
            "vigil_dependency_retries", "Retried calls to a dependency that failed",
            ["dependency"], registry=r,
        )  # fmt: skip
        self.partition_stalled = Gauge(
            "vigil_partitions_stalled",
            "Assigned partitions with a backlog and no progress for VIGIL_STALL_AFTER_S",
            registry=r,
        )  # fmt: skip
        self.consumer_lag = Gauge(
            "vigil_consumer_lag", "Records behind the high watermark, per assigned partition",
            ["topic", "partition"], registry=r,
        )  # fmt: skip
        self.events_failed = Counter(
            "vigil_events_failed", "vitals.clean events the core could not apply (a defect)",
            registry=r,
        )  # fmt: skip
        self.patients_forgotten = Counter(
            "vigil_patients_forgotten", "Patients erased on request (vigilstream patient forget)",
            registry=r,
        )  # fmt: skip
        self.auth_failures = Counter(
            "vigil_api_auth_failures", "Requests refused for a missing or bad token", registry=r
        )
        self.loop_lag = Histogram(
            "vigil_event_loop_lag_seconds",
            "How late the worker's event loop woke a 100 ms probe: time it ran without yielding,"
            " which every alert in that moment waited too",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=r,
        )  # fmt: skip

    def count_readings(self, readings: list[dict[str, Any]], duplicates: int) -> None:
        """Count accepted readings by signal and format, and dropped duplicates."""
        counts: dict[tuple[str, str], int] = {}
        for reading in readings:
            key = (reading["signal"], reading["source_format"])
            counts[key] = counts.get(key, 0) + 1
        for (signal, source_format), n in counts.items():
            self.readings.labels(signal, source_format).inc(n)
        if duplicates:
            self.duplicates.inc(duplicates)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
