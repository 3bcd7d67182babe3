"""Host-side OpenTelemetry: providers, the Prometheus `/metrics` route and the HTTP server middleware.

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
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .bound_metrics import BufferedHistogram
from .telemetry import HostTelemetry

log = logging.getLogger("funchost.observability")

Middleware = Callable[..., Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_INTERNAL_PREFIX = "/durabletask/"
_HOST_PREFIXES = ("/runtime/webhooks/", "/durabletask/")  # the management API and the client RPC
# Request key of the `head_sampling.DroppedTrace` of a request the sampler dropped (no span was made).
DROPPED_TRACE: Any = (web.RequestKey("funchost.dropped_trace", object) if hasattr(web, "RequestKey")
                      else "funchost.dropped_trace")
_HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


class Observability:
    """Owns the telemetry providers of one host process. Created before the dispatcher."""

    def __init__(self, enabled: bool = True, span_exporter: Any | None = None,
                 service_name: str = "guitar-alchemist-funchost") -> None:
        self.enabled = enabled
        self.registry: Any = None
        self.meter_provider: Any = None
        self.tracer_provider: Any = None
        self.tracer: Any = None
        self._http_duration: Any = None
        if not enabled:
            self.host_telemetry = HostTelemetry(None)
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
        otlp = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
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
        if processors or os.environ.get("FUNCHOST_TRACING") == "1":
            from .head_sampling import PresetIdGenerator

            # The host's id generator lets head sampling draw a trace id before the SDK does
            # (`head_sampling`); a generator named in OTEL_PYTHON_ID_GENERATOR takes precedence.
            ids = None if os.environ.get("OTEL_PYTHON_ID_GENERATOR") else PresetIdGenerator()
            self.tracer_provider = TracerProvider(resource=resource, id_generator=ids)
            for processor in processors:
                self.tracer_provider.add_span_processor(processor)
            self.tracer = self.tracer_provider.get_tracer("funchost")
        _set_globals(metrics, trace, self.meter_provider, self.tracer_provider)
        meter = self.meter_provider.get_meter("funchost")
        self._http_duration = meter.create_histogram(
            "http.server.request.duration", unit="s", description="Duration of HTTP server requests",
            explicit_bucket_boundaries_advisory=_HTTP_BUCKETS)
        self.host_telemetry = HostTelemetry(meter, self.tracer)

    def middlewares(self, auth: Middleware) -> list[Middleware]:
        """The app's middlewares, outermost first: JSON errors (measured when enabled), then `auth`."""
        from .auth import json_errors

        if not self.enabled:
            return [json_errors, auth]
        return [self._http_middleware(), auth]

    def _http_middleware(self) -> Middleware:
        """JSON errors and `http.server.request.duration` in one layer (a SERVER span too with a tracer)."""
        from opentelemetry import context as otel_context
        from opentelemetry.propagate import extract, get_global_textmap
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

        from .auth import json_error_response, json_errors
        from .head_sampling import RootSampling

        tracer = self.tracer
        duration = self._http_duration
        buffers = self.host_telemetry.buffers
        by_key: dict[tuple[str, str, int, str, str], BufferedHistogram] = {}

        def record(request: web.Request, route: str, status: int, seconds: float, error: str = "") -> None:
            """One request's duration. `error.type` (semantic conventions): the class of an exception
            that escaped, else the status code of a 5xx, else absent."""
            error_type = error or (str(status) if status >= 500 else "")
            key = (route, request.method, status, request.scheme, error_type)
            histogram = by_key.get(key)
            if histogram is None:  # routes, methods, statuses and errors are few: one buffered histogram each
                attributes: dict[str, str | int] = {
                    "http.route": route, "http.request.method": request.method,
                    "http.response.status_code": status, "url.scheme": request.scheme}
                if error_type:
                    attributes["error.type"] = error_type
                histogram = by_key[key] = buffers.histogram(duration, attributes)
            histogram.record(seconds)

        @web.middleware
        async def measure(request: web.Request, handler: Handler, route: str | None = None) -> web.StreamResponse:
            """The middleware when not tracing; `observe` calls it with the route it has looked up."""
            if request.path.startswith(_INTERNAL_PREFIX):  # the app's own client RPC, not user traffic
                return await json_errors(request, handler)
            if route is None:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
            start = time.perf_counter()
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                converted = json_error_response(exc)
                record(request, route, exc.status, time.perf_counter() - start)
                if converted is None:
                    raise
                return converted
            except BaseException as exc:
                record(request, route, 500, time.perf_counter() - start, type(exc).__qualname__)
                raise
            record(request, route, response.status, time.perf_counter() - start)
            return response

        if tracer is None:
            return measure

        propagator_fields = tuple(get_global_textmap().fields)
        root_sampling = RootSampling(tracer)

        @web.middleware
        async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
            """A SERVER span around `measure`, in the trace of the caller's `traceparent`.

            One context attach per request; the caller's context is only extracted when the request
            carries one of the propagator's headers, and a span the sampler dropped gets no attributes."""
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            headers = request.headers
            parent = None
            for field in propagator_fields:
                if field in headers:
                    parent = extract(headers)
                    break
            if parent is None and root_sampling.enabled and request.path.startswith(_HOST_PREFIXES):
                dropped = root_sampling.dropped(route)
                if dropped is not None:  # no span; the management API passes the decision on
                    request[DROPPED_TRACE] = dropped
                    return await measure(request, handler, route)
            span = tracer.start_span(f"{request.method} {route}", context=parent, kind=SpanKind.SERVER)
            recording = span.is_recording()
            if recording:
                span.set_attributes({"http.request.method": request.method, "http.route": route,
                                     "url.path": request.path, "url.scheme": request.scheme})
            token = otel_context.attach(set_span_in_context(span, parent))
            status = 500
            try:
                response = await measure(request, handler, route)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            except BaseException as exc:
                if recording:
                    span.record_exception(exc)
                raise
            finally:
                otel_context.detach(token)
                if recording:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_attribute("error.type", str(status))
                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                span.end()

        return observe

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

    from . import __version__

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
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        return None
    return OTLPSpanExporter()
