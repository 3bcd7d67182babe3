"""The host's tracing in one place: spans around durable work and the W3C `traceparent` it carries.

`HostTracing` makes spans on the host's tracer; `NoTracing` is tracing off (no spans, and work keeps
the caller's `traceparent` as it came). The `traceparent` travels with the work: in an
orchestration's ExecutionStarted event (`messages.started_event` / `traceparent_of`) and on each
entity operation. Ids go on spans, never on metrics. Every method is called on the dispatcher's loop
thread or in an HTTP handler on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..entity_batch import Operation, OperationResult


_FLAGS_HEX = [f"{flags:02x}" for flags in range(0x100)]


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """A W3C `traceparent` (version 00). The ids' bytes in hex are their `032x` / `016x` forms, written
    about twice as fast; ids out of range (never valid ones) take the format string."""
    if 0 <= flags <= 0xFF:
        try:
            return ("00-" + trace_id.to_bytes(16, "big").hex() + "-" + span_id.to_bytes(8, "big").hex() + "-"
                    + _FLAGS_HEX[flags])
        except OverflowError:
            pass
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def _traceparent(context: Any) -> str | None:
    return format_traceparent(context.trace_id, context.span_id, context.trace_flags) if context.is_valid else None


def _sampled(traceparent: str) -> bool:
    """The W3C `sampled` flag of a `traceparent` (`00-<trace>-<span>-<flags>`); malformed counts as sampled."""
    try:
        return bool(int(traceparent[-2:], 16) & 1)
    except ValueError:
        return True


def _drops_unsampled_remote_parents(tracer: Any) -> bool:
    """True when the tracer's sampler drops every child of an unsampled remote parent (the default
    `parentbased_*` samplers do), so such spans need not be started only to be discarded."""
    try:
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    except ImportError:
        return False
    sampler = getattr(tracer, "sampler", None)
    return isinstance(sampler, ParentBased) and getattr(sampler, "_remote_parent_not_sampled", None) is ALWAYS_OFF


class NoTracing:
    """Tracing off: no spans; the `traceparent` a request came with is passed on unchanged."""

    enabled = False

    @contextlib.contextmanager
    def span(self, name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[Any]:
        yield None

    def entity_spans(self, entity: str, entity_id: str, operations: list[Operation],
                     results: list[OperationResult], start_ns: int, end_ns: int) -> None:
        return None

    def operation_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        return caller

    def request_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        return caller

    def current_traceparent(self) -> str | None:
        return None


class HostTracing(NoTracing):
    """Spans on `tracer`, each in the trace of the `traceparent` carried with the work."""

    enabled = True

    def __init__(self, tracer: Any) -> None:
        from opentelemetry.propagate import extract
        from opentelemetry.trace import Status, StatusCode, get_current_span

        from .finished_spans import FinishedSpans

        self.tracer = tracer
        self._extract = extract
        self._error = lambda message: Status(StatusCode.ERROR, message)
        self._current_span = get_current_span
        self._drop_unsampled_parents = _drops_unsampled_remote_parents(tracer)
        self._finished = FinishedSpans(tracer)

    @contextlib.contextmanager
    def span(self, name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[Any]:
        """A span under the W3C `traceparent` carried with the work."""
        parent = self._extract({"traceparent": traceparent}) if traceparent else None
        with self.tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
            yield span

    def entity_spans(self, entity: str, entity_id: str, operations: list[Operation],
                     results: list[OperationResult], start_ns: int, end_ns: int) -> None:
        """One span per traced operation, each in its caller's trace (operations of a batch share its time),
        written as a finished span (`finished_spans`) where that is the SDK's result, else through the SDK."""
        if len(operations) == 1 and not operations[0].traceparent:
            return
        drop_unsampled = self._drop_unsampled_parents
        # untraced operations, and those whose span the sampler would drop anyway, make no span at all
        traced = [(op, result) for op, result in zip(operations, results, strict=True)
                  if op.traceparent and not (drop_unsampled and not _sampled(op.traceparent))]
        finished = self._finished
        batch_size = len(operations)
        for op, result in traced:
            traceparent = op.traceparent or ""  # `traced` keeps only operations that carry one
            name = f"entity {entity} {op.name}"
            attributes: dict[str, str | int] = {
                "durable.entity_id": entity_id, "durable.entity": entity, "durable.operation": op.name,
                "durable.batch_size": batch_size}
            error = str(result.result)[:200] if result.is_error else None
            if finished.enabled and finished.write_under(name, traceparent, attributes, start_ns, end_ns, error):
                continue
            span = self.tracer.start_span(name, context=self._extract({"traceparent": traceparent}),
                                          start_time=start_ns, attributes=attributes)
            if error is not None:
                span.set_status(self._error(error))
            span.end(end_time=end_ns)

    def operation_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        """The `traceparent` an entity operation carries: the request span's (None when the sampler
        dropped it, as it would drop the operation's span too). `dropped` is the request's
        `DROPPED_TRACE`, if any."""
        if dropped is not None:
            return None
        context = self._current_span().get_span_context()
        if self._drop_unsampled_parents and not context.trace_flags.sampled:
            return None
        return _traceparent(context)

    def request_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        """The `traceparent` work started by a request runs under (sampled or not, so that the
        sampling decision carries on): the request span's, else the caller's header."""
        if dropped is not None:
            return str(dropped.traceparent())
        return self.current_traceparent() or caller

    def current_traceparent(self) -> str | None:
        """The W3C `traceparent` of the current span (the host's own carrier format), if there is one."""
        return _traceparent(self._current_span().get_span_context())
