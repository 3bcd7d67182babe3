"""`funchost.telemetry.http.HttpMetrics` on a real aiohttp server over loopback: the semantic-convention
attributes of `http.server.request.duration`, read back through the SDK's in-memory reader."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from funchost.telemetry.bound_metrics import HistogramBuffers
from funchost.telemetry.http import HttpMetrics


async def _ok(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _unavailable(_request: web.Request) -> web.Response:
    return web.json_response({"error": "busy"}, status=503)


async def _crash(_request: web.Request) -> web.Response:
    raise LookupError("a bug")


def _points(reader: InMemoryMetricReader) -> list[dict[str, Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    return [dict(point.attributes or {}) | {"count": getattr(point, "count", None)}
            for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == "http.server.request.duration"
            for point in metric.data.data_points]


async def test_request_duration_carries_scheme_route_status_and_error_type() -> None:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    middleware = HttpMetrics(meter.create_histogram("http.server.request.duration", unit="s"),
                             HistogramBuffers(meter))
    app = web.Application(middlewares=[middleware])
    app.router.add_get("/items/{id}", _ok)
    app.router.add_get("/busy", _unavailable)
    app.router.add_get("/crash", _crash)
    async with TestClient(TestServer(app)) as client:
        for path in ("/items/1", "/items/2", "/busy", "/crash", "/nowhere"):
            await (await client.get(path)).read()
    found = {(p["http.route"], p["http.response.status_code"], p.get("error.type")): p for p in _points(reader)}
    assert set(found) == {("/items/{id}", 200, None), ("/busy", 503, "503"), ("/crash", 500, "LookupError"),
                          ("unmatched", 404, None)}
    assert found[("/items/{id}", 200, None)]["count"] == 2  # the template, not the path: one series
    assert all(p["url.scheme"] == "http" and p["http.request.method"] == "GET" for p in found.values())
