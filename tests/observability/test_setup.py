"""`telemetry.configure()`: OTLP providers when nobody set any and an endpoint is configured, else nothing.

Providers are process-wide and can be set once, so each case runs in a fresh Python process. The
OTLP endpoint is a local HTTP receiver that records what the real OTLP/HTTP exporters post.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.hostproc import ROOT
from tests.observability.otlp import Collector

SCRIPT = r"""
import sys
from opentelemetry import metrics, trace
if sys.argv[1] == "preset":
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    metrics.set_meter_provider(MeterProvider())
    trace.set_tracer_provider(TracerProvider())
before = (type(metrics.get_meter_provider()).__name__, type(trace.get_tracer_provider()).__name__)
import telemetry
installed = telemetry.configure()
again = telemetry.configure()
telemetry.record_attempt(True, 0.42)
with trace.get_tracer("probe").start_as_current_span("probe-span"):
    telemetry.tag_span({"ga.player_id": "probe-player"})
after = (type(metrics.get_meter_provider()).__name__, type(trace.get_tracer_provider()).__name__)
for provider in (metrics.get_meter_provider(), trace.get_tracer_provider()):
    if hasattr(provider, "force_flush"):
        provider.force_flush()
print(installed, again, before, after)
"""


def _run(case: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, case], cwd=str(ROOT), capture_output=True, text=True,
                            timeout=60, env={**clean, "PYTHONPATH": str(ROOT), **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_with_an_otlp_endpoint_and_no_providers_it_exports_metrics_and_spans(collector: Collector) -> None:
    line = _run("fresh", OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, OTEL_SERVICE_NAME="ga-probe")
    assert line.startswith("True False"), line  # installed once; the second call changes nothing
    assert "('MeterProvider', 'TracerProvider')" in line
    metrics_body = collector.body("/v1/metrics")
    assert b"ga_player_attempts" in metrics_body and b"ga_player_difficulty_ratio" in metrics_body
    assert b"ga-probe" in metrics_body, "the resource names the service"
    spans_body = collector.body("/v1/traces")
    assert b"probe-span" in spans_body and b"probe-player" in spans_body


def test_providers_someone_else_set_are_left_alone(collector: Collector) -> None:
    line = _run("preset", OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint)
    assert line.startswith("False False"), line
    assert not collector.posts, "the app must not add exporters to a host's providers"


DISABLED = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"}


@pytest.mark.parametrize("env", [{}, DISABLED], ids=["no-endpoint", "sdk-disabled"])
def test_without_an_endpoint_or_when_disabled_it_keeps_the_no_op_api(env: dict[str, str]) -> None:
    line = _run("fresh", **env)
    assert line.startswith("False False"), line
    assert line.endswith("('_ProxyMeterProvider', 'ProxyTracerProvider')"), line
