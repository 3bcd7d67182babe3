"""Head sampling of the host's own requests without making spans the sampler would drop.

With tracing on and a ratio sampler (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`), most
requests are not sampled. The SDK still builds a non-recording span for each, and the request
still switches context, which costs about as much on an entity signal as the host's metrics
together. For requests to the host's own routes (the management API and the client RPC, where no
user code runs that could start spans of its own) that carry no trace context, `RootSampling`
takes the sampler's decision up front, on a trace id it draws itself:

- dropped: no span, no context switch; the request keeps a `DroppedTrace`, whose `traceparent()`
  carries the unsampled decision on to the orchestrations the request starts (entity operations,
  which start nothing, carry none);
- sampled: `PresetIdGenerator` hands the same trace id to the SDK's `start_span`, so the SDK's
  own decision is the same and the span is made as usual.

It applies only where that repeat decision is certain: root spans under the SDK's deterministic
samplers (always off, trace-id ratio, and `parentbased_*` of those), with the host's id
generator. Anything else (another sampler, `OTEL_PYTHON_ID_GENERATOR`) takes the SDK path, and so
does an always-on root, which drops nothing (deciding first would only repeat the SDK's work).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, StaticSampler, TraceIdRatioBased
from opentelemetry.trace import INVALID_TRACE_ID, SpanKind, TraceFlags

from .tracing import format_traceparent


class PresetIdGenerator(RandomIdGenerator):
    """Random ids, except that the next trace id of this thread can be set beforehand."""

    def __init__(self) -> None:
        self._next = threading.local()

    def preset(self, trace_id: int) -> None:
        self._next.trace_id = trace_id

    def generate_trace_id(self) -> int:
        preset = getattr(self._next, "trace_id", None)
        if preset is not None:
            self._next.trace_id = None
            return int(preset)
        trace_id = random.getrandbits(128)  # RandomIdGenerator's draw, without its method call
        while trace_id == INVALID_TRACE_ID:
            trace_id = random.getrandbits(128)
        return trace_id

    def is_trace_id_random(self) -> bool:
        return True


class DroppedTrace:
    """A new trace the sampler dropped at a host route: no span was made."""

    __slots__ = ("flags", "ids", "trace_id")

    def __init__(self, trace_id: int, flags: int, ids: PresetIdGenerator) -> None:
        self.trace_id = trace_id
        self.flags = flags
        self.ids = ids

    def traceparent(self) -> str:
        """A W3C `traceparent` in this trace, not sampled, for work started by the request."""
        return format_traceparent(self.trace_id, self.ids.generate_span_id(), self.flags)


class RootSampling:
    """Samples new traces at the host's routes ahead of the SDK (see the module docstring)."""

    def __init__(self, tracer: Any) -> None:
        sampler = getattr(tracer, "sampler", None)
        root = sampler._root if isinstance(sampler, ParentBased) else sampler
        ids = getattr(tracer, "id_generator", None)
        # an always-on root drops nothing: deciding ahead of the SDK would only repeat its work
        self.enabled = (type(root) in (StaticSampler, TraceIdRatioBased) and isinstance(ids, PresetIdGenerator)
                        and root is not ALWAYS_ON)
        self._sampler = sampler
        # A trace-id ratio root samples when the id's low 64 bits are under its bound: that test is
        # the whole decision, so it is made here without building a SamplingResult per request.
        self._ratio: tuple[int, int] | None = None
        if type(root) is TraceIdRatioBased:
            self._ratio = (root.TRACE_ID_LIMIT, root.bound)
        self._ids = ids if isinstance(ids, PresetIdGenerator) else PresetIdGenerator()
        self._dropped_flags = int(TraceFlags.DEFAULT) | (0x02 if self._ids.is_trace_id_random() else 0)

    def dropped(self, name: str) -> DroppedTrace | None:
        """The dropped trace, or None after readying the SDK to make the (sampled) span itself.
        (`name` is the span's name for the sampler; the samplers this applies to do not read it.)"""
        assert self._sampler is not None
        trace_id = self._ids.generate_trace_id()
        if self._ratio is not None:
            limit, bound = self._ratio
            sampled = trace_id & limit < bound
        else:
            sampled = self._sampler.should_sample(None, trace_id, name, SpanKind.SERVER).decision.is_recording()
        if sampled:
            self._ids.preset(trace_id)  # start_span draws this trace id and decides the same way
            return None
        return DroppedTrace(trace_id, self._dropped_flags, self._ids)
