"""Spans queued as `SpanRecord`s are the spans the host's `ReadableSpan` path makes, field for field and byte for byte.

Two real TracerProviders with the same id sequence and a fixed clock run the same request spans
(`LiveSpans`, as `HttpTracing` runs them) and entity spans (`HostTracing.entity_spans`): one through
the SDK's `BatchSpanProcessor` around an exporter that takes records (the host's OTLP setup), one
through a `SimpleSpanProcessor` (the `ReadableSpan` path, itself checked against the SDK's own spans
in `test_live_spans` and `test_finished_spans`). The records' `ReadableSpan`s must equal those spans,
and the host's encoding of the records the SDK encoder's bytes of those spans; at shutdown the batch
processor exports every record to a real OTLP receiver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, set_span_in_context

from funchost.telemetry.live_spans import LiveSpans
from funchost.telemetry.otlp_encoding import HostSpanExporter, SpanEncoder
from funchost.telemetry.span_records import SpanRecord, readable_spans, record_sink
from funchost.telemetry.tracing import HostTracing
from tests.observability.otlp import Collector
from tests.observability.test_finished_spans import _batch, _Counting
from tests.observability.test_finished_spans import _fields as _entity_fields
from tests.observability.test_live_spans import _fields

PARENTS = [None, {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "v=1,w=2"}]


class _Records(SpanExporter):
    """Takes records, as `HostSpanExporter` does, and keeps every batch it is given."""

    accepts_span_records = True

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _spans(tracer: Any) -> None:
    """Request spans (a root, one under a remote parent with trace state) and a batch's entity spans."""
    live = LiveSpans(tracer)
    for headers in PARENTS:
        parent = extract(headers) if headers else None
        span = live.start("POST /runtime/webhooks/durabletask/entities/{name}/{key}", parent, SpanKind.SERVER)
        assert span is not None
        span.set_attributes({"http.request.method": "POST", "url.path": "/e/k1", "url.scheme": "http"})
        token = otel_context.attach(set_span_in_context(span, parent))
        otel_context.detach(token)
        span.set_attribute("http.response.status_code", 202)
        span.end()
    operations, results = _batch()
    HostTracing(tracer).entity_spans("counter", "@counter@k1", operations, results, 1_000, 2_000)


def _provider(processor: Any) -> Any:
    provider = TracerProvider(id_generator=_Counting())
    provider.add_span_processor(processor)
    return provider


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("funchost.telemetry.live_spans.time_ns", lambda: 1_700_000_000_000_000_000)


def _both() -> tuple[list[Any], list[ReadableSpan]]:
    """(what the batch processor queued, what the `ReadableSpan` path made) for the same calls."""
    records, found = _Records(), InMemorySpanExporter()
    batching, simple = _provider(BatchSpanProcessor(records)), _provider(SimpleSpanProcessor(found))
    for provider in (batching, simple):
        _spans(provider.get_tracer("funchost"))
    batching.shutdown()
    return records.spans, list(found.get_finished_spans())


def test_records_are_the_spans_of_the_readable_span_path() -> None:
    queued, theirs = _both()
    # two request spans and three entity spans as records; the SDK makes the spans of headers it reads its own way
    assert sum(type(s) is SpanRecord for s in queued) == 5 and len(queued) == 8
    ours = readable_spans(queued)
    assert [_fields(s) for s in ours] == [_fields(s) for s in theirs]
    assert [_entity_fields(s) for s in ours] == [_entity_fields(s) for s in theirs]  # times, events, links too


def test_records_encode_to_the_sdk_encoders_bytes() -> None:
    queued, theirs = _both()
    expected = encode_spans(theirs).SerializePartialToString()
    encoder = SpanEncoder()
    assert encoder.encode_spans(queued) == expected
    assert encoder.encode_spans(queued) == expected  # again, with the cached name and attribute encodings
    assert encoder.encode_spans(queued[::-1]) == encode_spans(theirs[::-1]).SerializePartialToString()


def test_shutdown_exports_every_record() -> None:
    receiver = Collector()
    found = InMemorySpanExporter()
    try:
        exporter = HostSpanExporter(endpoint=receiver.endpoint + "/v1/traces")
        provider = _provider(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
        _spans(provider.get_tracer("funchost"))
        provider.shutdown()  # long before the schedule delay: what is queued goes out now
        simple = _provider(SimpleSpanProcessor(found))
        _spans(simple.get_tracer("funchost"))
        assert receiver.body("/v1/traces") == encode_spans(found.get_finished_spans()).SerializePartialToString()
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_a_shut_down_or_sdk_path_exporter_gets_readable_spans() -> None:
    queued, theirs = _both()
    receivers = Collector(), Collector()
    try:
        ours = HostSpanExporter(endpoint=receivers[0].endpoint + "/v1/traces")
        ours._fast = False  # as where the SDK's exporter internals differ: its own encoder, given ReadableSpans
        reference = HostSpanExporter(endpoint=receivers[1].endpoint + "/v1/traces")
        assert ours.export(queued).name == "SUCCESS" and reference.export(theirs).name == "SUCCESS"
        assert receivers[0].body("/v1/traces") == receivers[1].body("/v1/traces")
    finally:
        for receiver in receivers:
            receiver.server.shutdown()
            receiver.server.server_close()


def test_records_only_where_the_batch_processor_is_alone_and_its_exporter_takes_them() -> None:
    records = _Records()
    provider = _provider(BatchSpanProcessor(records))
    tracer = provider.get_tracer("funchost")
    checked: list[Any] = [None, None]
    assert record_sink(tracer, checked) is not None
    found = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(found))  # a second processor: ReadableSpans for both
    assert record_sink(tracer, checked) is None
    _spans(tracer)
    provider.shutdown()
    assert records.spans and not any(type(s) is SpanRecord for s in records.spans)
    assert len(found.get_finished_spans()) == len(records.spans)
    plain = _provider(BatchSpanProcessor(InMemorySpanExporter()))
    assert record_sink(plain.get_tracer("funchost"), [None, None]) is None
    plain.shutdown()
