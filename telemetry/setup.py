"""The one place that sets OpenTelemetry providers up from configuration, for when no host did.

On funchost the host owns the process's MeterProvider and TracerProvider (Prometheus at `/metrics`,
plus OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set), so `configure()` finds them in place and does
nothing. In an Azure Functions Python worker nobody sets them: with `OTEL_EXPORTER_OTLP_ENDPOINT`
set (the app setting that Azure Functions' OpenTelemetry mode reads), `configure()` installs an SDK
MeterProvider with a periodic OTLP metric reader and a TracerProvider with a batching OTLP span
exporter, both described by `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`; without it, it leaves
the no-op API in place, so every instrument costs next to nothing. The exporters read the standard
`OTEL_EXPORTER_OTLP_*` variables themselves (headers, timeouts, per-signal endpoints).

`configure()` runs at most once per process (the first call decides) and is safe from any thread.
It is called by `telemetry.metrics` before the first instrument is made; calling it earlier (at
app start) also works once the host has set its providers before importing the app.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "guitar-alchemist-functions"

_lock = threading.Lock()
_decided = False


def configure(environ: Mapping[str, str] | None = None) -> bool:
    """Install OTLP-exporting providers if none are set and an OTLP endpoint is configured.

    Returns True when this call installed at least one provider. A missing exporter package is
    logged and leaves that signal on the no-op API; it never raises into the app.
    """
    global _decided
    env = os.environ if environ is None else environ
    with _lock:
        if _decided:
            return False
        _decided = True
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return False
        if not _otlp_configured(env):
            return False
        try:
            return _install(env)
        except Exception:  # telemetry must never take the app down
            log.exception("OpenTelemetry set-up failed; the app runs without exporting telemetry")
            return False


def _otlp_configured(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                                          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _install(env: Mapping[str, str]) -> bool:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.resources import Resource

    need_meter = _is_proxy_meter_provider(metrics.get_meter_provider())
    need_tracer = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    if not (need_meter or need_tracer):
        return False  # a host (funchost) or the app's own code already set them
    service = env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    resource = Resource.create({"service.name": service, "service.instance.id": _instance_id(env)})
    grpc = env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip().lower() == "grpc"
    installed = False
    if need_meter:
        reader = _metric_reader(grpc)
        if reader is not None:
            from opentelemetry.sdk.metrics import MeterProvider

            metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
            installed = True
    if need_tracer:
        exporter = _span_exporter(grpc)
        if exporter is not None:
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=resource)
            provider.add_span_processor(BatchSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            installed = True
    if installed:
        log.info("OpenTelemetry: exporting %s by OTLP%s as service %r",
                 " and ".join(s for s, on in (("metrics", need_meter), ("traces", need_tracer)) if on),
                 "/gRPC" if grpc else "/HTTP", service)
    return installed


def _instance_id(env: Mapping[str, str]) -> str:
    """One id per worker process: cumulative series of several processes must not be merged."""
    machine = env.get("WEBSITE_INSTANCE_ID") or env.get("COMPUTERNAME") or socket.gethostname()
    return f"{machine[:16]}-{os.getpid()}"


def _is_proxy_meter_provider(provider: Any) -> bool:
    """True while nobody has called `metrics.set_meter_provider` (the API's placeholder is in place)."""
    try:
        from opentelemetry.metrics._internal import _ProxyMeterProvider
    except ImportError:  # pragma: no cover - a future API layout: only replace what is clearly no SDK
        return type(provider).__name__ == "_ProxyMeterProvider"
    return isinstance(provider, _ProxyMeterProvider)


def _metric_reader(grpc: bool) -> Any | None:
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    try:
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
    except ImportError:
        log.warning("OTLP is configured but the %s metric exporter is not installed (%s)",
                    "gRPC" if grpc else "HTTP", _PACKAGE[grpc])
        return None
    return PeriodicExportingMetricReader(OTLPMetricExporter())


def _span_exporter(grpc: bool) -> Any | None:
    try:
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )
    except ImportError:
        log.warning("OTLP is configured but the %s span exporter is not installed (%s)",
                    "gRPC" if grpc else "HTTP", _PACKAGE[grpc])
        return None
    return OTLPSpanExporter()


_PACKAGE = {True: "opentelemetry-exporter-otlp-proto-grpc", False: "opentelemetry-exporter-otlp-proto-http"}
