"""The HTTP server span without the SDK's live-span machinery, unless someone uses more than it needs.

Every traced request makes a SERVER span that stays current while the request runs (work it starts
carries its `traceparent`; user code may add attributes or start child spans). The SDK's `start_span`
builds, per request, a `Span` with a lock, bounded attribute, event and link containers and the
sampler's result, then copies it into a `ReadableSpan` at `end`: about 20 us in CPython 3.11 on a
request that otherwise costs the host little more. `LiveSpans.start` makes the same span as a
`HostSpan`: the same ids, flags and sampling decision, its attributes in a plain dict, and at `end`
the same `ReadableSpan` handed to the processors.

`HostSpan` keeps to the SDK's exact behaviour by doing itself only what it does identically: reading
its context, and setting attributes whose key is a non-empty string and whose value is a str, bool,
int or float (values the SDK stores unchanged, under limits that cannot drop them). Anything else (an
event, a link, a status, an exception, a new name, other values) first turns it into the SDK's own
`Span`, started at the same instant with the attributes so far, which then takes every call.
A span that ends as a plain `HostSpan` goes to an OTLP batch processor as a `span_records.SpanRecord`
where that is the tracer's only processor. `LiveSpans` is on only where `finished_spans.sdk_equivalent`
holds and the sampler's decision for the span is the one it reproduces: `parentbased_*` with the
default delegates over an always-on, always-off or trace-id-ratio root. Otherwise `start` answers
None and the caller uses the SDK. Used on the loop thread by `http.HttpTracing`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from time import time_ns
from types import TracebackType
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .finished_spans import processors_ready, sdk_equivalent
from .span_records import SpanRecord, readable_span, record_sink

log = logging.getLogger("funchost.telemetry")

_PLAIN = (str, bool, int, float)  # attribute values the SDK keeps as they are (no length limit is set)
_MAX_OWN_ATTRIBUTES = 16  # at most this many in the dict; one more turns the span into the SDK's
_FLAGS = {(sampled, random): TraceFlags((TraceFlags.SAMPLED if sampled else 0) |
                                        (getattr(TraceFlags, "RANDOM_TRACE_ID", 0) if random else 0))
          for sampled in (False, True) for random in (False, True)}  # (sampled, random trace id) -> flags


def _root_decision(sampler: Any) -> Callable[[int], bool] | None:
    """trace id -> sampled, for the roots whose decision depends on nothing else; None for any other."""
    root = sampler._root
    if root is ALWAYS_ON:
        return lambda trace_id: True
    if root is ALWAYS_OFF:
        return lambda trace_id: False
    if type(root) is TraceIdRatioBased:
        limit, bound = root.TRACE_ID_LIMIT, root.bound
        return lambda trace_id: trace_id & limit < bound
    return None


def _reproducible(tracer: Any) -> bool:
    sampler = getattr(tracer, "sampler", None)
    return (sdk_equivalent(tracer) and isinstance(sampler, ParentBased) and hasattr(TraceFlags, "RANDOM_TRACE_ID")
            and getattr(sampler, "_local_parent_sampled", None) is ALWAYS_ON
            and getattr(sampler, "_local_parent_not_sampled", None) is ALWAYS_OFF
            and _root_decision(sampler) is not None and hasattr(sdk_trace, "_Span"))


class LiveSpans:
    """Starts `HostSpan`s on `tracer` where they are the SDK's spans (see the module docstring)."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        self.enabled = _reproducible(tracer)
        self._root_sampled: Callable[[int], bool] = (self.enabled and _root_decision(tracer.sampler)) or bool
        self._checked: list[Any] = [None]
        self._sink_checked: list[Any] = [None, None]

    def start(self, name: str, parent: Any | None, kind: SpanKind) -> trace_api.Span | None:
        """The span `tracer.start_span(name, context=parent, kind=kind)` would start, or None where
        that is not certain (the caller then calls it). A dropped span is a `NonRecordingSpan`, as there."""
        tracer = self.tracer
        if not (self.enabled and tracer._is_enabled() and processors_ready(tracer, self._checked)):
            return None
        ids = tracer.id_generator
        parent_context: SpanContext | None = trace_api.get_current_span(parent).get_span_context()
        if parent_context is None or not parent_context.is_valid:
            parent_context, trace_state = None, None
            trace_id = ids.generate_trace_id()
            sampled, random = self._root_sampled(trace_id), ids.is_trace_id_random()
        else:
            trace_id, trace_state = parent_context.trace_id, parent_context.trace_state
            flags = parent_context.trace_flags
            sampled, random = flags.sampled, flags.random_trace_id
        # (trace id, span id, is remote, flags, state) by position: keywords cost more than the rest of the call
        context = SpanContext(trace_id, ids.generate_span_id(), False, _FLAGS[bool(sampled), bool(random)], trace_state)
        if not sampled:
            return NonRecordingSpan(context)
        return HostSpan(self, name, context, parent_context, parent, kind)


class HostSpan(trace_api.Span):
    """A recording span kept as plain data until a call needs the SDK's `Span` (then it becomes one).

    Owned by the request that started it: the loop thread, and a sync function's worker thread while it
    runs (each call is one dict operation or a hand-over to the SDK's span, which has its own lock)."""

    def __init__(self, owner: LiveSpans, name: str, context: SpanContext, parent: SpanContext | None,
                 parent_context: Any | None, kind: SpanKind) -> None:
        self._owner = owner
        self._name = name
        self._context = context
        self._parent = parent
        self._parent_context = parent_context
        self._kind = kind
        self._attributes: dict[str, Any] = {}
        self._start = time_ns()
        self._end: int | None = None
        self._sdk: Any = None

    def _sdk_span(self) -> Any:
        """The SDK's span for the rest of this span's life: same context, start and attributes so far."""
        if self._sdk is None:
            tracer = self._owner.tracer
            self._sdk = sdk_trace._Span(
                name=self._name, context=self._context, parent=self._parent, sampler=tracer.sampler,
                resource=tracer.resource, attributes=self._attributes, span_processor=tracer.span_processor,
                kind=self._kind, instrumentation_info=tracer.instrumentation_info, limits=tracer._span_limits,
                instrumentation_scope=tracer._instrumentation_scope)
            self._sdk.start(start_time=self._start, parent_context=self._parent_context)
        return self._sdk

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._sdk.is_recording() if self._sdk is not None else self._end is None

    def set_attribute(self, key: str, value: Any) -> None:
        attributes = self._attributes
        if (self._sdk is None and self._end is None and type(value) in _PLAIN and type(key) is str and key
                and len(attributes) < _MAX_OWN_ATTRIBUTES):
            attributes.pop(key, None)  # a key set again moves to the end, as in the SDK's attributes
            attributes[key] = value
            return
        self._other().set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        own = self._attributes
        for key, value in attributes.items():  # `set_attribute` inlined for the plain values
            if (self._sdk is None and self._end is None and type(value) in _PLAIN and type(key) is str and key
                    and len(own) < _MAX_OWN_ATTRIBUTES):
                own.pop(key, None)
                own[key] = value
            else:
                self.set_attribute(key, value)

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        self._other().add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: Any = None) -> None:
        self._other().add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self._other().update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self._other().set_status(status, description)

    def record_exception(self, exception: BaseException, attributes: Any = None, timestamp: int | None = None,
                         escaped: bool = False) -> None:
        self._other().record_exception(exception, attributes, timestamp, escaped)

    def _other(self) -> Any:
        """Where a call the dict does not handle goes: the SDK's span, or nowhere once ended (as the SDK
        ignores calls on an ended span, with a warning)."""
        if self._sdk is None and self._end is not None:
            log.warning("Tried to change an ended span %s", self._name)
            return NonRecordingSpan(self._context)
        return self._sdk_span()

    def end(self, end_time: int | None = None) -> None:
        if self._sdk is not None:
            self._sdk.end(end_time)
            return
        if self._end is not None:
            log.warning("Calling end() on an ended span.")
            return
        self._end = end = end_time if end_time is not None else time_ns()
        owner = self._owner
        tracer = owner.tracer
        sink = record_sink(tracer, owner._sink_checked)
        if sink is not None:  # the batch processor's queue takes the span as a record (`span_records`)
            context, parent = self._context, self._parent
            sink(SpanRecord(tracer, self._name, context.trace_id, context.span_id, context.trace_flags,
                            context.trace_state, parent.span_id if parent is not None else None,
                            parent is not None and parent.is_remote, parent.trace_flags if parent is not None else 0,
                            self._kind, self._attributes, self._start, end))
            return
        tracer.span_processor.on_end(readable_span(tracer, self._name, self._context, self._parent, self._kind,
                                                   self._attributes, self._start, end))

    def __exit__(self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
                 exc_tb: TracebackType | None) -> None:
        """As the SDK's span: an exception escaping the block is recorded (which needs the SDK's span)."""
        if exc_val is not None and self.is_recording():
            self._sdk_span().__exit__(exc_type, exc_val, exc_tb)
            return
        self.end()
