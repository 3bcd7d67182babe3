"""`HostTelemetry`: what the dispatcher and the HTTP handlers report to, metrics and tracing together.

Each half is a real implementation or its no-op (`NoMetrics`, `NoTracing`), chosen once by
`Observability`; `HostTelemetry()` is telemetry off. Nothing here checks whether a meter or a
tracer is missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .metrics import NoMetrics
from .tracing import NoTracing

if TYPE_CHECKING:
    from ..entity_batch import Operation, OperationResult


class HostTelemetry:
    """The host's metrics and tracing; every method is called on the dispatcher's loop thread."""

    def __init__(self, metrics: NoMetrics | None = None, tracing: NoTracing | None = None) -> None:
        self.metrics = metrics or NoMetrics()
        self.tracing = tracing or NoTracing()

    # -- metrics --------------------------------------------------------------------------------
    def commit(self, seconds: float) -> None:
        self.metrics.commit(seconds)

    def orchestration_started(self, name: str) -> None:
        self.metrics.orchestration_started(name)

    def orchestration_finished(self, name: str, status: str) -> None:
        self.metrics.orchestration_finished(name, status)

    def episode(self, name: str, seconds: float) -> None:
        self.metrics.episode(name, seconds)

    def activity(self, name: str, seconds: float, ok: bool) -> None:
        self.metrics.activity(name, seconds, ok)

    def enqueued(self, target: str, depth: int) -> None:
        self.metrics.enqueued(target, depth)

    def entity_batch(self, entity: str, operations: list[Operation], results: list[OperationResult],
                     seconds: float, now: float) -> None:
        self.metrics.entity_batch(entity, operations, results, seconds, now)

    # -- tracing --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def span(self, name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[Any]:
        with self.tracing.span(name, traceparent, attributes) as span:
            yield span

    def entity_spans(self, entity: str, entity_id: str, operations: list[Operation],
                     results: list[OperationResult], start_ns: int, end_ns: int) -> None:
        self.tracing.entity_spans(entity, entity_id, operations, results, start_ns, end_ns)

    def operation_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        return self.tracing.operation_traceparent(dropped, caller)

    def request_traceparent(self, dropped: Any | None, caller: str | None) -> str | None:
        return self.tracing.request_traceparent(dropped, caller)

    def current_traceparent(self) -> str | None:
        return self.tracing.current_traceparent()
