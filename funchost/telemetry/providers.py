"""Host-side OpenTelemetry: the providers, the Prometheus `/metrics` route, and the wiring of the host's
metrics, gauges, tracing and HTTP middleware.

The host owns the process's MeterProvider and TracerProvider (set as the OpenTelemetry globals,
so the app's own instruments made with the OpenTelemetry API land in the same place): metrics
go to a Prometheus registry served at `GET /metrics`, and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is
set, metrics and spans are also exported by OTLP/HTTP, as Azure Functions' OpenTelemetry mode does.
With `enabled=False` nothing is recorded (used to measure the overhead side by side).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .gauges import GaugeSource, HostGauges
from .host import HostTelemetry
from .http import HTTP_BUCKETS, HttpMetrics, HttpTracing
from .metrics import HostMetrics
from .store import StoreSize
from .tracing import HostTracing, NoTracing

log = logging.getLogger("funchost.telemetry")

Middleware = Callable[..., Awaitable[web.StreamResponse]]


class Observability:
    """Owns the telemetry providers of one host process. Created before the dispatcher."""

    def __init__(self, enabled: bool = True, span_exporter: Any | None = None,
                 service_name: str = "guitar-alchemist-funchost", tracing: bool = False,
                 otlp_endpoint: str | None = None, id_generator_named: bool = False) -> None:
        """`tracing` (FUNCHOST_TRACING), `otlp_endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT) and `id_generator_named`
        (OTEL_PYTHON_ID_GENERATOR is set) come from the host's configuration (funchost/config.py)."""
        self.enabled = enabled
        self.registry: Any = None
        self.meter_provider: Any = None
        self.tracer_provider: Any = None
        self.tracer: Any = None
        self._http_duration: Any = None
        self._host_metrics: HostMetrics | None = None
        self._gauges: HostGauges | None = None
        self._store_size: StoreSize | None = None
        if not enabled:
            self.host_telemetry = HostTelemetry()
            return
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from prometheus_client import CollectorRegistry, ProcessCollector

        resource = _resource(service_name)
        self.registry = CollectorRegistry()
        # target_info carries the resource (service name, version, instance) as labels; the process
        # collector adds process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds...
        readers: list[Any] = [PrometheusMetricReader(registry=self.registry, disable_target_info=False)]
        ProcessCollector(registry=self.registry)
        otlp = otlp_endpoint
        if otlp:
            readers.extend(_otlp_metric_readers())
        from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOffExemplarFilter

        # No exemplars: nothing here reads them, and sampling them costs on every measurement.
        self.meter_provider = MeterProvider(resource=resource, metric_readers=readers,
                                            exemplar_filter=AlwaysOffExemplarFilter())
        processors: list[Any] = []
        if span_exporter is not None:
            processors.append(SimpleSpanProcessor(span_exporter))
        if otlp:
            exporter = _otlp_span_exporter()
            if exporter is not None:
                processors.append(BatchSpanProcessor(exporter))
        # Spans cost as much as the work they describe on the entity hot path; with nobody to
        # receive them (no OTLP endpoint, no test exporter) the host makes none.
        if processors or tracing:
            from .head_sampling import PresetIdGenerator

            # The host's id generator lets head sampling draw a trace id before the SDK does
            # (`head_sampling`); a generator named in OTEL_PYTHON_ID_GENERATOR takes precedence.
            ids = None if id_generator_named else PresetIdGenerator()
            self.tracer_provider = TracerProvider(resource=resource, id_generator=ids)
            for processor in processors:
                self.tracer_provider.add_span_processor(processor)
            self.tracer = self.tracer_provider.get_tracer("funchost")
        _set_globals(metrics, trace, self.meter_provider, self.tracer_provider)
        meter = self.meter_provider.get_meter("funchost")
        self._http_duration = meter.create_histogram(
            "http.server.request.duration", unit="s", description="Duration of HTTP server requests",
            explicit_bucket_boundaries_advisory=HTTP_BUCKETS)
        self._host_metrics = HostMetrics(meter)
        self.host_telemetry = HostTelemetry(
            self._host_metrics, HostTracing(self.tracer) if self.tracer is not None else NoTracing())

    def middlewares(self, *inner: Any) -> list[Any]:
        """The app's middlewares, outermost first: JSON errors (measured when enabled), then `inner`."""
        from ..auth import json_errors

        if self._host_metrics is None:
            return [json_errors, *inner]
        if self.tracer is None:
            return [HttpMetrics(self._http_duration, self._host_metrics.buffers), *inner]
        return [HttpTracing(self._http_duration, self._host_metrics.buffers, self.tracer), *inner]

    def observe(self, source: GaugeSource) -> None:
        """Register the gauges over the host's current work, read from `source` (the dispatcher)."""
        if self._host_metrics is not None:
            self._gauges = HostGauges(self._host_metrics.meter, source, self._host_metrics.take_high_water)

    def observe_store(self, path: str) -> None:
        """Register `funchost_store_size_bytes` over the SQLite store at `path`."""
        if self._host_metrics is not None:
            self._store_size = StoreSize(self._host_metrics.meter, path)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/metrics", self._metrics)

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.registry is None:
            return web.Response(text="# telemetry is disabled (FUNCHOST_TELEMETRY=0)\n",
                                content_type="text/plain")
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def shutdown(self) -> None:
        for provider in (self.meter_provider, self.tracer_provider):
            if provider is not None:
                try:
                    provider.shutdown()
                except Exception:  # exporters may fail on the way out; never block shutdown
                    log.warning("telemetry provider shutdown failed", exc_info=True)


def _resource(service_name: str) -> Any:
    """The host's resource: service name, version and instance id, each overridable by
    `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` (e.g. `service.version=1.4.2` for the app's release)."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    from .. import __version__

    configured = OTELResourceDetector().detect().attributes
    defaults = {"service.name": service_name, "service.version": __version__,
                "service.instance.id": f"{socket.gethostname()}-{os.getpid()}"}
    return Resource.create({key: value for key, value in defaults.items() if key not in configured})


def _set_globals(metrics: Any, trace: Any, meter_provider: Any, tracer_provider: Any) -> None:
    """Make the host's providers the process globals, so the app's API calls reach them."""
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.trace import ProxyTracerProvider

    if isinstance(metrics.get_meter_provider(), metrics_internal._ProxyMeterProvider):
        metrics.set_meter_provider(meter_provider)
    if tracer_provider is not None and isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        trace.set_tracer_provider(tracer_provider)


def _otlp_metric_readers() -> list[Any]:
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp-proto-http is missing")
        return []
    return [PeriodicExportingMetricReader(OTLPMetricExporter())]


def _otlp_span_exporter() -> Any | None:
    """The SDK's OTLP/HTTP span exporter, encoding with the host's faster encoder (`otlp_encoding`)."""
    try:
        from .otlp_encoding import HostSpanExporter
    except ImportError:
        return None
    return HostSpanExporter()
