"""The host exports its metrics and spans by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

import time
from pathlib import Path

from tests.hostproc import ROOT, HostProcess
from tests.observability.otlp import Collector

API = "/runtime/webhooks/durabletask"


def test_host_exports_metrics_and_spans_by_otlp(collector: Collector, tmp_path: Path) -> None:
    host = HostProcess(ROOT / "tests" / "conformance_app", tmp_path, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "funchost-otlp-probe"}).start()
    try:
        instance_id = host.request("POST", f"{API}/orchestrators/sequence", ["OTLP"]).json()["id"]
        assert host.wait_status(instance_id)["output"] == ["Hello OTLP!"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            spans, metrics = collector.body("/v1/traces"), collector.body("/v1/metrics")
            if b"orchestration sequence" in spans and b"funchost_orchestrations_started" in metrics:
                break
            time.sleep(0.1)
    finally:
        assert host.stop() == 0
    spans, metrics = collector.body("/v1/traces"), collector.body("/v1/metrics")
    assert b"orchestration sequence" in spans and b"activity say_hello" in spans
    assert b"POST /runtime/webhooks/durabletask/orchestrators/{name}" in spans
    assert b"funchost_orchestrations_started" in metrics and b"http.server.request.duration" in metrics
    assert b"funchost-otlp-probe" in metrics
