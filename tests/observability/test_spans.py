"""Traces: one request is one trace, rooted at its HTTP server span, with the durable work inside it.

The project app runs on an in-process funchost (port 0, data in tmp) whose TracerProvider feeds an
InMemorySpanExporter; the test drives it over real HTTP with aiohttp.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from funchost.server import Host, HostConfig
from tests.hostproc import ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class TracedHost:
    host: Host
    exporter: InMemorySpanExporter
    session: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.host.port}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def traced(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TracedHost]:
    exporter = InMemorySpanExporter()
    data = Path(tmp_path_factory.mktemp("traced"))
    host = Host(HostConfig(script_root=ROOT, port=0, data_dir=data), span_exporter=exporter)
    await host.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield TracedHost(host, exporter, session)
    finally:
        await host.stop()


def _trace_of(spans: Sequence[ReadableSpan], root_name: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one SERVER span called `root_name` and every span of its trace."""
    roots = [s for s in spans if s.name == root_name and s.kind == SpanKind.SERVER]
    assert len(roots) == 1, f"expected one {root_name!r} span, got {[s.name for s in spans]}"
    root = roots[0]
    assert root.context is not None
    return root, [s for s in spans if s.context is not None and s.context.trace_id == root.context.trace_id]


def _assert_tree(root: ReadableSpan, members: list[ReadableSpan]) -> None:
    """`root` has no parent and every other span of the trace hangs off a span of the same trace."""
    assert root.parent is None, "the HTTP server span must be the root of the trace"
    ids = {s.context.span_id for s in members if s.context is not None}
    orphans = [s.name for s in members if s is not root and (s.parent is None or s.parent.span_id not in ids)]
    assert not orphans, f"spans not connected to {root.name!r}: {orphans}"


async def _wait_for_span(exporter: InMemorySpanExporter, predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(predicate(s) for s in exporter.get_finished_spans()):
        assert asyncio.get_running_loop().time() < deadline, "the expected span never ended"
        await asyncio.sleep(0.02)


async def test_record_performance_is_one_trace_from_http_request_to_entity_operation(traced: TracedHost) -> None:
    traced.exporter.clear()
    player = f"trace-{uuid.uuid4().hex[:8]}"
    async with traced.session.post(traced.base + "/api/adaptive-ai/record-performance", json={
            "playerId": player, "success": True, "timeMs": 900, "attempts": 1, "shapeId": "A-minor"}) as resp:
        assert resp.status == 200, await resp.text()
    await _wait_for_span(traced.exporter, lambda s: s.name == "POST /api/adaptive-ai/record-performance")
    root, members = _trace_of(traced.exporter.get_finished_spans(), "POST /api/adaptive-ai/record-performance")
    _assert_tree(root, members)
    assert root.attributes is not None and root.attributes["ga.player_id"] == player
    assert root.attributes["http.response.status_code"] == 200
    entity_spans = [s for s in members if (s.attributes or {}).get("durable.entity") == "playersession"]
    assert entity_spans, f"no entity span in the request's trace: {[s.name for s in members]}"
    assert all(player in str((s.attributes or {})["durable.entity_id"]) for s in entity_spans)
    assert (entity_spans[0].attributes or {})["durable.operation"] == "record_attempt"
    assert entity_spans[0].name == "entity playersession record_attempt"


async def test_agent_task_is_one_trace_from_http_request_through_episodes_and_activities(
        traced: TracedHost) -> None:
    traced.exporter.clear()
    async with traced.session.post(traced.base + "/api/agents/tasks/create",
                                   json={"key": "D", "budgetMs": 300}) as resp:
        assert resp.status == 202, await resp.text()
        task_id = (await resp.json())["taskId"]
    for _ in range(500):
        async with traced.session.get(f"{traced.base}/api/agents/tasks/{task_id}/status") as resp:
            if (await resp.json())["state"] in ("Completed", "Failed", "Cancelled"):
                break
        await asyncio.sleep(0.02)
    await _wait_for_span(traced.exporter, lambda s: s.name == "activity agent_assemble")
    root, members = _trace_of(traced.exporter.get_finished_spans(), "POST /api/agents/tasks/create")
    _assert_tree(root, members)
    assert root.attributes is not None and root.attributes["ga.task_id"] == task_id
    names = [s.name for s in members]
    assert names.count("orchestration agent_create") >= 5, names  # one span per episode
    for activity in ("agent_prepare", "agent_search_step", "agent_voicings", "agent_assemble"):
        assert f"activity {activity}" in names, f"no span for {activity} in {names}"
    episodes = [s for s in members if s.name == "orchestration agent_create"]
    assert {(s.attributes or {}).get("durable.instance_id") for s in episodes} == {task_id}
    status_polls = [s for s in traced.exporter.get_finished_spans() if s.name.endswith("/status")]
    assert status_polls and all(s.context is not None and s.context.trace_id != root.context.trace_id
                                for s in status_polls if root.context is not None), \
        "a status poll is its own request, so its own trace"
