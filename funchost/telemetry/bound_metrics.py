"""Bound histograms: a histogram and a fixed attribute set, resolved once to the SDK's aggregations.

`Histogram.record(value, attributes)` of opentelemetry-sdk walks five layers on every call: it
cleans and copies the attributes, hashes them into an aggregation key, asks the exemplar filter,
and finds the instrument's views in each reader, about 4 us in CPython, several times per entity
signal. None of that depends on the value, so for a fixed attribute set the host does it once
(the "bound instrument" the OpenTelemetry specification once had): `BoundHistogram` finds the
aggregation each reader's view keeps for those attributes, exactly as the SDK would, and feeds
later values straight to it. The data still lives in the SDK and is exported by its readers.

The shortcut is taken only where it is exactly equivalent to the API call; anywhere else
(another SDK layout, exemplars on, a view selecting attribute keys, delta temporality, which
replaces aggregations on collection, the meter disabled, a reader added later, a value the SDK
would reject) the bound histogram calls `Histogram.record` with the same attributes.

`BufferedHistogram` goes one step further for the host's hot paths: values are appended to a buffer
and added to the aggregations in bulk, flushed by size and before every collection
(`HistogramBuffers`), so exports are unchanged. One difference, irrelevant to the host, which sets
its readers up once: values still buffered when a reader is added reach that reader too.
`tests/observability/test_bound_metrics.py` checks both classes export what the API path does.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping
from time import time_ns
from typing import Any

try:
    from opentelemetry.attributes import _clean_attribute_value
    from opentelemetry.context import Context
    from opentelemetry.sdk.metrics._internal._view_instrument_match import _hash_attributes
    from opentelemetry.sdk.metrics._internal.aggregation import _ExplicitBucketHistogramAggregation
    from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOffExemplarFilter
    from opentelemetry.sdk.metrics._internal.instrument import _Histogram as _SdkHistogram
    from opentelemetry.sdk.metrics._internal.measurement import Measurement
    from opentelemetry.sdk.metrics._internal.measurement_consumer import SynchronousMeasurementConsumer
except ImportError:  # another SDK layout: every bound histogram takes the API path
    _SdkHistogram = None  # type: ignore[assignment,misc]

_NO_CONTEXT: Any = Context() if _SdkHistogram is not None else None


def _aggregations(histogram: Any, attributes: Mapping[str, Any] | None) -> tuple[Any, list[Any]] | None:
    """(reader storages, aggregations) the SDK would feed for `attributes`, or None if not exactly known."""
    if _SdkHistogram is None or type(histogram) is not _SdkHistogram or not histogram._is_enabled():
        return None
    consumer = histogram._measurement_consumer
    if type(consumer) is not SynchronousMeasurementConsumer:
        return None
    if not isinstance(consumer._sdk_config.exemplar_filter, AlwaysOffExemplarFilter):
        return None
    cleaned = dict(_clean_attribute_value(attributes, None) or {}) if attributes else {}
    key = _hash_attributes(cleaned)
    storages = consumer._reader_storages
    found: list[Any] = []
    for storage in storages.values():
        for match in storage._get_or_init_view_instrument_match(histogram):
            if match._view._attribute_keys is not None or match._reset_on_collect:
                return None
            with match._lock:
                found.append(match._get_or_create_aggregation(key, cleaned))
    return storages, found


class BoundHistogram:
    """`record(value)` is `histogram.record(value, attributes)`, minus the per-call lookups."""

    __slots__ = ("_aggregations", "_attributes", "_histogram", "_storages")

    def __init__(self, histogram: Any, attributes: Mapping[str, Any] | None = None) -> None:
        self._histogram = histogram
        self._attributes = dict(attributes) if attributes else None
        self._bind()

    def _bind(self) -> None:
        resolved = _aggregations(self._histogram, self._attributes)
        self._storages: Any = resolved[0] if resolved is not None else None
        self._aggregations: list[Any] | None = resolved[1] if resolved is not None else None

    @property
    def aggregations(self) -> list[Any] | None:
        """The SDK aggregations values go to, or None when they go through `Histogram.record`."""
        if self._aggregations is not None and (
                self._histogram._measurement_consumer._reader_storages is not self._storages
                or not self._histogram._is_enabled()):
            self._bind()
        return self._aggregations

    @property
    def bound(self) -> bool:
        """True when values go straight to the SDK's aggregations."""
        return self._aggregations is not None

    def record(self, amount: float) -> None:
        aggregations = self._aggregations
        histogram = self._histogram
        if aggregations is None or not 0 <= amount < math.inf:  # the SDK warns about bad values
            histogram.record(amount, self._attributes)
            return
        if (histogram._measurement_consumer._reader_storages is not self._storages
                or not histogram._is_enabled()):  # readers or the meter's configuration changed
            histogram.record(amount, self._attributes)
            self._bind()
            return
        measurement = Measurement(amount, time_ns(), histogram, _NO_CONTEXT, None)
        for aggregation in aggregations:
            aggregation.aggregate(measurement, False)


def _aggregate_many(aggregation: Any, values: list[float]) -> None:
    """`aggregation.aggregate` of each value in turn (same sums, in the same order), under one lock."""
    boundaries = aggregation._boundaries
    with aggregation._lock:
        if aggregation._value is None:
            aggregation._value = aggregation._get_empty_bucket_counts()
        counts = aggregation._value
        total = aggregation._sum
        for value in values:
            total += value
            counts[bisect_left(boundaries, value)] += 1
        aggregation._sum = total
        if aggregation._record_min_max:
            aggregation._min = min(aggregation._min, *values)
            aggregation._max = max(aggregation._max, *values)


def _bulk_capable(aggregation: Any) -> bool:
    """True for the SDK's explicit-bucket histogram with the fields `_aggregate_many` updates."""
    return type(aggregation) is _ExplicitBucketHistogramAggregation and all(
        hasattr(aggregation, name) for name in ("_lock", "_value", "_sum", "_min", "_max", "_boundaries",
                                                "_record_min_max", "_get_empty_bucket_counts"))


class BufferedHistogram:
    """A bound histogram whose values wait in a buffer and reach the SDK in bulk.

    On the hot path `record` is an append. The buffer is aggregated when it holds `FLUSH_AT`
    values and whenever a reader collects (the `HistogramBuffers` that owns it flushes from an
    instrument callback, which the SDK runs before it reads any aggregation), so every export
    sees every value recorded before it, as with `Histogram.record`. Aggregating a buffer takes
    one lock and no per-value objects; where the aggregation is not the SDK's explicit-bucket
    histogram the values go one by one through `BoundHistogram.record`.
    """

    FLUSH_AT = 256

    __slots__ = ("_bound", "_lock", "_pending")

    def __init__(self, histogram: Any, attributes: Mapping[str, Any] | None = None) -> None:
        self._bound = BoundHistogram(histogram, attributes)
        self._pending: deque[float] = deque()
        self._lock = threading.Lock()

    def record(self, amount: float) -> None:
        if not 0 <= amount < math.inf:  # what the SDK drops (with a warning) never waits in the buffer
            self._bound.record(amount)
            return
        pending = self._pending
        pending.append(amount)
        if len(pending) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending = self._pending
            count = len(pending)
            if not count:
                return
            values = [pending.popleft() for _ in range(count)]
            aggregations = self._bound.aggregations
            if aggregations is not None and all(_bulk_capable(a) for a in aggregations):
                for aggregation in aggregations:
                    _aggregate_many(aggregation, values)
                return
            for value in values:
                self._bound.record(value)


class HistogramBuffers:
    """The buffered histograms of one MeterProvider, flushed before each collection by any of its readers."""

    def __init__(self, meter: Any) -> None:
        self._histograms: dict[tuple[Any, ...], BufferedHistogram] = {}
        self._lock = threading.Lock()
        # An observable instrument that never observes anything: its callback is the SDK's
        # "about to collect" hook (callbacks run before synchronous aggregations are read).
        meter.create_observable_gauge("funchost.telemetry.flush", callbacks=[self._before_collect],
                                      description="Flushes buffered histogram values; exports no data")

    def histogram(self, histogram: Any, attributes: Mapping[str, Any] | None = None) -> BufferedHistogram:
        """The buffered histogram of (histogram, attributes); attribute values must be few (names, types)."""
        key = (histogram, *(attributes or {}).items())
        found = self._histograms.get(key)
        if found is None:
            with self._lock:
                found = self._histograms.get(key)
                if found is None:
                    found = self._histograms[key] = BufferedHistogram(histogram, attributes)
        return found

    def flush(self) -> None:
        for histogram in list(self._histograms.values()):
            histogram.flush()

    def _before_collect(self, _options: Any) -> Iterable[Any]:
        self.flush()
        return []
