"""The burst-proof mailbox metrics of `funchost.telemetry`: high-water gauge and depth at enqueue,
read through the OpenTelemetry SDK's own in-memory reader."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from funchost.telemetry import HostTelemetry


def _points(reader: InMemoryMetricReader, name: str) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {str(dict(point.attributes or {})["entity"]): point
            for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == name for point in metric.data.data_points}


def test_high_water_keeps_the_deepest_mailbox_until_the_next_collection() -> None:
    reader = InMemoryMetricReader()
    telemetry = HostTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test"))
    for depth in (1, 2, 3, 4, 5):  # a burst of five to one player, drained before the collection
        telemetry.enqueued("@player@alice", depth)
    telemetry.enqueued("@player@bob", 2)
    telemetry.enqueued("@counter@c", 1)
    telemetry.enqueued("orchestration-instance-id", 9)  # not an entity: not a mailbox metric
    high = _points(reader, "funchost_entity_mailbox_high_water")
    assert {entity: point.value for entity, point in high.items()} == {"player": 5, "counter": 1}
    joined = _points(reader, "funchost_entity_mailbox_enqueue_depth")
    assert (joined["player"].count, joined["player"].sum, joined["player"].max) == (6, 17, 5)
    assert joined["counter"].count == 1
    # The next collection starts afresh: nothing enqueued since, so the high-water is gone.
    assert _points(reader, "funchost_entity_mailbox_high_water") == {}
    telemetry.enqueued("@player@alice", 1)
    assert _points(reader, "funchost_entity_mailbox_high_water")["player"].value == 1

