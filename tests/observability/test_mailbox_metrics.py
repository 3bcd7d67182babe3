"""The burst-proof mailbox metrics of `funchost.telemetry.metrics`: the high-water marks behind
`funchost_entity_mailbox_high_water` and the depth-at-enqueue histogram, read through the
OpenTelemetry SDK's own in-memory reader. (The gauge itself, over a running host, is checked end to
end in test_alerts_e2e.py.)"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from funchost.telemetry import HostMetrics


def _points(reader: InMemoryMetricReader, name: str) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {str(dict(point.attributes or {})["entity"]): point
            for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == name for point in metric.data.data_points}


def test_high_water_keeps_the_deepest_mailbox_until_taken() -> None:
    reader = InMemoryMetricReader()
    metrics = HostMetrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    for depth in (1, 2, 3, 4, 5):  # a burst of five to one player, drained before the collection
        metrics.enqueued("@player@alice", depth)
    metrics.enqueued("@player@bob", 2)
    metrics.enqueued("@counter@c", 1)
    metrics.enqueued("orchestration-instance-id", 9)  # not an entity: not a mailbox metric
    assert metrics.take_high_water() == {"player": 5, "counter": 1}
    assert metrics.take_high_water() == {}, "each collection starts afresh"
    metrics.enqueued("@player@alice", 1)
    assert metrics.take_high_water() == {"player": 1}
    joined = _points(reader, "funchost_entity_mailbox_enqueue_depth")
    assert (joined["player"].count, joined["player"].sum, joined["player"].max) == (7, 18, 5)
    assert joined["counter"].count == 1
