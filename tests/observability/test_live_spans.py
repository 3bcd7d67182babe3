"""`LiveSpans` starts the spans the SDK's `start_span` starts, and a `HostSpan` ends as the SDK's span would.

Two real TracerProviders with the same id sequence run the same calls, one through `LiveSpans`
(falling back to `start_span` where it declines, as `HttpTracing` does), one through the SDK's
`start_span`; every exported field but the clock readings, and the OTLP bytes with the times
aligned, must be equal: plain attributes, attributes set twice, values the SDK converts, events,
exceptions, statuses, renames, links, calls after the end, children, remote and unsampled parents,
and the samplers it reproduces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from funchost.telemetry.live_spans import HostSpan, LiveSpans
from tests.observability.test_finished_spans import _Counting

Steps = Callable[[Any], None]
SAMPLED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "v=1"}
UNSAMPLED = {"traceparent": "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-00"}


def _request(span: Any) -> None:
    """What HttpTracing does with a span."""
    span.set_attributes({"http.request.method": "POST", "http.route": "/e/{key}", "url.path": "/e/k1",
                         "url.scheme": "http"})
    span.set_attribute("http.response.status_code", 202)


def _app_attributes(span: Any) -> None:
    _request(span)
    span.set_attribute("ga.player_id", "p-1")
    span.set_attribute("url.scheme", "https")  # set again: moves to the end
    span.set_attributes({"ratio": 0.5, "ok": True, "none": None, "tags": ["a", "b"]})  # None and a list: the SDK's


def _events_and_status(span: Any) -> None:
    _request(span)
    span.add_event("step", {"n": 1}, timestamp=5)
    span.record_exception(ValueError("bad"), timestamp=6)
    span.set_status(Status(StatusCode.ERROR, "HTTP 500"))
    span.update_name("POST /renamed")
    span.add_link(SpanContext(7, 9, is_remote=False), {"why": "batch"})


def _many(span: Any) -> None:
    for i in range(40):
        span.set_attribute(f"k{i}", i)


def _run(live: bool, sampler: Sampler | None, parent: Any, steps: Steps) -> list[ReadableSpan]:
    found = InMemorySpanExporter()
    provider = TracerProvider(id_generator=_Counting(), sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(found))
    tracer = provider.get_tracer("funchost")
    name, kind = "POST /e/{key}", SpanKind.SERVER
    span = (LiveSpans(tracer).start(name, parent, kind) if live else None) or tracer.start_span(
        name, context=parent, kind=kind)
    token = otel_context.attach(set_span_in_context(span, parent))
    try:
        steps(span)
        with tracer.start_as_current_span("child"):
            pass
    finally:
        otel_context.detach(token)
    span.end()
    span.set_attribute("late", 1)  # ignored after the end, by both
    span.end()
    return list(found.get_finished_spans())


def _aligned(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans with their clock readings set to fixed values (they are read at different instants)."""
    for span in spans:
        span._start_time, span._end_time = 1, 2
    return spans


def _fields(span: ReadableSpan) -> tuple[Any, ...]:
    return (span.name, span.context, span.parent, span.kind, dict(span.attributes or {}), span.status.status_code,
            span.status.description, [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events],
            [(lk.context, dict(lk.attributes or {})) for lk in span.links], span.resource, span.instrumentation_scope,
            span.dropped_attributes, span.dropped_events, span.dropped_links)


STEPS = {"request": _request, "app-attributes": _app_attributes, "events-and-status": _events_and_status,
         "many-attributes": _many}
SAMPLERS = {"default": None, "ratio-half": ParentBasedTraceIdRatio(0.5), "ratio-none": ParentBasedTraceIdRatio(0.0),
            "off": ParentBased(ALWAYS_OFF)}


@pytest.mark.parametrize("steps", STEPS.values(), ids=STEPS.keys())
@pytest.mark.parametrize("sampler", SAMPLERS.values(), ids=SAMPLERS.keys())
@pytest.mark.parametrize("headers", [None, SAMPLED, UNSAMPLED], ids=["root", "sampled-parent", "unsampled-parent"])
def test_spans_equal_the_sdks(steps: Steps, sampler: Sampler | None, headers: dict[str, str] | None) -> None:
    parent = extract(headers) if headers else None
    ours, theirs = _run(True, sampler, parent, steps), _run(False, sampler, parent, steps)
    assert [_fields(s) for s in ours] == [_fields(s) for s in theirs]
    assert encode_spans(_aligned(ours)).SerializeToString() == encode_spans(_aligned(theirs)).SerializeToString()


def test_it_makes_host_spans_where_the_sdk_would_record() -> None:
    tracer = TracerProvider(id_generator=_Counting()).get_tracer("funchost")
    live = LiveSpans(tracer)
    assert live.enabled
    span = live.start("GET /x", None, SpanKind.SERVER)
    assert isinstance(span, HostSpan) and span.is_recording()
    span.end()
    assert not span.is_recording()
    unsampled = live.start("GET /x", extract(UNSAMPLED), SpanKind.SERVER)
    assert isinstance(unsampled, NonRecordingSpan) and not unsampled.get_span_context().trace_flags.sampled
    assert unsampled.get_span_context().trace_flags & TraceFlags.RANDOM_TRACE_ID == 0


def test_it_declines_samplers_it_does_not_reproduce() -> None:
    for sampler in (TraceIdRatioBased(0.5), ParentBased(ParentBasedTraceIdRatio(0.5)),
                    ParentBased(TraceIdRatioBased(0.5), local_parent_sampled=ALWAYS_OFF)):
        assert not LiveSpans(TracerProvider(sampler=sampler).get_tracer("x")).enabled


def test_context_manager_records_an_escaping_exception_as_the_sdk() -> None:
    def run(live: bool) -> list[ReadableSpan]:
        found = InMemorySpanExporter()
        provider = TracerProvider(id_generator=_Counting())
        provider.add_span_processor(SimpleSpanProcessor(found))
        tracer = provider.get_tracer("funchost")
        span = (LiveSpans(tracer).start("x", None, SpanKind.SERVER) if live else None) or tracer.start_span(
            "x", kind=SpanKind.SERVER)
        with pytest.raises(KeyError), span:
            raise KeyError("gone")
        return list(found.get_finished_spans())

    ours, theirs = run(True), run(False)
    assert [_fields(s)[:7] for s in ours] == [_fields(s)[:7] for s in theirs]
    assert [e.name for e in ours[0].events] == ["exception"]
    assert [(e.attributes or {})["exception.type"] for e in ours[0].events] == ["KeyError"]
