"""End to end with a real Prometheus: the generated alert rules page on a slow actor and see a burst.

A host runs `slow_app` (one Worker entity whose operations sleep as long as asked); Prometheus scrapes
it every second and evaluates the rules of `dashboards/alert_rules.py`, built for the test with a
0.2 s slow-actor threshold, 5 s rate windows and a 2 s `for:` (the production rules differ only in
these numbers). The Worker is made slow until FunchostSlowActor fires, then fast until it resolves;
then an orchestration signals it 30 times in one episode, and that burst, drained long before the
next scrape, must show in the high-water gauge.

Parallel-safe: free ports, its own data directories, fresh entity keys; nothing shared on disk.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.alert_rules import Thresholds, render
from tests.hostproc import HostProcess, wait_until
from tests.observability.exposition import Exposition
from tests.observability.promserver import PrometheusProcess, prometheus_binary

APP = Path(__file__).resolve().parent / "slow_app"
SLOW_MS, BURST = 300, 30
TEST_RULES = Thresholds(slow_actor_s=0.2, hold="2s", window="5s")


class Signaller:
    """Signals `work` operations of `delay_ms` to one Worker from a thread, one after another, until stopped."""

    def __init__(self, host: HostProcess, key: str) -> None:
        self.host = host
        self.path = f"/runtime/webhooks/durabletask/entities/Worker/{key}?op=work"
        self.delay_ms = SLOW_MS
        self.sent = 0
        self.refused: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            status = self.host.request("POST", self.path, self.delay_ms).status
            if status != 202:
                self.refused.append(status)
            self.sent += 1
            self._stop.wait(max(0.05, self.delay_ms / 1000.0))  # about as fast as the Worker drains

    def __enter__(self) -> Signaller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


_until = functools.partial(wait_until, timeout=40.0, interval=0.25)  # alerts and state settle slowly


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[HostProcess, PrometheusProcess]]:
    prometheus_binary()
    host = HostProcess(APP, tmp_path / "host", env={"FUNCHOST_TELEMETRY": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    prometheus = PrometheusProcess(f"127.0.0.1:{host.port}", tmp_path / "prometheus", rules=render(TEST_RULES))
    try:
        host.start()
        prometheus.start()
        prometheus.wait_for('up{job="funchost"} == 1')
        yield host, prometheus
    finally:
        prometheus.stop()
        host.stop()


def _firing(prometheus: PrometheusProcess) -> list[dict[str, Any]]:
    return [a for a in prometheus.alerts("FunchostSlowActor") if a["state"] == "firing"]


def test_slow_actor_alert_fires_then_resolves_and_a_burst_shows_in_the_high_water(
        stack: tuple[HostProcess, PrometheusProcess]) -> None:
    host, prometheus = stack
    key = f"slow-{uuid.uuid4().hex[:8]}"
    assert not prometheus.alerts("FunchostSlowActor")
    with Signaller(host, key) as signaller:
        _until(lambda: _firing(prometheus), "FunchostSlowActor did not fire for 300 ms operations")
        [alert] = _firing(prometheus)
        assert alert["labels"] == {"alertname": "FunchostSlowActor", "entity": "worker", "job": "funchost",
                                   "instance": f"127.0.0.1:{host.port}", "severity": "warning"}
        assert "worker" in alert["annotations"]["description"]
        signaller.delay_ms = 0  # fast again: the p95 falls once the 5 s window holds only fast operations
        _until(lambda: not prometheus.alerts("FunchostSlowActor"), "FunchostSlowActor did not resolve")
    assert signaller.sent > 0 and not signaller.refused, signaller.refused

    burst_key = f"burst-{uuid.uuid4().hex[:8]}"
    reply = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/burst",
                         {"key": burst_key, "count": BURST})
    assert reply.status == 202, reply.body[:300]
    assert host.wait_status(reply.json()["id"])["runtimeStatus"] == "Completed"
    state = f"/runtime/webhooks/durabletask/entities/Worker/{burst_key}"
    _until(lambda: host.request("GET", state).json() == BURST, "the burst was not applied")
    deepest = 'max_over_time(funchost_entity_mailbox_high_water{entity="worker"}[1m])'
    seen = prometheus.wait_for(f"{deepest} >= {BURST}")["result"]
    assert float(seen[0]["value"][1]) >= BURST
    final = Exposition.scrape(host)
    depth = "funchost_entity_mailbox_enqueue_depth_bucket"
    deeper_than_20 = final.value(depth, entity="worker", le="+Inf") - final.value(depth, entity="worker", le="20.0")
    assert deeper_than_20 >= BURST - 20, "operations 21..30 of the burst joined a mailbox deeper than 20"
