"""The alert rules (alerts/rules.yml) checked and unit-tested by Debian's promtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RULES = ALERTS / "rules.yml"
RULES_TEST = ALERTS / "rules_test.yml"
RUNBOOK = ROOT / "docs" / "observability.md"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed (apt-get install -y prometheus; `make test` installs it)")
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", str(RULES), cwd=ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", str(RULES_TEST), cwd=ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_catch_a_wrong_threshold(tmp_path: Path) -> None:
    # The same unit tests against rules whose slow-actor threshold is 10 s: the slow Worker no longer
    # alerts, so the expectations must fail. Shows the unit tests really pin the rules' behaviour.
    text = RULES.read_text()
    slow_actor = "(rate(funchost_entity_operation_duration_seconds_bucket[5m]))) > "
    mutated = text.replace(slow_actor + "1", slow_actor + "10")
    assert mutated != text
    (tmp_path / "rules.yml").write_text(mutated)
    shutil.copy(RULES_TEST, tmp_path / "rules_test.yml")
    result = run_promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "FunchostSlowActor" in result.stdout + result.stderr


def test_every_alert_fires_and_stays_silent_in_the_unit_tests() -> None:
    document = yaml.safe_load(RULES_TEST.read_text())
    cases = [case for test in document["tests"] for case in test["alert_rule_test"]]
    for rule in alert_rules():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']} never expected to fire"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']} never expected silent"


def test_every_alert_has_severity_annotations_and_a_runbook() -> None:
    headings = {
        re.sub(r"[^a-z0-9-]", "", line.lstrip("#").strip().lower().replace(" ", "-"))
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and "$labels." in annotations["description"], rule["alert"]
        anchor = rule["alert"].lower()
        assert annotations["runbook"] == f"docs/observability.md#{anchor}"
        assert anchor in headings, f"no runbook section `### {rule['alert']}` in docs/observability.md"


def test_compose_prometheus_loads_the_rules() -> None:
    config = yaml.safe_load((ROOT / "dashboards" / "prometheus.yml").read_text())
    assert "alerts/rules.yml" in config["rule_files"]
    compose = (ROOT / "dashboards" / "docker-compose.yml").read_text()
    assert "../alerts/rules.yml:/etc/prometheus/alerts/rules.yml:ro" in compose
