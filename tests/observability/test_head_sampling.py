"""Head sampling at the host's routes: the same decisions as the SDK, and whole traces or nothing.

Unit tests compare `RootSampling` with the SDK's own sampler and `start_span`; the host test runs
the conformance app on an in-process funchost with a 50 % `parentbased_traceidratio` sampler and
checks, over real HTTP, that every exported orchestration, activity and entity span belongs to a
trace whose request span was exported too (a dropped request starts no trace of its own further in).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind

from funchost.server import Host, HostConfig
from funchost.telemetry.head_sampling import PresetIdGenerator, RootSampling
from tests.hostproc import ROOT

CONFORMANCE_APP = ROOT / "tests" / "conformance_app"
UNSAMPLED = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-02$")


def _tracer(sampler: Sampler, ids: Any = None) -> Any:
    return TracerProvider(sampler=sampler, id_generator=ids or PresetIdGenerator()).get_tracer("test")


@pytest.mark.parametrize("sampler", [ParentBasedTraceIdRatio(0.5), TraceIdRatioBased(0.3)], ids=["parentbased", "root"])
def test_decisions_are_the_sdks(sampler: Sampler) -> None:
    tracer = _tracer(sampler)
    sampling = RootSampling(tracer)
    assert sampling.enabled
    sampled = 0
    for _ in range(600):
        dropped = sampling.dropped("POST /runtime/webhooks/durabletask/entities/{name}/{key}")
        if dropped is None:
            span = tracer.start_span("POST /x", kind=SpanKind.SERVER)  # draws the preset trace id
            assert span.is_recording(), "RootSampling said sampled, the SDK dropped the same trace"
            span.end()
            sampled += 1
            continue
        match = UNSAMPLED.match(dropped.traceparent())
        assert match, dropped.traceparent()
        assert int(match.group(1), 16) == dropped.trace_id
        assert sampler.should_sample(None, dropped.trace_id, "x").decision == Decision.DROP
        assert dropped.traceparent() != dropped.traceparent(), "each use gets a span id of its own"
    rate = 0.5 if isinstance(sampler, ParentBasedTraceIdRatio) else 0.3
    assert 600 * rate * 0.75 < sampled < 600 * rate * 1.25
    # a preset trace id is used once: the next span gets a fresh random one
    ids = tracer.id_generator
    ids.preset(12345)
    assert ids.generate_trace_id() == 12345
    assert ids.generate_trace_id() != 12345


def test_always_on_and_off() -> None:
    assert all(RootSampling(_tracer(ALWAYS_ON)).dropped("x") is None for _ in range(50))
    assert all(RootSampling(_tracer(ALWAYS_OFF)).dropped("x") is not None for _ in range(50))


class _Coin(Sampler):
    """A sampler whose decision does not follow from the trace id: head sampling must stay out."""

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if uuid.uuid4().int % 2 else Decision.DROP)

    def get_description(self) -> str:
        return "coin"


def test_off_where_a_repeat_decision_is_not_certain() -> None:
    assert not RootSampling(_tracer(_Coin())).enabled
    assert not RootSampling(_tracer(ParentBasedTraceIdRatio(0.5), RandomIdGenerator())).enabled


def _by_trace(spans: Sequence[ReadableSpan]) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        assert span.context is not None
        traces.setdefault(span.context.trace_id, []).append(span)
    return traces


async def test_host_exports_whole_traces_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    exporter = InMemorySpanExporter()
    host = Host(HostConfig(script_root=CONFORMANCE_APP, port=0, data_dir=tmp_path), span_exporter=exporter)
    await host.start()
    base = f"http://127.0.0.1:{host.port}/runtime/webhooks/durabletask"
    starts, signals = 24, 40
    try:
        async with aiohttp.ClientSession() as session:
            ids = []
            for _ in range(starts):
                async with session.post(f"{base}/orchestrators/sequence", json=["A", "B"]) as resp:
                    assert resp.status == 202, await resp.text()
                    ids.append((await resp.json())["id"])
            key = f"k-{uuid.uuid4().hex[:6]}"
            for _ in range(signals):
                async with session.post(f"{base}/entities/Counter/{key}?op=add", json=1) as resp:
                    assert resp.status == 202, await resp.text()
            for instance_id in ids:
                for _ in range(500):
                    async with session.get(f"{base}/instances/{instance_id}") as resp:
                        if (await resp.json())["runtimeStatus"] == "Completed":
                            break
                    await asyncio.sleep(0.02)
                else:
                    pytest.fail(f"{instance_id} did not complete")
            for _ in range(500):
                async with session.get(f"{base}/entities/Counter/{key}") as resp:
                    if resp.status == 200 and (await resp.json()) == signals:
                        break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the signals were not all applied")
    finally:
        await host.stop()
    traces = _by_trace(exporter.get_finished_spans())
    start_traces = {tid for tid, spans in traces.items()
                    if any(s.kind == SpanKind.SERVER and s.name.startswith("POST") and "orchestrators" in s.name
                           for s in spans)}
    signal_traces = {tid for tid, spans in traces.items()
                     if any(s.kind == SpanKind.SERVER and "entities" in s.name and s.name.startswith("POST")
                            for s in spans)}
    for trace_id, spans in traces.items():
        names = sorted(s.name for s in spans)
        if any(s.name.startswith(("orchestration ", "activity ")) for s in spans):
            assert trace_id in start_traces, f"durable work traced without its start request: {names}"
        if any(s.name.startswith("entity counter") for s in spans):
            assert trace_id in signal_traces, f"an entity operation traced without its signal: {names}"
    # each start request was sampled or not, as a whole; with p = 0.5 both kinds occur (all-or-none: ~1e-7)
    assert 0 < len(start_traces) < starts
    assert 0 < len(signal_traces) < signals
    for trace_id in start_traces:
        names = [s.name for s in traces[trace_id]]
        assert "orchestration sequence" in names and names.count("activity say_hello") == 2, names
    for trace_id in signal_traces:
        assert [s.name for s in traces[trace_id] if s.name.startswith("entity ")] == ["entity counter add"]


async def test_callers_trace_context_good_unsampled_and_malformed(tmp_path: Path) -> None:
    """A caller's `traceparent` is followed (sampled or not); a malformed one starts a new trace."""
    exporter = InMemorySpanExporter()
    host = Host(HostConfig(script_root=CONFORMANCE_APP, port=0, data_dir=tmp_path), span_exporter=exporter)
    await host.start()
    base = f"http://127.0.0.1:{host.port}/runtime/webhooks/durabletask"
    sampled = (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)
    unsampled = (0x1AF7651916CD43DD8448EB211C80319C, 0xC7AD6B7169203331)
    callers = {"sampled": f"00-{sampled[0]:032x}-{sampled[1]:016x}-01",
               "unsampled": f"00-{unsampled[0]:032x}-{unsampled[1]:016x}-00",
               "malformed": "00-not-a-trace-context-01"}
    try:
        async with aiohttp.ClientSession() as session:
            for kind, traceparent in callers.items():
                async with session.post(f"{base}/entities/Counter/{kind}?op=add", json=1,
                                        headers={"traceparent": traceparent}) as resp:
                    assert resp.status == 202, await resp.text()
            for kind in callers:
                for _ in range(500):
                    async with session.get(f"{base}/entities/Counter/{kind}") as resp:
                        if resp.status == 200 and (await resp.json()) == 1:
                            break
                    await asyncio.sleep(0.02)
                else:
                    pytest.fail(f"the {kind} signal was not applied")
    finally:
        await host.stop()
    traces = _by_trace(exporter.get_finished_spans())
    assert unsampled[0] not in traces, "the caller did not sample this trace: nothing may be exported"
    followed = traces[sampled[0]]
    server = [s for s in followed if s.kind == SpanKind.SERVER]
    assert len(server) == 1 and server[0].parent is not None and server[0].parent.span_id == sampled[1]
    assert [s.name for s in followed if s.name.startswith("entity ")] == ["entity counter add"]
    malformed = [spans for tid, spans in traces.items()
                 if any(s.kind == SpanKind.SERVER and s.name.startswith("POST ")
                        and str((s.attributes or {}).get("url.path", "")).endswith("/malformed") for s in spans)]
    assert len(malformed) == 1, "a malformed traceparent starts one new trace"
    [spans] = malformed
    root = next(s for s in spans if s.kind == SpanKind.SERVER)
    assert root.parent is None
    assert [s.name for s in spans if s.name.startswith("entity ")] == ["entity counter add"]
