"""Finished spans written straight to the processors are the spans the SDK's own path makes.

Two real TracerProviders with the same id sequence: one gets `HostTracing.entity_spans` through
`FinishedSpans`, the other the same call with the shortcut off (the SDK's `start_span` + `end`);
every exported field, and the OTLP bytes of the spans, must be equal. `parse_traceparent` is
checked against the SDK's W3C propagator on good and bad headers.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, ParentBasedTraceIdRatio
from opentelemetry.trace import TraceFlags, get_current_span

from funchost.entity_batch import Operation, OperationResult
from funchost.telemetry.finished_spans import FinishedSpans, parse_traceparent
from funchost.telemetry.tracing import HostTracing, format_traceparent

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SAMPLED_RANDOM = "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-03"
UNSAMPLED = "00-2af7651916cd43dd8448eb211c80319c-d7ad6b7169203331-00"


class _Counting(IdGenerator):
    """The same ids, in the same order, for both providers."""

    def __init__(self) -> None:
        self.next = 0x1000

    def generate_span_id(self) -> int:
        self.next += 1
        return self.next

    def generate_trace_id(self) -> int:
        self.next += 1
        return self.next << 64

    def is_trace_id_random(self) -> bool:
        return True


def _tracing(sampler: Any = None, shortcut: bool = True) -> tuple[HostTracing, InMemorySpanExporter]:
    found = InMemorySpanExporter()
    provider = TracerProvider(id_generator=_Counting(), sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(found))
    tracing = HostTracing(provider.get_tracer("funchost"))
    if not shortcut:
        tracing._finished.enabled = False
    return tracing, found


def _batch() -> tuple[list[Operation], list[OperationResult]]:
    operations = [Operation(seq=i, name=name, input="1", signal=True, traceparent=traceparent)
                  for i, (name, traceparent) in enumerate([
                      ("add", SAMPLED), ("add", None), ("reset", SAMPLED_RANDOM), ("add", UNSAMPLED),
                      ("fail", SAMPLED), ("add", "00-not-a-trace-context-01"), ("add", SAMPLED.upper()),
                      ("add", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future")])]
    results = [OperationResult(is_error=op.name == "fail", result="no such thing" if op.name == "fail" else "2")
               for op in operations]
    return operations, results


def _fields(span: ReadableSpan) -> tuple[Any, ...]:
    return (span.name, span.context, span.parent, span.kind, dict(span.attributes or {}), span.status.status_code,
            span.status.description, span.start_time, span.end_time, span.resource, span.instrumentation_scope,
            tuple(span.events), tuple(span.links), span.dropped_attributes,
            span.dropped_events, span.dropped_links)


@pytest.mark.parametrize("sampler", [None, ParentBasedTraceIdRatio(0.5)], ids=["default", "ratio"])
def test_entity_spans_equal_the_sdks(sampler: Any) -> None:
    (fast, found_fast), (sdk, found_sdk) = _tracing(sampler), _tracing(sampler, shortcut=False)
    assert fast._finished.enabled
    operations, results = _batch()
    for tracing in (fast, sdk):
        tracing.entity_spans("counter", "@counter@k1", operations, results, 1_000, 2_000)
    ours, theirs = found_fast.get_finished_spans(), found_sdk.get_finished_spans()
    assert [_fields(s) for s in ours] == [_fields(s) for s in theirs]
    assert encode_spans(ours).SerializeToString() == encode_spans(theirs).SerializeToString()
    names = [s.name for s in ours]
    # the sampled, the random-flagged, the failed, the malformed (a new trace) and the upper-case
    # and future-version parents (which the SDK's propagator reads its own way)
    assert names.count("entity counter add") == 4 and "entity counter reset" in names, names
    failed = next(s for s in ours if s.name == "entity counter fail")
    assert failed.status.description == "no such thing"


def test_parse_traceparent_agrees_with_the_propagator() -> None:
    headers = [SAMPLED, SAMPLED_RANDOM, UNSAMPLED, SAMPLED.upper(), SAMPLED + "-x", " " + SAMPLED,
               "00-" + "0" * 32 + "-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01",
               "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
               "00-0af7_651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
               "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"]
    for header in headers:
        parsed = parse_traceparent(header)
        if parsed is not None:  # where it reads one, it reads what the propagator does; elsewhere the SDK's path runs
            assert parsed == get_current_span(extract({"traceparent": header})).get_span_context(), header
            assert parsed.is_remote and parsed.trace_state == get_current_span(
                extract({"traceparent": header})).get_span_context().trace_state
    assert parse_traceparent(SAMPLED) is not None and parse_traceparent(SAMPLED.upper()) is None


class _Watching(SpanProcessor):
    """A processor that sees spans start: the shortcut, which starts none, must step aside."""

    def __init__(self) -> None:
        self.started = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started += 1


def test_other_processors_and_samplers_take_the_sdk_path() -> None:
    tracing, found = _tracing()
    watching = _Watching()
    tracing.tracer.span_processor.add_span_processor(watching)  # type: ignore[attr-defined]
    operations, results = _batch()
    tracing.entity_spans("counter", "@counter@k1", operations[:1], results[:1], 1_000, 2_000)
    assert watching.started == 1 and len(found.get_finished_spans()) == 1
    custom = ParentBased(ALWAYS_ON, remote_parent_sampled=ALWAYS_OFF)
    assert not FinishedSpans(TracerProvider(sampler=custom).get_tracer("x")).enabled
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    assert FinishedSpans(provider.get_tracer("x")).enabled
    provider.shutdown()


def test_format_traceparent_writes_the_w3c_form_that_parses_back() -> None:
    values = [(1, 1, 0), (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, 0x01), (2**128 - 1, 2**64 - 1, 0xFF),
              (0xFF << 120, 0xAB << 56, 0x03), (5, 6, 0x02)]
    for trace_id, span_id, flags in values:
        header = format_traceparent(trace_id, span_id, TraceFlags(flags))
        assert header == f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"
        parsed = parse_traceparent(header)
        assert parsed is not None
        assert (parsed.trace_id, parsed.span_id, parsed.trace_flags) == (trace_id, span_id, flags)
    # out of range (never a valid context's): the plain format, as before
    assert format_traceparent(2**128, -1, 256) == f"00-{2**128:032x}-{-1:016x}-{256:02x}"
