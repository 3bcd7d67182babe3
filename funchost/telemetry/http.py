"""The HTTP server middleware: JSON errors and `http.server.request.duration`, and with a tracer a
SERVER span per request (OpenTelemetry HTTP semantic conventions).

`HttpMetrics` measures; `HttpTracing` wraps it in a span. One instance per aiohttp application,
called on its event loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .bound_metrics import BufferedHistogram, HistogramBuffers

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_INTERNAL_PREFIX = "/durabletask/"
_HOST_PREFIXES = ("/runtime/webhooks/", "/durabletask/")  # the management API and the client RPC
# Request key of the `head_sampling.DroppedTrace` of a request the sampler dropped (no span was made).
DROPPED_TRACE: Any = (web.RequestKey("funchost.dropped_trace", object) if hasattr(web, "RequestKey")
                      else "funchost.dropped_trace")
HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


def route_of(request: web.Request) -> str:
    """The route template the request matched (`http.route`), or "unmatched"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


class HttpMetrics:
    """JSON errors and `http.server.request.duration` in one middleware layer."""

    __middleware_version__ = 1  # an aiohttp new-style middleware

    def __init__(self, duration: Any, buffers: HistogramBuffers) -> None:
        from ..auth import json_error_response, json_errors

        self._duration = duration
        self._buffers = buffers
        self._json_errors = json_errors
        self._json_error_response = json_error_response
        self._by_key: dict[tuple[str, str, int, str, str], BufferedHistogram] = {}

    def record(self, request: web.Request, route: str, status: int, seconds: float, error: str = "") -> None:
        """One request's duration. `error.type`: the class of an exception that escaped, else the status
        code of a 5xx, else absent."""
        error_type = error or (str(status) if status >= 500 else "")
        key = (route, request.method, status, request.scheme, error_type)
        histogram = self._by_key.get(key)
        if histogram is None:  # routes, methods, statuses and errors are few: one buffered histogram each
            attributes: dict[str, str | int] = {
                "http.route": route, "http.request.method": request.method,
                "http.response.status_code": status, "url.scheme": request.scheme}
            if error_type:
                attributes["error.type"] = error_type
            histogram = self._by_key[key] = self._buffers.histogram(self._duration, attributes)
        histogram.record(seconds)

    async def measure(self, request: web.Request, handler: Handler, route: str | None = None) -> web.StreamResponse:
        """Run `handler`, answering HTTP errors as JSON, and record its duration under `route`."""
        if request.path.startswith(_INTERNAL_PREFIX):  # the app's own client RPC, not user traffic
            return await self._json_errors(request, handler)
        route = route or route_of(request)
        start = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            converted = self._json_error_response(exc)
            self.record(request, route, exc.status, time.perf_counter() - start)
            if converted is None:
                raise
            return converted
        except BaseException as exc:
            self.record(request, route, 500, time.perf_counter() - start, type(exc).__qualname__)
            raise
        self.record(request, route, response.status, time.perf_counter() - start)
        return response

    # The middleware itself, without a coroutine layer of its own: a request's coroutines are walked
    # through at every resumption (the signal path waits for its commit).
    __call__ = measure


class HttpTracing(HttpMetrics):
    """`HttpMetrics` inside a SERVER span, in the trace of the caller's `traceparent`.

    One context attach per request; the caller's context is only extracted when the request carries
    one of the propagator's headers, and a span the sampler dropped gets no attributes. The span is a
    `live_spans.HostSpan` where that is the SDK's span (it is cheaper to make), else the SDK's own.
    Requests to the host's own routes without a trace context go through head sampling first
    (`head_sampling`).
    """

    def __init__(self, duration: Any, buffers: HistogramBuffers, tracer: Any) -> None:
        super().__init__(duration, buffers)
        from opentelemetry import context as otel_context
        from opentelemetry.propagate import extract, get_global_textmap
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

        from .head_sampling import RootSampling
        from .live_spans import LiveSpans

        self._tracer = tracer
        self._live = LiveSpans(tracer)
        self._fields = tuple(get_global_textmap().fields)
        self._root_sampling = RootSampling(tracer)
        self._extract = extract
        self._context = otel_context
        self._server = SpanKind.SERVER
        self._in_context = set_span_in_context
        self._error = lambda status: Status(StatusCode.ERROR, f"HTTP {status}")

    def _parent(self, request: web.Request) -> Any | None:
        headers = request.headers
        for field in self._fields:
            if field in headers:
                return self._extract(headers)
        return None

    async def __call__(self, request: web.Request, handler: Handler,
                       route: str | None = None) -> web.StreamResponse:
        route = route or route_of(request)
        parent = self._parent(request)
        if parent is None and self._root_sampling.enabled and request.path.startswith(_HOST_PREFIXES):
            dropped = self._root_sampling.dropped(route)
            if dropped is not None:  # no span; the management API passes the decision on
                request[DROPPED_TRACE] = dropped
                return await self.measure(request, handler, route)
        name = f"{request.method} {route}"
        span = self._live.start(name, parent, self._server)
        if span is None:  # where a HostSpan is not certain to be the SDK's span
            span = self._tracer.start_span(name, context=parent, kind=self._server)
        recording = span.is_recording()
        if recording:
            span.set_attributes({"http.request.method": request.method, "http.route": route,
                                 "url.path": request.path, "url.scheme": request.scheme})
        token = self._context.attach(self._in_context(span, parent))
        status = 500
        try:
            response = await self.measure(request, handler, route)
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
            self._context.detach(token)
            if recording:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_attribute("error.type", str(status))
                    span.set_status(self._error(status))
            span.end()
