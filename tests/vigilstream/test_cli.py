from __future__ import annotations

import json

import pytest

from vigilstream import messages
from vigilstream.cli import main

COMMANDS = ("dev", "worker", "simulate", "evaluate", "demo", "schema", "config")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"\n    {command} " in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate"], "--out FILE"),
        (["simulate", "--out", "x", "--patients", "0"], "at least 1"),
        (["simulate", "--out", "x", "--start", "yesterday-ish"], "RFC 3339"),
        (["evaluate", "--input", "/nonexistent.jsonl"], "not a cohort"),
    ],
)
def test_simulate_and_evaluate_usage_errors_are_one_line(argv, needle, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--web-port", "many"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "web-port" in err


def test_invalid_setting_is_one_line(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_API_TOKENS", "abc:superuser")
    assert main(["config"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "superuser" in err


def test_schema_prints_each_and_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "alert"]) == 0
    alert = json.loads(capsys.readouterr().out)
    assert alert["properties"]["kind"]["enum"][0] == "deterioration"
    assert main(["schema"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(messages.SCHEMAS)
    assert main(["schema", "nonsense"]) == 2
    assert "known:" in capsys.readouterr().err


def test_config_masks_secrets(capsys, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("VIGIL_API_TOKENS", "tok123:clinician")
    monkeypatch.setenv("VIGIL_BROKER_SASL_PASSWORD", "pw-456")
    argv = ["config", "--redis-url", "redis://:pw-789@r:6379/0", "--state-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["redis_url"] == "redis://:********@r:6379/0"
    for secret in ("tok123", "pw-456", "pw-789"):
        assert secret not in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"vigilstream {version('vigilstream')}"


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    import argparse

    from vigilstream.cli import build_parser

    def options(parser: argparse.ArgumentParser, name: str):  # type: ignore[no-untyped-def]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from options(sub, f"{name} {sub_name}")
            else:
                yield name, action, parser

    seen = 0
    for name, action, parser in options(build_parser(), "vigilstream"):
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        if name == "vigilstream demo" and action.dest == "duration":
            assert "(default: 75.0)" in parser.format_help()
        seen += 1
    assert seen > 40


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"VIGIL_WEB_PORT": "abc"}, "VIGIL_WEB_PORT"),
        (
            {"VIGIL_WEBHOOK_URLS": "https://ok.example/hook, ftp://files.example"},
            "VIGIL_WEBHOOK_URLS",
        ),
        ({"VIGIL_WEBHOOK_URLS": "not a url"}, "not an http(s) URL"),
    ],
)
def test_config_errors_name_the_environment_variable(env, needle, capsys, monkeypatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["worker"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
