"""Host metrics through the OpenTelemetry API: mailboxes, batches, episodes, activities, commits.

`HostMetrics` records on the meter it is given (the host's MeterProvider); `NoMetrics` is metrics
off. No instance ids or entity keys are used as attribute values, only entity types, function names
and outcomes, so label cardinality stays bounded. The observable gauges over the dispatcher's current
work are in `gauges`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .bound_metrics import BufferedHistogram, HistogramBuffers

if TYPE_CHECKING:
    from ..entity_batch import Operation, OperationResult

# The one outcome vocabulary of every metric label that says how something ended (docs/observability.md,
# "Outcomes"); the app's `telemetry.metrics` uses the same words.
COMPLETED, FAILED, TERMINATED, CANCELLED = "completed", "failed", "terminated", "cancelled"
# Durable runtime status of a finished orchestration -> its `status` label.
_FINAL_STATUS = {"Completed": COMPLETED, "Failed": FAILED, "Terminated": TERMINATED, "Canceled": CANCELLED}
_OUTCOME = {True: FAILED, False: COMPLETED}  # by "is error"
SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
# Operation counts are whole numbers: a bucket per count up to 10 makes a quantile there exact once
# rounded up (the dashboards' ceil(histogram_quantile(...))), and coarser buckets above.
_BATCH_BUCKETS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100, 200, 500, 1000, 5000]
_DEPTH_BUCKETS = [1, 2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]


def observations(values: Mapping[Any, int], *labels: str) -> list[Any]:
    """Observations of `values`, whose keys are label values (a tuple when there are several labels)."""
    from opentelemetry.metrics import Observation

    return [Observation(v, dict(zip(labels, k if isinstance(k, tuple) else (k,), strict=True)))
            for k, v in list(values.items())]


class NoMetrics:
    """Metrics off: every measurement is dropped."""

    def commit(self, seconds: float) -> None:
        return None

    def orchestration_started(self, name: str) -> None:
        return None

    def orchestration_finished(self, name: str, status: str) -> None:
        return None

    def episode(self, name: str, seconds: float) -> None:
        return None

    def activity(self, name: str, seconds: float, ok: bool) -> None:
        return None

    def enqueued(self, target: str, depth: int) -> None:
        return None

    def entity_batch(self, entity: str, operations: list[Operation], results: list[OperationResult],
                     seconds: float, now: float) -> None:
        return None


class HostMetrics(NoMetrics):
    """Records host metrics on `meter`; every method is called on the dispatcher's loop thread.

    Counters on the hot path are plain dict increments, read by the SDK at collection time, and
    histogram values are buffered and aggregated in bulk (`bound_metrics`): an OpenTelemetry
    measurement through the API costs ~4-5 us, and an entity signal makes four.
    """

    def __init__(self, meter: Any) -> None:
        self.meter = meter
        self.buffers = HistogramBuffers(meter)
        self._entity_ops: Counter[tuple[str, str, str]] = Counter()
        self._orch_started: Counter[str] = Counter()
        self._orch_finished: Counter[tuple[str, str]] = Counter()
        self._high_water: dict[str, int] = {}
        self._instruments(meter)
        self._commit = self.buffers.histogram(self.commit_duration)
        self._per_entity: dict[str, tuple[BufferedHistogram, BufferedHistogram, BufferedHistogram]] = {}
        self._enqueue_depth: dict[str, BufferedHistogram] = {}

    def _instruments(self, meter: Any) -> None:
        seconds = SECONDS_BUCKETS
        meter.create_observable_counter(
            "funchost_entity_operations", callbacks=[self._observe_entity_ops], unit="{operation}",
            description="Entity operations processed, by outcome (completed, failed)")
        self.entity_op_duration = meter.create_histogram(
            "funchost_entity_operation_duration", unit="s", description="Entity operation duration",
            explicit_bucket_boundaries_advisory=seconds)
        self.entity_batch_size = meter.create_histogram(
            "funchost_entity_batch_size", unit="{operation}", description="Operations per entity batch",
            explicit_bucket_boundaries_advisory=_BATCH_BUCKETS)
        self.entity_queue_wait = meter.create_histogram(
            "funchost_entity_queue_wait", unit="s", description="Time from enqueue to start of an operation",
            explicit_bucket_boundaries_advisory=seconds)
        # Mailboxes drain between scrapes, so the instantaneous depth misses bursts: this and the
        # high-water gauge (`gauges`) see them.
        self.mailbox_depth_at_enqueue = meter.create_histogram(
            "funchost_entity_mailbox_enqueue_depth", unit="{operation}",
            description="Depth of the entity mailbox an operation joined, itself included",
            explicit_bucket_boundaries_advisory=_DEPTH_BUCKETS)
        meter.create_observable_counter(
            "funchost_orchestrations_started", callbacks=[self._observe_started], unit="{orchestration}",
            description="Orchestrations started")
        meter.create_observable_counter(
            "funchost_orchestrations_finished", callbacks=[self._observe_finished], unit="{orchestration}",
            description="Orchestrations that reached a final state, by status (completed, failed, terminated, "
                        "cancelled)")
        self.activity_duration = meter.create_histogram(
            "funchost_activity_duration", unit="s", description="Activity duration",
            explicit_bucket_boundaries_advisory=seconds)
        self.episode_duration = meter.create_histogram(
            "funchost_orchestration_episode_duration", unit="s", description="Orchestrator episode duration",
            explicit_bucket_boundaries_advisory=seconds)
        self.commit_duration = meter.create_histogram(
            "funchost_store_commit_duration", unit="s", description="SQLite group-commit duration",
            explicit_bucket_boundaries_advisory=seconds)

    def _observe_entity_ops(self, _options: Any) -> Iterable[Any]:
        return observations(self._entity_ops, "entity", "operation", "outcome")

    def _observe_started(self, _options: Any) -> Iterable[Any]:
        return observations(self._orch_started, "orchestrator")

    def _observe_finished(self, _options: Any) -> Iterable[Any]:
        return observations(self._orch_finished, "orchestrator", "status")

    def take_high_water(self) -> dict[str, int]:
        """The deepest mailbox per entity type seen at an enqueue since the last call, and start afresh."""
        marks, self._high_water = self._high_water, {}
        return marks

    def commit(self, seconds: float) -> None:
        self._commit.record(seconds)

    def orchestration_started(self, name: str) -> None:
        self._orch_started[name] += 1

    def orchestration_finished(self, name: str, status: str) -> None:
        """`status` is the Durable runtime status; only final ones count."""
        final = _FINAL_STATUS.get(status)
        if final is not None:
            self._orch_finished[(name, final)] += 1

    def episode(self, name: str, seconds: float) -> None:
        self.buffers.histogram(self.episode_duration, {"orchestrator": name}).record(seconds)

    def activity(self, name: str, seconds: float, ok: bool) -> None:
        attributes = {"activity": name, "outcome": _OUTCOME[not ok]}
        self.buffers.histogram(self.activity_duration, attributes).record(seconds)

    def enqueued(self, target: str, depth: int) -> None:
        """A message joined `target`'s mailbox, which now holds `depth` messages (the mailboxes call this
        for every message they make visible; only entity mailboxes are measured)."""
        if not target.startswith("@"):
            return
        entity = target[1:target.find("@", 1)]
        if depth > self._high_water.get(entity, 0):
            self._high_water[entity] = depth
        histogram = self._enqueue_depth.get(entity)
        if histogram is None:
            histogram = self._enqueue_depth[entity] = self.buffers.histogram(
                self.mailbox_depth_at_enqueue, {"entity": entity})
        histogram.record(depth)

    def entity_batch(self, entity: str, operations: list[Operation], results: list[OperationResult],
                     seconds: float, now: float) -> None:
        """Counts are aggregated per batch: one instrument call per (operation, outcome), not per op."""
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
            self._entity_ops[(entity, op.name, _OUTCOME[result.is_error])] += 1
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
            self._entity_ops[(entity, operation, _OUTCOME[is_error])] += count
