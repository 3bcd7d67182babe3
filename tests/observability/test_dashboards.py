"""The Grafana dashboards and the docker-compose stack that serves them are consistent with each other.

Whether every query returns data is proved against a real Prometheus in test_prometheus.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.observability.exposition import DASHBOARD_FILES, DASHBOARDS, dashboard_queries
from tests.observability.promserver import SCRAPE_JOB


def _boards() -> dict[str, dict]:
    return {name: json.loads((DASHBOARDS / name).read_text()) for name in DASHBOARD_FILES}


def test_four_dashboards_with_unique_uids_on_the_provisioned_datasource() -> None:
    boards = _boards()
    assert len({b["uid"] for b in boards.values()}) == len(DASHBOARD_FILES)
    provisioned = (DASHBOARDS / "provisioning" / "datasources" / "prometheus.yml").read_text()
    assert "uid: prometheus" in provisioned
    for name, board in boards.items():
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert len(panels) >= 6, name
        for panel in panels:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, (name, panel["title"])
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), (name, panel["title"])
            assert panel.get("description"), f"{name} / {panel['title']}: say what the panel shows"


def test_queries_use_only_exported_metric_families() -> None:
    prefixes = ("ga_", "funchost_", "http_server_request_duration_seconds", "up{")
    for file, panel, expr in dashboard_queries():
        assert any(p in expr for p in prefixes), f"{file} / {panel}: {expr}"


def test_compose_mounts_every_dashboard_and_scrapes_the_host_on_7071() -> None:
    compose = (DASHBOARDS / "docker-compose.yml").read_text()
    for name in DASHBOARD_FILES:
        assert f"./{name}:" in compose, f"{name} is not mounted into Grafana"
    assert "host.docker.internal:host-gateway" in compose
    assert "./provisioning:/etc/grafana/provisioning" in compose
    scrape = (DASHBOARDS / "prometheus.yml").read_text()
    assert "host.docker.internal:7071" in scrape
    assert f"job_name: {SCRAPE_JOB}" in scrape, "the dashboards' up panel selects this job"
    provider = (DASHBOARDS / "provisioning" / "dashboards" / "guitar-alchemist.yml").read_text()
    assert "path: /var/lib/grafana/dashboards/guitar-alchemist" in provider
    assert compose.count("/var/lib/grafana/dashboards/guitar-alchemist/") >= len(DASHBOARD_FILES)


def test_compose_prometheus_config_is_valid() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    result = subprocess.run([promtool, "check", "config", str(DASHBOARDS / "prometheus.yml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
