"""Host metrics through the OpenTelemetry API: mailboxes, batches, episodes, activities, commits.

Instruments are created on the meter passed in (the host's MeterProvider); with no meter every
method is a no-op. No instance ids or entity keys are used as attribute values, only entity
types, function names and outcomes, so label cardinality stays bounded.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .bound_metrics import BufferedHistogram, HistogramBuffers

if TYPE_CHECKING:
    from .entity_batch import Operation, OperationResult
    from .gauges import GaugeSource

_TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


def _drops_unsampled_remote_parents(tracer: Any | None) -> bool:
    """True when the tracer's sampler drops every child of an unsampled remote parent (the default
    `parentbased_*` samplers do), so such spans need not be started only to be discarded."""
    if tracer is None:
        return False
    try:
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    except ImportError:
        return False
    sampler = getattr(tracer, "sampler", None)
    return isinstance(sampler, ParentBased) and getattr(sampler, "_remote_parent_not_sampled", None) is ALWAYS_OFF


def _sampled(traceparent: str) -> bool:
    """The W3C `sampled` flag of a `traceparent` (`00-<trace>-<span>-<flags>`); malformed counts as sampled."""
    try:
        return bool(int(traceparent[-2:], 16) & 1)
    except ValueError:
        return True


class HostTelemetry:
    """Records host metrics; all methods are called on the dispatcher's loop thread."""

    def __init__(self, meter: Any | None, tracer: Any | None = None) -> None:
        self.meter = meter
        self.tracer = tracer
        self._dispatcher: GaugeSource | None = None
        self._drop_unsampled_parents = _drops_unsampled_remote_parents(tracer)
        self._current_span: Callable[[], Any] | None = None
        if tracer is not None:
            from opentelemetry.trace import get_current_span

            self._current_span = get_current_span
        if meter is None:
            return
        seconds_buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        # Counters on the hot path are plain dict increments, read by the SDK at collection time,
        # and histogram values are buffered and aggregated in bulk (`bound_metrics`): an
        # OpenTelemetry measurement through the API costs ~4-5 us, and an entity signal makes four.
        self._entity_ops: Counter[tuple[str, str, str]] = Counter()
        self._orch_started: Counter[str] = Counter()
        self._orch_completed: Counter[tuple[str, str]] = Counter()
        meter.create_observable_counter(
            "funchost_entity_operations", callbacks=[self._observe_entity_ops], unit="{operation}",
            description="Entity operations processed")
        self.entity_op_duration = meter.create_histogram(
            "funchost_entity_operation_duration", unit="s", description="Entity operation duration",
            explicit_bucket_boundaries_advisory=seconds_buckets)
        self.entity_batch_size = meter.create_histogram(
            "funchost_entity_batch_size", unit="{operation}", description="Operations per entity batch",
            explicit_bucket_boundaries_advisory=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000])
        self.entity_queue_wait = meter.create_histogram(
            "funchost_entity_queue_wait", unit="s", description="Time from enqueue to start of an operation",
            explicit_bucket_boundaries_advisory=seconds_buckets)
        meter.create_observable_counter(
            "funchost_orchestrations_started", callbacks=[self._observe_started], unit="{orchestration}",
            description="Orchestrations started")
        meter.create_observable_counter(
            "funchost_orchestrations_completed", callbacks=[self._observe_completed], unit="{orchestration}",
            description="Orchestrations that reached a final state")
        self.activity_duration = meter.create_histogram(
            "funchost_activity_duration", unit="s", description="Activity duration",
            explicit_bucket_boundaries_advisory=seconds_buckets)
        self.episode_duration = meter.create_histogram(
            "funchost_orchestration_episode_duration", unit="s", description="Orchestrator episode duration",
            explicit_bucket_boundaries_advisory=seconds_buckets)
        self.commit_duration = meter.create_histogram(
            "funchost_store_commit_duration", unit="s", description="SQLite group-commit duration",
            explicit_bucket_boundaries_advisory=seconds_buckets)
        meter.create_observable_gauge(
            "funchost_entity_mailbox_depth", callbacks=[self._observe_depth], unit="{operation}",
            description="Entity operations waiting, per entity type")
        meter.create_observable_gauge(
            "funchost_entities_active", callbacks=[self._observe_active], unit="{entity}",
            description="Entities with queued or running operations, per entity type")
        self.buffers = HistogramBuffers(meter)
        self._commit = self.buffers.histogram(self.commit_duration)
        self._per_entity: dict[str, tuple[BufferedHistogram, BufferedHistogram, BufferedHistogram]] = {}
        meter.create_observable_gauge(
            "funchost_orchestrations_running", callbacks=[self._observe_running], unit="{orchestration}",
            description="Orchestration instances not yet finished, per orchestrator")
        meter.create_observable_gauge(
            "funchost_work_items_pending", callbacks=[self._observe_pending], unit="{item}",
            description="Work items waiting, per kind")

    def bind_dispatcher(self, dispatcher: GaugeSource) -> None:
        self._dispatcher = dispatcher

    @staticmethod
    def _observations(values: Mapping[Any, int], *labels: str) -> Iterable[Any]:
        """Observations of `values`, whose keys are label values (a tuple when there are several labels)."""
        from opentelemetry.metrics import Observation

        return [Observation(v, dict(zip(labels, k if isinstance(k, tuple) else (k,), strict=True)))
                for k, v in list(values.items())]

    def _per_entity_type(self, values: dict[str, int]) -> Iterable[Any]:
        """Every registered entity type, zero where nothing is waiting or active."""
        if self._dispatcher is not None:
            for name in self._dispatcher.entity_types():
                values.setdefault(name, 0)
        return self._observations(values, "entity")

    def _observe_entity_ops(self, _options: Any) -> Iterable[Any]:
        return self._observations(self._entity_ops, "entity", "operation", "outcome")

    def _observe_started(self, _options: Any) -> Iterable[Any]:
        return self._observations(self._orch_started, "name")

    def _observe_completed(self, _options: Any) -> Iterable[Any]:
        return self._observations(self._orch_completed, "name", "status")

    def _observe_depth(self, _options: Any) -> Iterable[Any]:
        return self._per_entity_type(self._dispatcher.mailbox_depths()) if self._dispatcher else []

    def _observe_active(self, _options: Any) -> Iterable[Any]:
        return self._per_entity_type(self._dispatcher.active_entities()) if self._dispatcher else []

    def _observe_running(self, _options: Any) -> Iterable[Any]:
        if self._dispatcher is None:
            return []
        running = self._dispatcher.running_by_name()
        for name in self._dispatcher.orchestrator_names():
            running.setdefault(name, 0)
        return self._observations(running, "name")

    def _observe_pending(self, _options: Any) -> Iterable[Any]:
        return self._observations(self._dispatcher.pending_work(), "kind") if self._dispatcher else []

    def commit(self, seconds: float) -> None:
        if self.meter is not None:
            self._commit.record(seconds)

    def orchestration_started(self, name: str) -> None:
        if self.meter is not None:
            self._orch_started[name] += 1

    def orchestration_finished(self, name: str, status: str) -> None:
        if self.meter is not None and status in _TERMINAL:
            self._orch_completed[(name, status)] += 1

    def episode(self, name: str, seconds: float) -> None:
        if self.meter is not None:
            self.buffers.histogram(self.episode_duration, {"name": name}).record(seconds)

    def activity(self, name: str, seconds: float, ok: bool) -> None:
        if self.meter is not None:
            outcome = "success" if ok else "failure"
            self.buffers.histogram(self.activity_duration, {"name": name, "outcome": outcome}).record(seconds)

    def entity_batch(self, entity: str, operations: list[Operation], results: list[OperationResult],
                     seconds: float, now: float) -> None:
        """Counts are aggregated per batch: one instrument call per (operation, outcome), not per op."""
        if self.meter is None:
            return
        per_entity = self._per_entity.get(entity)
        if per_entity is None:
            attributes = {"entity": entity}
            per_entity = self._per_entity[entity] = (
                self.buffers.histogram(self.entity_batch_size, attributes),
                self.buffers.histogram(self.entity_op_duration, attributes),
                self.buffers.histogram(self.entity_queue_wait, attributes))
        batch_size, op_duration, queue_wait = per_entity
        batch_size.record(len(operations))
        if len(operations) == 1:  # the common case under many entities: skip the aggregation
            op, result = operations[0], results[0]
            self._entity_ops[(entity, op.name, "error" if result.is_error else "success")] += 1
            op_duration.record(result.duration_ms / 1000.0 if result.duration_ms else seconds)
            if op.enqueued_at:
                queue_wait.record(max(0.0, now - op.enqueued_at))
            return
        counts: Counter[tuple[str, bool]] = Counter()
        per_op = seconds / max(1, len(operations))
        record_duration = op_duration.record
        record_wait = queue_wait.record
        for op, result in zip(operations, results, strict=True):
            counts[(op.name, result.is_error)] += 1
            record_duration(result.duration_ms / 1000.0 if result.duration_ms else per_op)
            if op.enqueued_at:
                record_wait(max(0.0, now - op.enqueued_at))
        for (operation, is_error), count in counts.items():
            self._entity_ops[(entity, operation, "error" if is_error else "success")] += count

    @contextlib.contextmanager
    def span(self, name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[Any]:
        """A span under the W3C `traceparent` carried with the work (ids go on spans, never on metrics)."""
        if self.tracer is None:
            yield None
            return
        from opentelemetry.propagate import extract

        parent = extract({"traceparent": traceparent}) if traceparent else None
        with self.tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
            yield span

    def entity_spans(self, entity: str, entity_id: str, operations: list[Operation],
                     results: list[OperationResult], start_ns: int, end_ns: int) -> None:
        """One span per traced operation, each in its caller's trace (operations of a batch share its time)."""
        if self.tracer is None or (len(operations) == 1 and not operations[0].traceparent):
            return
        drop_unsampled = self._drop_unsampled_parents
        # untraced operations, and those whose span the sampler would drop anyway, make no span at all
        traced = [(op, result) for op, result in zip(operations, results, strict=True)
                  if op.traceparent and not (drop_unsampled and not _sampled(op.traceparent))]
        if not traced:
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import Status, StatusCode

        for op, result in traced:
            span = self.tracer.start_span(
                f"entity {entity} {op.name}", context=extract({"traceparent": op.traceparent}),
                start_time=start_ns, attributes={
                    "durable.entity_id": entity_id, "durable.entity": entity, "durable.operation": op.name,
                    "durable.batch_size": len(operations)})
            if result.is_error:
                span.set_status(Status(StatusCode.ERROR, str(result.result)[:200]))
            span.end(end_time=end_ns)

    def operation_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        """The `traceparent` an entity operation carries: the request span's when tracing (None when
        the sampler dropped it, as it would drop the operation's span too), else the caller's header.
        `dropped` is the request's `observability.DROPPED_TRACE`, if any."""
        if self._current_span is None:
            return caller
        if dropped is not None:
            return None
        context = self._current_span().get_span_context()
        if self._drop_unsampled_parents and not context.trace_flags.sampled:
            return None
        return _traceparent(context)

    def request_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        """The `traceparent` work started by a request runs under (sampled or not, so that the
        sampling decision carries on): the request span's when tracing, else the caller's header.
        `dropped` is the request's `observability.DROPPED_TRACE`, if any."""
        if self.tracer is None:
            return caller
        if dropped is not None:
            return str(dropped.traceparent())
        return self.current_traceparent() or caller

    def current_traceparent(self) -> str | None:
        """The W3C `traceparent` of the current span (the host's own carrier format), if there is one."""
        if self._current_span is None:
            return None
        return _traceparent(self._current_span().get_span_context())


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """A W3C `traceparent` (version 00)."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def _traceparent(context: Any) -> str | None:
    return format_traceparent(context.trace_id, context.span_id, context.trace_flags) if context.is_valid else None
