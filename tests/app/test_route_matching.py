"""Route matching as on Azure (ASP.NET Core routing): literal segments case-insensitive, one trailing
slash ignored; telemetry still labels requests with the function's declared route template."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from funchost.server import Host, HostConfig
from tests.api.spec import load_spec
from tests.hostproc import ROOT, HostProcess
from tests.observability.exposition import Exposition


def attempt(player: str) -> dict[str, object]:
    return {"playerId": player, "success": True, "timeMs": 900, "attempts": 1, "shapeId": "C"}


def test_case_and_one_trailing_slash_are_ignored_parameters_keep_their_case(app_host: HostProcess) -> None:
    player = f"CaseReader{app_host.port}"
    reply = app_host.request("POST", "/API/Adaptive-AI/Record-Performance/", attempt(player))
    assert reply.status == 200, reply.body
    stats = app_host.request("GET", f"/api/Adaptive-AI/PLAYER-STATS/{player}/")
    assert stats.status == 200, stats.body
    assert stats.json()["playerId"] == player and stats.json()["totalAttempts"] == 1
    # the parameter is the caller's text: another spelling is another player
    assert app_host.request("GET", f"/api/adaptive-ai/player-stats/{player.lower()}").status == 404
    assert app_host.request("GET", "/api/Agents/Tasks/ACTIVE/?top=1").status == 200
    # a method the function does not declare is still refused, with the error document
    refused = app_host.request("DELETE", f"/API/adaptive-ai/player-stats/{player}/")
    assert refused.status == 405 and refused.json()["details"][0]["field"] == "(method)"
    for path in ("/api/adaptive-ai/no-such-route", f"/api/adaptive-ai/player-stats/{player}//",
                 "/api/adaptive-aix/player-stats/x"):
        missing = app_host.request("GET", path)
        assert missing.status == 404, path
        assert set(missing.json()) == {"error", "details"} and missing.json()["details"][0]["field"]


def test_metrics_label_the_declared_route_template(app_host: HostProcess) -> None:
    player = f"Labels{app_host.port}"
    before = Exposition.scrape(app_host)
    route = "/api/adaptive-ai/record-performance"
    count = "http_server_request_duration_seconds_count"
    start = before.value(count, http_route=route, http_request_method="POST", http_response_status_code="200")
    for path in ("/api/adaptive-ai/record-performance", "/API/ADAPTIVE-AI/RECORD-PERFORMANCE",
                 "/api/Adaptive-AI/Record-Performance/"):
        assert app_host.request("POST", path, attempt(player)).status == 200
    after = Exposition.scrape(app_host)
    assert after.value(count, http_route=route, http_request_method="POST", http_response_status_code="200") \
        == start + 3
    labels = {s.labels["http_route"] for s in after.find(count)}
    declared = set(load_spec()["paths"])  # the function routes, spelled as declared
    assert {label for label in labels if label.lower().startswith("/api")} <= declared, labels
    assert "/" not in labels, labels


@pytest_asyncio.fixture(loop_scope="function")
async def traced(tmp_path: Path) -> AsyncIterator[tuple[Host, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    host = Host(HostConfig(script_root=ROOT, port=0, data_dir=tmp_path / "data"), span_exporter=exporter)
    await host.start()
    try:
        yield host, exporter
    finally:
        await host.stop()


@pytest.mark.asyncio(loop_scope="function")
async def test_spans_name_the_declared_route_template(traced: tuple[Host, InMemorySpanExporter]) -> None:
    host, exporter = traced
    base = f"http://127.0.0.1:{host.port}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/Api/Adaptive-AI/Record-Performance/", json=attempt("Span1")) as resp:
            assert resp.status == 200, await resp.text()
        async with session.get(f"{base}/api/ADAPTIVE-AI/player-stats/Span1/") as resp:
            assert resp.status == 200, await resp.text()
    for _ in range(100):  # span export is asynchronous to the answer
        servers = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
        if len(servers) >= 2:
            break
        await asyncio.sleep(0.05)
    names = {s.name: dict(s.attributes or {}) for s in servers}
    assert set(names) >= {"POST /api/adaptive-ai/record-performance", "GET /api/adaptive-ai/player-stats/{playerId}"}, \
        names
    assert names["GET /api/adaptive-ai/player-stats/{playerId}"]["http.route"] == \
        "/api/adaptive-ai/player-stats/{playerId}"
    assert names["GET /api/adaptive-ai/player-stats/{playerId}"]["url.path"] == "/api/ADAPTIVE-AI/player-stats/Span1/"
