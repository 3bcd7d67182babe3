"""Bound histograms export exactly what `Histogram.record(value, attributes)` does, and fall back where they can't."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOffExemplarFilter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import View

from funchost.telemetry.bound_metrics import BoundHistogram, HistogramBuffers

BUCKETS = [0.001, 0.01, 0.1, 1, 10]
ATTRIBUTE_SETS: list[dict[str, Any]] = [
    {"entity": "player"}, {"entity": "counter"},
    {"http.route": "/api/x", "http.request.method": "POST", "http.response.status_code": 202},
    {}]
VALUES = [0.0, 0.0004, 0.001, 0.0011, 0.5, 3.0, 9.99, 10.0, 12345.0, -1.0, math.nan, math.inf]


def _points(reader: InMemoryMetricReader) -> dict[str, list[tuple[Any, ...]]]:
    """Per metric name: sorted (attributes, count, sum, buckets, min, max) of every data point."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name, points in _data_points(reader).items():
        found[name] = sorted((tuple(sorted(p.attributes.items())), p.count, p.sum, tuple(p.bucket_counts), p.min,
                              p.max) for p in points)
    return found


def _data_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Per metric name, the data points of one collection."""
    data = reader.get_metrics_data()
    assert data is not None
    return {m.name: list(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics}


def _pair(provider: MeterProvider) -> tuple[Any, Any]:
    meter = provider.get_meter("bound-test")
    via_api = meter.create_histogram("via_api", unit="s", explicit_bucket_boundaries_advisory=BUCKETS)
    bound = meter.create_histogram("bound", unit="s", explicit_bucket_boundaries_advisory=BUCKETS)
    return via_api, bound


def _record_both(via_api: Any, bound: Any, rounds: int = 3) -> list[BoundHistogram]:
    bound_histograms = [BoundHistogram(bound, attributes) for attributes in ATTRIBUTE_SETS]
    for _ in range(rounds):
        for attributes, bound_histogram in zip(ATTRIBUTE_SETS, bound_histograms, strict=True):
            for value in VALUES:
                via_api.record(value, attributes)
                bound_histogram.record(value)
    return bound_histograms


def test_bound_path_taken_and_identical_across_two_readers() -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[first, second], exemplar_filter=AlwaysOffExemplarFilter())
    via_api, bound = _pair(provider)
    histograms = _record_both(via_api, bound)
    assert all(h.bound for h in histograms)
    for reader in (first, second):
        points = _points(reader)
        assert points["bound"] == points["via_api"]
        # 4 attribute sets; the negative, NaN and infinite values are dropped (with the SDK's warnings)
        assert sorted(p[1] for p in points["bound"]) == [27, 27, 27, 27]
    # collecting does not detach a cumulative bound histogram from its aggregation
    for attributes, histogram in zip(ATTRIBUTE_SETS, histograms, strict=True):
        via_api.record(0.05, attributes)
        histogram.record(0.05)
    points = _points(first)
    assert points["bound"] == points["via_api"]
    assert sorted(p[1] for p in points["bound"]) == [28, 28, 28, 28]


@pytest.mark.parametrize("setup", ["exemplars", "attribute_keys", "delta"])
def test_falls_back_to_the_api_where_the_shortcut_is_not_exact(setup: str) -> None:
    reader = InMemoryMetricReader()
    # the default exemplar filter samples exemplars, which need each measurement's context
    kwargs: dict[str, Any] = {} if setup == "exemplars" else {"exemplar_filter": AlwaysOffExemplarFilter()}
    if setup == "attribute_keys":
        kwargs["views"] = [View(instrument_name="*", attribute_keys={"entity"})]
    if setup == "delta":  # delta readers replace aggregations on every collection
        reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    provider = MeterProvider(metric_readers=[reader], **kwargs)
    via_api, bound = _pair(provider)
    histograms = _record_both(via_api, bound, rounds=1)
    assert not any(h.bound for h in histograms)
    first = _points(reader)
    assert first["bound"] == first["via_api"]
    _record_both(via_api, bound, rounds=1)
    second = _points(reader)
    assert second["bound"] == second["via_api"]
    if setup == "delta":  # each collection saw only its own round
        assert first == second


def test_cardinality_overflow_matches_the_sdk() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], exemplar_filter=AlwaysOffExemplarFilter(),
                             views=[View(instrument_name="*", aggregation_cardinality_limit=2)])
    via_api, bound = _pair(provider)
    histograms = _record_both(via_api, bound, rounds=2)
    assert all(h.bound for h in histograms)
    points = _points(reader)
    assert points["bound"] == points["via_api"]
    assert any(("otel.metric.overflow", True) in p[0] for p in points["bound"])


def test_a_reader_added_later_sees_bound_values() -> None:
    first = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[first], exemplar_filter=AlwaysOffExemplarFilter())
    via_api, bound = _pair(provider)
    histograms = _record_both(via_api, bound, rounds=1)
    later = InMemoryMetricReader()
    provider.add_metric_reader(later)
    _record_both(via_api, bound, rounds=1)  # new BoundHistograms, and the old ones again:
    for attributes, histogram in zip(ATTRIBUTE_SETS, histograms, strict=True):
        via_api.record(0.2, attributes)
        histogram.record(0.2)
        via_api.record(0.3, attributes)
        histogram.record(0.3)  # rebound after the first call noticed the new reader
    assert all(h.bound for h in histograms)
    for reader in (first, later):
        points = _points(reader)
        assert points["bound"] == points["via_api"]
    assert sorted(p[1] for p in _points(later)["bound"]) == [11, 11, 11, 11]


def _record_buffered(via_api: Any, buffers: HistogramBuffers, bound: Any, rounds: int) -> None:
    for _ in range(rounds):
        for attributes in ATTRIBUTE_SETS:
            buffered = buffers.histogram(bound, attributes)
            for value in VALUES:
                via_api.record(value, attributes)
                buffered.record(value)


@pytest.mark.parametrize("rounds", [1, 100])  # below and far above FLUSH_AT values per attribute set
def test_buffered_values_are_all_in_every_collection(rounds: int) -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[first, second], exemplar_filter=AlwaysOffExemplarFilter())
    via_api, bound = _pair(provider)
    buffers = HistogramBuffers(provider.get_meter("bound-test"))
    _record_buffered(via_api, buffers, bound, rounds)
    assert buffers.histogram(bound, ATTRIBUTE_SETS[0])._bound.bound
    for reader in (first, second):
        points = _points(reader)
        assert points["bound"] == points["via_api"]
        assert sorted(p[1] for p in points["bound"]) == [9 * rounds] * 4
        assert "funchost.telemetry.flush" not in points  # the flush hook exports nothing
    _record_buffered(via_api, buffers, bound, 1)
    points = _points(first)
    assert points["bound"] == points["via_api"]
    assert sorted(p[1] for p in points["bound"]) == [9 * rounds + 9] * 4


@pytest.mark.parametrize("setup", ["exponential", "delta"])
def test_buffered_falls_back_value_by_value(setup: str) -> None:
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

    reader = InMemoryMetricReader()
    views: list[View] = []
    if setup == "exponential":  # not the aggregation the bulk path knows: each value is aggregated alone
        views = [View(instrument_name="*", aggregation=ExponentialBucketHistogramAggregation())]
    if setup == "delta":
        reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    provider = MeterProvider(metric_readers=[reader], exemplar_filter=AlwaysOffExemplarFilter(), views=views)
    via_api, bound = _pair(provider)
    buffers = HistogramBuffers(provider.get_meter("bound-test"))
    for collection in range(2):
        _record_buffered(via_api, buffers, bound, 40)
        points = _data_points(reader)
        api_points = sorted((tuple(sorted(p.attributes.items())), p.count, p.sum) for p in points["via_api"])
        bound_points = sorted((tuple(sorted(p.attributes.items())), p.count, p.sum) for p in points["bound"])
        assert bound_points == api_points
        # delta: each collection counts its own 40 rounds; cumulative: all rounds so far
        assert {p[1] for p in bound_points} == {360 if setup == "delta" else 360 * (collection + 1)}


def test_buffered_records_from_threads_while_collecting() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], exemplar_filter=AlwaysOffExemplarFilter())
    _via_api, bound = _pair(provider)
    buffers = HistogramBuffers(provider.get_meter("bound-test"))
    per_thread = 20_000
    stop = threading.Event()

    def collect() -> None:
        while not stop.is_set():
            reader.get_metrics_data()

    def work(attributes: dict[str, Any]) -> None:
        histogram = buffers.histogram(bound, attributes)
        for i in range(per_thread):
            histogram.record(i / 1000.0)

    collector = threading.Thread(target=collect)
    collector.start()
    workers = [threading.Thread(target=work, args=({"entity": f"type-{n % 2}"},)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    collector.join()
    points = _points(reader)["bound"]
    assert sorted(p[1] for p in points) == [2 * per_thread, 2 * per_thread]
    expected_sum = 2 * sum(i / 1000.0 for i in range(per_thread))
    assert all(p[2] == pytest.approx(expected_sum) for p in points)
