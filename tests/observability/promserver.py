"""A real Prometheus (the Debian `prometheus` binary) scraping one test host, on free loopback ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import free_port

SCRAPE_JOB = "funchost"  # the job name the dashboards' "up" panel selects


def prometheus_binary() -> str:
    """The Prometheus binary; skip when it is missing, except in CI, where missing is a failure."""
    found = shutil.which("prometheus")
    if found is None:
        message = "prometheus is not installed (apt-get install -y prometheus; `make test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class PrometheusProcess:
    """Prometheus with a generated config: one job scraping `target` every second, TSDB in `data_dir`,
    and, given `rules` (a rules file's text), those rules evaluated every second."""

    def __init__(self, target: str, data_dir: Path, rules: str | None = None) -> None:
        self.target = target
        self.rules = rules
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "prometheus.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusProcess:
        binary = prometheus_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        rule_files = ""
        if self.rules is not None:
            (self.data_dir / "rules.yml").write_text(self.rules)
            rule_files = "rule_files:\n  - rules.yml\n"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n" + rule_files +
            f"scrape_configs:\n  - job_name: {SCRAPE_JOB}\n    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: ['{self.target}']\n")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"prometheus did not become ready: {self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def query(self, expr: str, at: float | None = None) -> dict[str, Any]:
        """`/api/v1/query` for `expr` (at Unix time `at`, default now); returns the `data` object."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        request = urllib.request.Request(self.base + "/api/v1/query", data=urllib.parse.urlencode(params).encode(),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as err:  # 400 for a query Prometheus cannot parse
            body = json.loads(err.read())
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus rejected {expr!r}: {body.get('errorType')}: {body.get('error')}")
        data: dict[str, Any] = body["data"]
        return data

    def wait_for(self, expr: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll `expr` until it returns a non-empty result; returns that result's data."""
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            data = self.query(expr)
            if data.get("result"):
                return data
            time.sleep(0.2)
        raise AssertionError(f"{expr!r} returned no data within {timeout} s; last answer {data}; "
                             f"targets: {self.targets()}")

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """The active (pending or firing) alerts named `name`, from `/api/v1/alerts`."""
        with urllib.request.urlopen(self.base + "/api/v1/alerts", timeout=10) as resp:
            found = json.loads(resp.read())["data"]["alerts"]
        return [alert for alert in found if alert["labels"].get("alertname") == name]

    def targets(self) -> Any:
        with urllib.request.urlopen(self.base + "/api/v1/targets", timeout=10) as resp:
            return [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")}
                    for t in json.loads(resp.read())["data"]["activeTargets"]]
