"""The host's finished spans as plain records, queued for OTLP export without the SDK's span objects.

When the host exports spans by OTLP, the tracer's only processor is the SDK's `BatchSpanProcessor`
around `otlp_encoding.HostSpanExporter`. A finished span then needs nothing but its fields until the
batch thread encodes it, yet the SDK's path builds, on the loop, a `SpanContext` for the span and its
parent, a `ReadableSpan`, and walks the multi-processor and the batch processor's `on_end` before the
span reaches the queue: about 5 us of the 7-8 us the host spends per span (two per entity signal).
`SpanRecord` holds the same fields (ids and flags as numbers, the attribute dict the span was made
with) and goes straight to the batch processor's `emit`, its queue and its worker thread, so the
queue limit, the drop on overflow, `force_flush` and the export of everything left at shutdown are
the SDK's. The exporter encodes a record to the bytes of the `ReadableSpan` it stands for
(`SpanRecord.readable`, also what any other consumer of a record gets).

`record_sink` finds that processor; where the tracer has any other processor, or an exporter that
does not take records, it answers None and the caller builds the SDK's `ReadableSpan` as before.
Records are made on the loop thread and read only by the batch processor's thread once queued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

Sink = Callable[[Any], None]
UNSET = Status(StatusCode.UNSET)


class SpanRecord:
    """A finished, sampled span as plain fields: what `readable()` turns into the SDK's `ReadableSpan`.

    The span and its parent share the trace id and trace state (as every child does); `parent_span_id`
    is None for a root span. `attributes` is the span's own dict, unchanged once the record exists."""

    __slots__ = ("attributes", "end_time", "kind", "name", "parent_flags", "parent_remote", "parent_span_id",
                 "span_id", "start_time", "status", "trace_flags", "trace_id", "trace_state", "tracer")

    def __init__(self, tracer: Any, name: str, trace_id: int, span_id: int, trace_flags: int, trace_state: Any,
                 parent_span_id: int | None, parent_remote: bool, parent_flags: int, kind: SpanKind,
                 attributes: dict[str, Any], start_time: int, end_time: int, status: Status = UNSET) -> None:
        self.tracer = tracer
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.trace_flags = trace_flags
        self.trace_state = trace_state
        self.parent_span_id = parent_span_id
        self.parent_remote = parent_remote
        self.parent_flags = parent_flags
        self.kind = kind
        self.attributes = attributes
        self.start_time = start_time
        self.end_time = end_time
        self.status = status

    @property
    def resource(self) -> Any:
        return self.tracer.resource

    @property
    def instrumentation_scope(self) -> Any:
        return self.tracer._instrumentation_scope

    def readable(self) -> ReadableSpan:
        """The SDK's `ReadableSpan` of this span, as `span_processor.on_end` would have received it."""
        state = self.trace_state
        context = SpanContext(self.trace_id, self.span_id, is_remote=False, trace_flags=TraceFlags(self.trace_flags),
                              trace_state=state)
        parent = None
        if self.parent_span_id is not None:
            parent = SpanContext(self.trace_id, self.parent_span_id, is_remote=self.parent_remote,
                                 trace_flags=TraceFlags(self.parent_flags), trace_state=state)
        return readable_span(self.tracer, self.name, context, parent, self.kind, self.attributes, self.start_time,
                             self.end_time, self.status)


def readable_span(tracer: Any, name: str, context: SpanContext, parent: SpanContext | None, kind: SpanKind,
                  attributes: Mapping[str, Any], start_time: int, end_time: int,
                  status: Status = UNSET) -> ReadableSpan:
    """The `ReadableSpan` the SDK's `Span.end` hands to the processors for a span of `tracer` with these
    fields (`attributes` kept as the caller's mapping, read-only): one construction for every host span."""
    return ReadableSpan(
        name=name, context=context, parent=parent, resource=tracer.resource,
        attributes=MappingProxyType(attributes), kind=kind, instrumentation_info=tracer.instrumentation_info,
        status=status, start_time=start_time, end_time=end_time, instrumentation_scope=tracer._instrumentation_scope)


def readable_spans(spans: Any) -> list[Any]:
    """`spans` with every record replaced by its `ReadableSpan` (for the SDK's own encoder)."""
    return [span.readable() if type(span) is SpanRecord else span for span in spans]


def record_sink(tracer: Any, checked: list[Any]) -> Sink | None:
    """The batch processor's `emit` when it is the tracer's only processor and its exporter takes
    records (`accepts_span_records`), else None. `checked` is [processor tuple, answer] from the last
    call: the provider replaces the tuple when a processor is added, so one identity test suffices."""
    processors = getattr(tracer.span_processor, "_span_processors", None)
    if processors is checked[0]:
        found: Sink | None = checked[1]
        return found
    found = None
    if processors is not None and len(processors) == 1 and type(processors[0]) is BatchSpanProcessor:
        batch: Any = getattr(processors[0], "_batch_processor", None)
        exporter = getattr(batch, "_exporter", None)
        if getattr(exporter, "accepts_span_records", False) and hasattr(batch, "emit"):
            found = batch.emit
    checked[0], checked[1] = processors, found
    return found
