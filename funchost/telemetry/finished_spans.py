"""Spans known only once they are over, handed to the span processors without a live SDK span.

An entity operation's span is made after its batch ran: its parent (the caller's `traceparent`),
start, end and outcome are all known at once. Through the SDK that is `start_span` under a context
extracted by the global propagator, then `end`: a live `Span` with its lock, bounded attribute,
event and link containers, the sampler's result and a copy into a `ReadableSpan` at the end, about
25 us in CPython 3.11, for a span nobody can touch while it is open. `FinishedSpans` builds the
`ReadableSpan` the SDK's `end` would hand to the processors, with the same ids, flags, resource,
scope and attributes, and passes it to them directly.

It does so only where the result is certain to be the SDK's: the tracer enabled with the SDK's own
span metrics off; a `parentbased_*` sampler whose remote-parent delegates are the defaults (always
on under a sampled parent, always off under an unsampled one, so the decision is the parent's flag
and adds no attributes); the W3C trace-context propagator in the global propagator; span limits that
cannot cut the attributes; only the SDK's simple and batch processors (which do nothing when a span
starts); and a `traceparent` of version 00 in the exact form the propagator accepts. Otherwise
`write` answers False and the caller takes the SDK's path. Where the tracer's only processor is an
OTLP batch processor that takes `span_records`, `write_under` queues a record instead of a
`ReadableSpan`. Used on the dispatcher's loop thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from .span_records import UNSET, SpanRecord, readable_span, record_sink

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_PROCESSORS = (BatchSpanProcessor, SimpleSpanProcessor)  # on_start and _on_ending do nothing
_MAX_ATTRIBUTES = 16  # the most attributes a host span written here has
_RANDOM_TRACE_ID = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))  # the SDK carries it on from the parent
_CHILD_FLAGS = {0: TraceFlags(TraceFlags.SAMPLED), _RANDOM_TRACE_ID: TraceFlags(TraceFlags.SAMPLED | _RANDOM_TRACE_ID)}


def parse_traceparent(traceparent: str) -> SpanContext | None:
    """The remote parent of a version-00 `traceparent`, as the W3C propagator extracts it, or None."""
    ids = parse_traceparent_ids(traceparent)
    if ids is None:
        return None
    trace_id, span_id, flags = ids
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags),
                       trace_state=DEFAULT_TRACE_STATE)


def parse_traceparent_ids(traceparent: str) -> tuple[int, int, int] | None:
    """(trace id, span id, flags) of what `parse_traceparent` reads, without making the `SpanContext`."""
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return None
    trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, int(match.group(3), 16)


def sdk_equivalent(tracer: Any) -> bool:
    """True when the tracer, sampler, limits and propagator are those `FinishedSpans` (and `live_spans`)
    reproduce: see the module docstring."""
    try:
        from opentelemetry.propagate import get_global_textmap
        from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return False
    textmap = get_global_textmap()
    propagators = getattr(textmap, "_propagators", [textmap])
    sampler = getattr(tracer, "sampler", None)
    limits = getattr(tracer, "_span_limits", None)
    return (isinstance(getattr(tracer, "_tracer_metrics", None), NoOpTracerMetrics)
            and any(isinstance(p, TraceContextTextMapPropagator) for p in propagators)
            and isinstance(sampler, ParentBased)
            and getattr(sampler, "_remote_parent_sampled", None) is ALWAYS_ON
            and getattr(sampler, "_remote_parent_not_sampled", None) is ALWAYS_OFF
            and limits is not None and limits.max_span_attribute_length is None
            and (limits.max_span_attributes or 0) >= _MAX_ATTRIBUTES
            and all(hasattr(tracer, name) for name in ("resource", "instrumentation_info", "_instrumentation_scope",
                                                       "span_processor", "id_generator", "_is_enabled")))


def processors_ready(tracer: Any, checked: list[Any]) -> bool:
    """True when `tracer`'s processors are only the SDK's simple and batch ones (`checked` remembers the
    processor tuple last found so, as the provider replaces the tuple when one is added)."""
    processors = getattr(tracer.span_processor, "_span_processors", None)
    if processors is None:
        return False
    if processors is not checked[0]:
        if not all(type(p) in _PROCESSORS for p in processors):
            return False
        checked[0] = processors
    return True


class FinishedSpans:
    """Writes finished spans under a remote parent straight to `tracer`'s processors (see the module)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer
        self.enabled = sdk_equivalent(tracer)
        self._checked: list[Any] = [None]
        self._sink_checked: list[Any] = [None, None]

    def write(self, name: str, parent: SpanContext, attributes: Mapping[str, str | int], start_ns: int,
              end_ns: int, error: str | None = None) -> bool:
        """One INTERNAL span under the remote `parent`, as `start_span` + `set_status` + `end` would make
        it; False (nothing written) where that is not certain, for the caller to take the SDK's path.
        A span under an unsampled parent is dropped, as the sampler would drop it. The span keeps
        `attributes` (a mapping the caller made for it and does not change afterwards)."""
        tracer = self._tracer
        if not (self.enabled and tracer._is_enabled() and processors_ready(tracer, self._checked)):
            return False
        flags = parent.trace_flags
        if not flags & TraceFlags.SAMPLED:
            return True
        context = SpanContext(parent.trace_id, tracer.id_generator.generate_span_id(), is_remote=False,
                              trace_flags=_CHILD_FLAGS[flags & _RANDOM_TRACE_ID], trace_state=parent.trace_state)
        status = Status(StatusCode.ERROR, error) if error is not None else UNSET
        tracer.span_processor.on_end(readable_span(tracer, name, context, parent, SpanKind.INTERNAL, attributes,
                                                   start_ns, end_ns, status))
        return True

    def write_under(self, name: str, traceparent: str, attributes: dict[str, str | int], start_ns: int,
                    end_ns: int, error: str | None = None) -> bool:
        """`write` under the remote parent of a version-00 `traceparent`; False (nothing written) where
        that header or the tracer is not one `write` handles. Where the tracer's only processor takes
        `span_records`, the span goes to it as a record, without a `SpanContext` or a `ReadableSpan`."""
        tracer = self._tracer
        sink = record_sink(tracer, self._sink_checked) if self.enabled and tracer._is_enabled() else None
        if sink is None:
            parent = parse_traceparent(traceparent)
            return parent is not None and self.write(name, parent, attributes, start_ns, end_ns, error)
        ids = parse_traceparent_ids(traceparent)
        if ids is None:
            return False
        trace_id, parent_id, flags = ids
        if not flags & TraceFlags.SAMPLED:
            return True  # dropped, as the sampler drops a child of an unsampled parent
        status = Status(StatusCode.ERROR, error) if error is not None else UNSET
        sink(SpanRecord(tracer, name, trace_id, tracer.id_generator.generate_span_id(),
                        _CHILD_FLAGS[flags & _RANDOM_TRACE_ID], DEFAULT_TRACE_STATE, parent_id, True, flags,
                        SpanKind.INTERNAL, attributes, start_ns, end_ns, status))
        return True
