"""Every series a Grafana panel queries is one the worker exports (a renamed metric must not
leave a dashboard silently empty)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from streams.metrics import Metrics

DASHBOARDS = sorted(
    (Path(__file__).parents[2] / "docker" / "grafana" / "dashboards").glob("*.json")
)
SERIES = re.compile(r"\b(vigil_[a-z_]+)")


def exported() -> set[str]:
    """Sample names the worker's registry can produce (counters' _total, histograms' parts)."""
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        names.update(family.name + s for s in suffixes.get(family.type, ()))
    return names


def queried(dashboard: Path) -> set[str]:
    panels = json.loads(dashboard.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    return {name for e in exprs for name in SERIES.findall(e)}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.stem for d in DASHBOARDS])
def test_every_queried_series_is_exported(dashboard: Path) -> None:
    wanted = queried(dashboard)
    assert wanted, f"{dashboard.name} queries no vigil_ series"
    assert wanted <= exported(), f"not exported: {sorted(wanted - exported())}"


def test_the_suggestions_row_shows_sent_suppressed_and_reward() -> None:
    (dashboard,) = [d for d in DASHBOARDS if d.stem == "suggestions"]
    assert {"vigil_suggestions_total", "vigil_suggestions_suppressed_total",
            "vigil_suggestion_reward_bucket"} <= queried(dashboard)  # fmt: skip
