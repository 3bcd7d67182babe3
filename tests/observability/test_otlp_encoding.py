"""The host's OTLP span encoder writes exactly the SDK encoder's bytes, for the host's spans and any other.

Spans come from a real TracerProvider (the SDK's own span objects); the reference is
opentelemetry-exporter-otlp-proto-common's `encode_spans`. The exporter test sends one batch through
`HostSpanExporter` and one through the SDK's `OTLPSpanExporter` to local OTLP/HTTP receivers.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)
from opentelemetry.trace.span import TraceState

from funchost.telemetry.otlp_encoding import HostSpanExporter, SpanEncoder
from tests.observability.otlp import Collector


def _provider(resource: Resource | None = None) -> tuple[Any, InMemorySpanExporter]:
    found = InMemorySpanExporter()
    provider = TracerProvider(resource=resource or Resource.create({"service.name": "enc", "pid": 42}))
    provider.add_span_processor(SimpleSpanProcessor(found))
    return provider, found


def _host_like_spans() -> list[ReadableSpan]:
    """What the host makes: server spans with request attributes, entity and orchestration spans."""
    provider, found = _provider()
    tracer = provider.get_tracer("funchost")
    remote = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=True,
                         trace_flags=TraceFlags(0x03))
    for status in (202, 200, 404, 500):
        span = tracer.start_span("POST /runtime/webhooks/durabletask/entities/{name}/{key}", kind=SpanKind.SERVER,
                                 context=set_span_in_context(NonRecordingSpan(remote)) if status == 200 else None)
        span.set_attributes({"http.request.method": "POST", "url.path": f"/runtime/x/{status}", "url.scheme": "http"})
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
        span.end()
    for batch in (1, 3):
        span = tracer.start_span("entity counter add", start_time=1_700_000_000_000_000_000, attributes={
            "durable.entity_id": "@counter@k1", "durable.entity": "counter", "durable.operation": "add",
            "durable.batch_size": batch}, context=set_span_in_context(NonRecordingSpan(remote)))
        span.set_status(Status(StatusCode.ERROR, "boom: ünïcode") if batch == 3 else Status(StatusCode.OK))
        span.end(end_time=1_700_000_000_000_250_000)
    with (tracer.start_as_current_span("orchestration agent_create", attributes={"durable.instance_id": "abc"}),
          tracer.start_as_current_span("activity agent_prepare")):
        pass
    return list(found.get_finished_spans())


def _other_spans() -> list[ReadableSpan]:
    """Spans with what the host's spans never have: events, links, lists, floats, bools, trace state,
    negative and large integers, empty names, other resources and scopes."""
    provider, found = _provider()
    other, found_other = _provider(Resource.create({"service.name": "other"}, schema_url="https://schema/1"))
    app = provider.get_tracer("guitar_alchemist", "1.2", schema_url="https://schema/app")
    state = TraceState([("vendor", "v1"), ("x", "y")])
    parent = SpanContext(7, 9, is_remote=False, trace_flags=TraceFlags(1), trace_state=state)
    with app.start_as_current_span("", context=set_span_in_context(NonRecordingSpan(parent)), attributes={
            "ratio": 0.25, "ok": True, "no": False, "neg": -5, "big": 2**62, "zero": 0, "empty": ""}) as span:
        span.add_event("step", {"n": 1})
    span = app.start_span("linked", links=[Link(parent, {"why": "batch"})], attributes={"tags": ["a", "b"]})
    span.set_attribute("ints", [1, 2])
    span.end()
    span = provider.get_tracer("funchost").start_span("failed")
    span.record_exception(ValueError("bad"))
    span.end()
    with other.get_tracer("funchost").start_as_current_span("elsewhere", kind=SpanKind.CONSUMER):
        pass
    return [*found.get_finished_spans(), *found_other.get_finished_spans()]


@pytest.mark.parametrize("make", [_host_like_spans, _other_spans], ids=["host", "other"])
def test_bytes_equal_the_sdk_encoders(make: Any) -> None:
    spans = make()
    encoder = SpanEncoder()
    assert encoder.encode_spans(spans) == encode_spans(spans).SerializePartialToString()
    # the cached attribute encodings give the same bytes the second time, and in another order
    assert encoder.encode_spans(spans[::-1]) == encode_spans(spans[::-1]).SerializePartialToString()
    assert encoder.encode_spans(spans[:1]) == encode_spans(spans[:1]).SerializePartialToString()


def test_values_that_vary_on_every_span_encode_alike() -> None:
    provider, found = _provider()
    tracer = provider.get_tracer("funchost")
    for i in range(200):  # more distinct values than a key keeps: the key turns to encoding each time
        tracer.start_span(f"entity counter op{i % 3}", attributes={
            "durable.entity_id": f"@counter@k{i}", "durable.entity": "counter", "n": i - 100}).end()
    spans = list(found.get_finished_spans())
    encoder = SpanEncoder()
    for start in range(0, 200, 50):
        assert encoder.encode_spans(spans[start:start + 50]) == encode_spans(
            spans[start:start + 50]).SerializePartialToString()


def test_spans_of_equal_resources_are_grouped_as_the_sdk_groups_them() -> None:
    first, _ = _provider(Resource.create({"service.name": "same"}))
    second, _ = _provider(Resource.create({"service.name": "same"}))
    spans = []
    for provider in (first, second, first):
        span = provider.get_tracer("funchost").start_span("x")
        span.end()
        spans.append(span)
    encoded = SpanEncoder().encode_spans(spans)
    assert encoded == encode_spans(spans).SerializePartialToString()


def test_exporter_sends_what_the_sdk_exporter_sends() -> None:
    spans = _host_like_spans() + _other_spans()
    receivers = Collector(), Collector()
    try:
        ours = HostSpanExporter(endpoint=receivers[0].endpoint + "/v1/traces")
        sdk = OTLPSpanExporter(endpoint=receivers[1].endpoint + "/v1/traces")
        assert ours._fast, "the exporter took the SDK's path: its internals differ from what it expects"
        assert ours.export(spans).name == "SUCCESS" and sdk.export(spans).name == "SUCCESS"
        assert receivers[0].body("/v1/traces") == receivers[1].body("/v1/traces")
        assert b"entity counter add" in receivers[0].body("/v1/traces")
    finally:
        for receiver in receivers:
            receiver.server.shutdown()
            receiver.server.server_close()
