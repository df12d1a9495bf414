"""One settings object for the whole system, read from ``VIGIL_*`` environment variables.

Precedence, highest first: CLI flags, environment variables, the embedded local stack started by
``vigilstream dev up`` (only for the broker and Redis addresses, and only while it runs), then the
defaults of docs/spec.md. ``vigilstream config`` prints the effective values with secrets masked.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["viewer", "clinician"]
ROLES: tuple[Role, ...] = ("viewer", "clinician")
MASK = "********"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message is one readable line."""


class Settings(BaseSettings):
    """Effective configuration of a vigilstream process (docs/spec.md, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", validate_default=True)

    broker: str = Field(
        "kafka://127.0.0.1:9092",
        description="Kafka broker URL(s), comma-separated: kafka://host:port,host2:port",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis URL; rediss:// for TLS, redis://:password@host:port/db for auth",
    )
    topic_prefix: str = Field("", description="prefix for every topic name")
    web_host: str = Field("127.0.0.1", description="interface of the worker's HTTP server")
    web_port: int = Field(6066, ge=0, le=65535, description="worker HTTP port")
    api_tokens: SecretStr | None = Field(None, description="token:role,token:role")
    state_dir: Path = Field(Path(".vigilstream"), description="pids, ports and logs of dev up")

    # Kafka security, for real clusters. PLAINTEXT is what the embedded broker speaks.
    broker_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    broker_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    broker_sasl_username: str | None = None
    broker_sasl_password: SecretStr | None = None
    broker_ssl_cafile: Path | None = None
    broker_ssl_certfile: Path | None = None
    broker_ssl_keyfile: Path | None = None
    redis_ssl_ca_certs: Path | None = None

    # Topic layout and consumer-group timing.
    partitions: int = Field(8, ge=1, description="partitions of the topics the worker creates")
    replication_factor: int = Field(1, ge=1)
    # The group coordinator waits up to about half the session timeout for members to join; a
    # short timeout makes local restarts fast, a longer one tolerates slow networks.
    session_timeout_s: float = Field(10.0, ge=1.0)
    rebalance_timeout_s: float = Field(10.0, ge=1.0)
    # The embedded Tansu answers a fetch on a quiet partition only when this wait is over, so it
    # is on every hop of an alert: 100 ms gave an event-to-alert p50 of 130-160 ms at half
    # load, 20 ms gives 40-50 ms. Kafka answers as soon as records arrive; the cost there is
    # at most 50 empty fetches a second per idle consumer.
    fetch_max_wait_ms: int = Field(
        20, ge=1, le=1500,
        description="longest a fetch waits on the broker for new records (Faust's own is 1500)",
    )  # fmt: skip
    producer_linger_ms: float = Field(
        5.0, ge=0, le=1000,
        description="how long the worker's producer gathers records into one request",
    )  # fmt: skip
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Ingest limits (README, "Ingest").
    max_message_bytes: int = Field(64 * 1024, ge=1024, description="larger messages: too_large")
    future_tolerance_s: float = Field(300.0, ge=0, description="event time ahead of the clock")
    stale_horizon_h: float = Field(
        672.0, gt=0, description="older event times: stale_timestamp (the 28 days the models keep)"
    )
    alert_horizon_h: float = Field(
        24.0, gt=0, description="older readings are late: they update the models, never alerts"
    )
    consent_required: bool = Field(
        False, description="reject patients without a profile, not only those without consent"
    )
    fold_span_s: float = Field(
        60.0, ge=0,
        description="while the ingest is behind, a patient's consecutive readings within this "
        "many seconds of event time cross vitals.clean as one event (0: never fold)",
    )  # fmt: skip
    dedupe_window_s: float = Field(6 * 3600.0, ge=0, description="how long a reading is remembered")
    dedupe_max_entries: int = Field(
        250_000, ge=0, description="memory bound of the duplicate filter"
    )

    # Alerts (README, "Alerts").
    escalate_after_s: float = Field(
        900.0, gt=0, description="unacknowledged clinical alerts are escalated after this"
    )

    offline_after_s: float = Field(1800.0, gt=0, description="no data this long: device_offline")
    risk_alerts: bool = Field(
        False, description="risk-model alerts of their own (off: see EVALUATION.md)"
    )
    suggestion_stale_after_s: float = Field(
        3600.0,
        gt=0,
        description="a suggestion decided this far behind the clock is not sent "
        "(backlogs and replays of old data); the demo raises it to play history as if live",
    )
    webhook_urls: str = Field("", description="comma-separated URLs that receive every alert")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of webhooks")
    alert_group_wait_s: float = Field(
        5.0,
        ge=0,
        description="webhook deliveries wait this long after an episode's first "
        "message and carry its latest state once (Alertmanager's group_wait); 0: at once",
    )
    webhook_max_attempts: int = Field(5, ge=1, description="deliveries before a dead letter")
    webhook_first_backoff_s: float = Field(1.0, gt=0, description="first retry delay, doubled")

    # Patient state checkpoints (README, "Patient models").
    checkpoint_interval_s: float = Field(
        10.0, gt=0, description="how often changed patient states are saved"
    )

    # Failure policy (RELIABILITY.md).
    stall_after_s: float = Field(
        60.0, gt=0, description="a partition with a backlog and no progress this long: stalled"
    )
    shutdown_timeout_s: float = Field(
        30.0, gt=0, description="SIGTERM: graceful stop, then exit anyway after this"
    )

    # Privacy (README, "Privacy").
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key: patient ids are pseudonymized at ingest when set"
    )

    # Identities (README, "Care-team API").
    jwt_issuer: str | None = Field(None, description="OIDC issuer accepted in bearer JWTs")
    jwt_audience: str | None = Field(None, description="audience required in bearer JWTs")
    jwt_jwks: str | None = Field(
        None, description="JWKS of the identity provider: a file path or an https:// URL"
    )
    jwt_role_claim: str = Field("roles", description="JWT claim listing the person's roles")
    auth_failures_per_minute: int = Field(
        10, ge=1, description="failed authentications per client and minute before 429"
    )

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str) -> str:
        broker_hosts(value)  # raises on a malformed list
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            raise ValueError(f"not a Redis URL (redis://, rediss:// or unix://): {value!r}")
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _check_webhooks(cls, value: str) -> str:
        for url in (u.strip() for u in value.split(",") if u.strip()):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {mask_url_password(url)!r}")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _check_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_tokens(value.get_secret_value())
        return value

    # ----------------------------------------------------------------- derived values
    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` strings for kafka-python / aiokafka clients."""
        return broker_hosts(self.broker)

    @property
    def faust_broker(self) -> list[str]:
        """Broker URLs in the form Faust expects."""
        return [f"kafka://{hostport}" for hostport in self.bootstrap_servers]

    @property
    def tokens(self) -> dict[str, str]:
        """API bearer tokens and their roles."""
        if self.api_tokens is None:
            return {}
        return parse_api_tokens(self.api_tokens.get_secret_value())

    def topic(self, name: str) -> str:
        """The full name of a topic of docs/spec.md, with the configured prefix."""
        return f"{self.topic_prefix}{name}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS context for the broker, or None when the protocol has no TLS."""
        if self.broker_security_protocol not in ("SSL", "SASL_SSL"):
            return None
        ctx = ssl.create_default_context(
            cafile=str(self.broker_ssl_cafile) if self.broker_ssl_cafile else None
        )
        if self.broker_ssl_certfile:
            ctx.load_cert_chain(
                str(self.broker_ssl_certfile),
                str(self.broker_ssl_keyfile) if self.broker_ssl_keyfile else None,
            )
        return ctx

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by kafka-python and aiokafka clients (security included)."""
        opts: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.broker_security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            opts["ssl_context"] = context
        if self.broker_security_protocol.startswith("SASL"):
            opts["sasl_mechanism"] = self.broker_sasl_mechanism
            opts["sasl_plain_username"] = self.broker_sasl_username
            opts["sasl_plain_password"] = (
                self.broker_sasl_password.get_secret_value() if self.broker_sasl_password else None
            )
        return opts

    def kafka_consumer_options(self) -> dict[str, Any]:
        """Client options plus the group timing of this deployment, for consumers."""
        return {
            **self.kafka_client_options(),
            "session_timeout_ms": int(self.session_timeout_s * 1000),
            "heartbeat_interval_ms": int(max(0.5, self.session_timeout_s / 6) * 1000),
        }

    def redis_options(self) -> dict[str, Any]:
        """Keyword arguments for ``redis.asyncio.from_url`` besides the URL."""
        if self.redis_ssl_ca_certs is not None:
            return {"ssl_ca_certs": str(self.redis_ssl_ca_certs)}
        return {}

    def masked(self) -> dict[str, Any]:
        """The configuration as plain values with every secret masked, for printing."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = MASK
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        out["redis_url"] = mask_url_password(self.redis_url)
        out["broker"] = ",".join(mask_url_password(u) for u in self.broker.split(","))
        return out


def broker_hosts(broker: str) -> list[str]:
    """Split a broker setting into ``host:port`` strings.

    >>> broker_hosts("kafka://a:9092,kafka://b:9093;c")
    ['a:9092', 'b:9093', 'c:9092']
    """
    hosts: list[str] = []
    for raw in broker.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        if "://" in item:
            scheme, _, item = item.partition("://")
            if scheme not in ("kafka", "aiokafka", "tcp"):
                raise ValueError(f"unsupported broker scheme {scheme!r} in {broker!r}")
        item = item.rstrip("/").rpartition("@")[2]
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "9092"
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"not a host:port broker address: {raw.strip()!r}")
        hosts.append(f"{host}:{port}")
    if not hosts:
        raise ValueError("no broker address given")
    return hosts


def parse_api_tokens(spec: str) -> dict[str, str]:
    """Parse ``token:role,token:role``; roles are viewer, clinician and ``patient:<id>`` (a
    patient's own app: feedback on their own suggestions only).

    >>> parse_api_tokens("v1:viewer,app-7:patient:p-007")
    {'v1': 'viewer', 'app-7': 'patient:p-007'}
    """
    tokens: dict[str, str] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if ":patient:" in item:
            token, _, patient = item.rpartition(":patient:")
            if not token or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", patient):
                raise ValueError("patient tokens must be written token:patient:<patient id>")
            tokens[token] = f"patient:{patient}"
            continue
        token, sep, role = item.rpartition(":")
        if not sep or not token:
            raise ValueError("API tokens must be written token:role,token:role")
        if role not in ROLES:
            raise ValueError(f"unknown API role {role!r}; roles are {', '.join(ROLES)}")
        tokens[token] = role
    return tokens


def mask_url_password(url: str) -> str:
    """Replace the password of a URL, if any, by a mask."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{netloc[2]}"))


def load_settings(**overrides: Any) -> Settings:
    """Build the effective settings: CLI overrides over environment over the running dev stack.

    Raises ConfigError with one readable line when a value is invalid.
    """
    from pydantic import ValidationError

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        # Name what the user set: the environment variable (and the flag, where there is one).
        where = f"VIGIL_{field.upper()}" if field else "configuration"
        if field in given:
            where = f"--{field.replace('_', '-')} / {where}"
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {where}: {message}") from None
    missing = {"broker", "redis_url"} - settings.model_fields_set
    if missing:
        from vigilstream.localstack import running_addresses

        found = running_addresses(settings.state_dir)
        for name in missing:
            if name in found:
                setattr(settings, name, found[name])
    return settings
