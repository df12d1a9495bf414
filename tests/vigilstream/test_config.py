from __future__ import annotations

import pytest

from vigilstream.config import (
    MASK,
    ConfigError,
    Settings,
    broker_hosts,
    load_settings,
    mask_url_password,
    parse_api_tokens,
)


def test_defaults_follow_the_spec(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("VIGIL_BROKER", "VIGIL_REDIS_URL", "VIGIL_WEB_PORT", "VIGIL_TOPIC_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(state_dir=tmp_path)  # no stack runs there
    assert s.broker == "kafka://127.0.0.1:9092"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.web_port == 6066
    assert s.topic("vitals.raw") == "vitals.raw"


def test_environment_then_cli_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_BROKER", "kafka://envhost:9092")
    monkeypatch.setenv("VIGIL_TOPIC_PREFIX", "site1.")
    monkeypatch.setenv("VIGIL_WEB_PORT", "7000")
    s = load_settings(web_port=7100)
    assert s.bootstrap_servers == ["envhost:9092"]
    assert s.web_port == 7100  # the flag wins over the environment
    assert s.topic("alerts") == "site1.alerts"


def test_several_brokers() -> None:
    assert broker_hosts("kafka://a:9092,b:9093, kafka://c") == ["a:9092", "b:9093", "c:9092"]
    s = Settings(broker="kafka://a:9092;kafka://b:9092")
    assert s.faust_broker == ["kafka://a:9092", "kafka://b:9092"]


@pytest.mark.parametrize("bad", ["http://a:1", "kafka://a:notaport", ",", "kafka://a:70000"])
def test_malformed_broker_is_one_line_error(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(broker=bad)
    assert "\n" not in str(err.value) and "broker" in str(err.value)


def test_sasl_and_tls_are_expressible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_BROKER_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("VIGIL_BROKER_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("VIGIL_BROKER_SASL_USERNAME", "svc")
    monkeypatch.setenv("VIGIL_BROKER_SASL_PASSWORD", "hunter2")
    s = Settings()
    opts = s.kafka_client_options()
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_password"] == "hunter2"
    assert opts["ssl_context"] is not None
    assert s.masked()["broker_sasl_password"] == MASK
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.masked())


def test_redis_password_and_tls_url_masked() -> None:
    s = Settings(redis_url="rediss://default:s3cret@redis.example:6380/2")
    assert s.masked()["redis_url"] == f"rediss://default:{MASK}@redis.example:6380/2"
    assert mask_url_password("redis://h:1/0") == "redis://h:1/0"
    with pytest.raises(ConfigError):
        load_settings(redis_url="http://nope")


def test_api_tokens() -> None:
    assert parse_api_tokens("abc:viewer, def:clinician") == {"abc": "viewer", "def": "clinician"}
    s = Settings(api_tokens="abc:viewer")
    assert s.tokens == {"abc": "viewer"}
    assert s.masked()["api_tokens"] == MASK
    with pytest.raises(ConfigError, match="unknown API role"):
        load_settings(api_tokens="abc:admin")
    with pytest.raises(ConfigError, match="token:role"):
        load_settings(api_tokens="abc")
