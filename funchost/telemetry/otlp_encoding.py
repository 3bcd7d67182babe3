"""OTLP span export with the request encoded straight to protobuf bytes.

The OTLP exporter of opentelemetry-exporter-otlp-proto-common builds a protobuf message object per
span, per attribute and per attribute value, then serialises the tree: about 20 us per span in
CPython 3.11, more than making the span, and paid in the batch processor's thread under the same
GIL as the host's loop. The spans the host makes are simple (a name, ids, times, a handful of
string and integer attributes, a status), so `encode_spans` writes their wire format directly from
the `ReadableSpan`'s fields, reusing the bytes of names and attributes it has seen (routes, methods,
entity types, operation names): about 4.5 us a span.

It writes exactly the bytes the SDK's encoder serialises (`tests/observability/test_otlp_encoding.py`
compares them), and hands any span it does not write itself (events, links, list or mapping
attribute values, a span object without the SDK's fields) to the SDK's own per-span encoder, so the
request is the same for every span.
A `span_records.SpanRecord` (a host span queued without its `ReadableSpan`) is written from its
fields to the bytes of the `ReadableSpan` it stands for.
`HostSpanExporter` is the SDK's `OTLPSpanExporter` with this encoder; where the exporter's internals
differ from what it expects (another SDK version) it exports through the SDK's own path.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._internal import _encode_instrumentation_scope, _encode_resource
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import _encode_span
from opentelemetry.exporter.otlp.proto.http import trace_exporter as _sdk_exporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from .span_records import SpanRecord, readable_spans

log = logging.getLogger("funchost.telemetry")

# OTLP Span.SpanKind is the API's SpanKind shifted by one (0 is SPAN_KIND_UNSPECIFIED)
_KIND = {kind: bytes([0x30, kind.value + 1]) for kind in SpanKind}
# Span.flags: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE (0x100), with SPAN_FLAGS_CONTEXT_IS_REMOTE (0x200) for a remote parent
_FLAGS_LOCAL = b"\x85\x01" + struct.pack("<I", 0x100)
_FLAGS_REMOTE = b"\x85\x01" + struct.pack("<I", 0x300)
_UNSET = StatusCode.UNSET
_UNSET_STATUS = b"\x7a\x00"  # an empty Status message: the SDK always sets one
_KEYS_KEPT = 1024  # attribute keys whose encodings are kept
_VALUES_PER_KEY = 64  # string values kept per key before the key counts as varying
_NEW: Any = object()


class _NotSimple(Exception):
    """A span this encoder leaves to the SDK's encoder."""


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SHORT[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SHORT = [bytes((n,)) for n in range(0x80)]  # the one-byte varints


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the length, the payload."""
    size = len(payload)
    return tag + (_SHORT[size] if size < 0x80 else _varint(size)) + payload


class _Attributes:
    """The `repeated KeyValue` bytes of attribute mappings, with the encodings of common pairs kept.

    String and integer values are kept per key until a key has had `_VALUES_PER_KEY` of them (an id or
    a path, different on every span): from then on that key's values are encoded each time. (Bools,
    equal to 1 and 0 as dict keys, and floats are encoded each time.)"""

    def __init__(self, tag: bytes) -> None:
        self._tag = tag
        self._kept: dict[str, dict[str | int, bytes] | None] = {}  # key -> value -> encoded pair (None: varying)
        self._keys: dict[str, bytes] = {}

    def encode(self, attributes: Any) -> bytes:
        if not attributes:
            return b""
        kept = self._kept
        parts = []
        for key, value in attributes.items():
            kind = type(value)
            if kind is not str and kind is not int:
                parts.append(self._pair(key, _scalar(value)))
                continue
            known = kept.get(key, _NEW)
            if known is None:
                encoded = self._pair(key, _any_value(value))
            elif known is _NEW:
                encoded = self._pair(key, _any_value(value))
                if len(kept) < _KEYS_KEPT:
                    kept[key] = {value: encoded}
            else:
                encoded = known.get(value)
                if encoded is None:
                    encoded = known[value] = self._pair(key, _any_value(value))
                    if len(known) > _VALUES_PER_KEY:
                        kept[key] = None
            parts.append(encoded)
        return b"".join(parts)

    def _pair(self, key: str, any_value: bytes) -> bytes:
        name = self._keys.get(key)
        if name is None:
            name = _field(b"\x0a", key.encode())
            if len(self._keys) < _KEYS_KEPT:
                self._keys[key] = name
        return _field(self._tag, name + _field(b"\x12", any_value))


def _any_value(value: str | int) -> bytes:
    """The AnyValue payload of a str or an int."""
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)


def _scalar(value: Any) -> bytes:
    """The AnyValue payload of a bool, int or float (a oneof: zero values are written too)."""
    if value is True or value is False:
        return b"\x10\x01" if value else b"\x10\x00"
    if type(value) is int:
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if type(value) is float:
        return b"\x21" + struct.pack("<d", value)
    raise _NotSimple


class SpanEncoder:
    """Encodes `ExportTraceServiceRequest`s; one per exporter, used by its batch processor's thread."""

    def __init__(self) -> None:
        self._attributes = _Attributes(b"\x4a")  # Span.attributes is field 9
        self._names: dict[str, bytes] = {}  # span name -> its encoded field
        self._resources: dict[int, tuple[Any, bytes]] = {}
        self._scopes: dict[int, tuple[Any, bytes]] = {}

    def encode_spans(self, spans: Sequence[Any]) -> bytes:
        """The serialised request for `spans`, grouped by resource then scope as the SDK groups them
        (by equality; a resource's hash serialises its attributes, so spans find theirs by identity first)."""
        groups: list[tuple[Any, dict[Any, list[bytes]]]] = []
        group_of: dict[int, dict[Any, list[bytes]]] = {}
        for span in spans:
            resource = span.resource
            scopes = group_of.get(id(resource))
            if scopes is None:
                scopes = next((found for known, found in groups if known == resource), None)
                if scopes is None:
                    scopes = {}
                    groups.append((resource, scopes))
                group_of[id(resource)] = scopes
            scopes.setdefault(span.instrumentation_scope or None, []).append(self._span(span))
        out = []
        for resource, scopes in groups:
            body = [self._resource(resource)]
            for scope, encoded in scopes.items():
                schema = scope.schema_url if scope is not None else None
                scope_body = self._scope(scope) + b"".join(encoded)
                if schema:
                    scope_body += _field(b"\x1a", schema.encode())
                body.append(_field(b"\x12", scope_body))
            if resource.schema_url:
                body.append(_field(b"\x1a", resource.schema_url.encode()))
            out.append(_field(b"\x0a", b"".join(body)))
        return b"".join(out)

    def _resource(self, resource: Any) -> bytes:
        """ResourceSpans.resource (field 1), encoded by the SDK once per resource object."""
        known = self._resources.get(id(resource))
        if known is None or known[0] is not resource:
            known = self._resources[id(resource)] = (
                resource, _field(b"\x0a", _encode_resource(resource).SerializeToString()))
        return known[1]

    def _scope(self, scope: Any) -> bytes:
        """ScopeSpans.scope (field 1), encoded by the SDK once per scope object."""
        known = self._scopes.get(id(scope))
        if known is None or known[0] is not scope:
            known = self._scopes[id(scope)] = (
                scope, _field(b"\x0a", _encode_instrumentation_scope(scope).SerializeToString()))
        return known[1]

    def _span(self, span: Any) -> bytes:
        """ScopeSpans.spans (field 2) of one span."""
        if type(span) is SpanRecord:
            parent = span.parent_span_id
            payload = self._span_fields(span.trace_id, span.span_id, span.trace_state, parent,
                                        parent is not None and span.parent_remote, span.name, span.kind,
                                        span.start_time, span.end_time, span.attributes, 0, span.status)
            return _field(b"\x12", payload)
        try:
            payload = self._simple_span(span)
        except (_NotSimple, AttributeError, TypeError, ValueError, UnicodeError):
            payload = _encode_span(span).SerializeToString()
        return _field(b"\x12", payload)

    def _simple_span(self, span: Any) -> bytes:
        """The fields of a `ReadableSpan` without events or links."""
        if span._events or span._links:
            raise _NotSimple
        context, parent = span._context, span._parent
        return self._span_fields(context.trace_id, context.span_id, context.trace_state,
                                 parent.span_id if parent else None, bool(parent and parent.is_remote), span._name,
                                 span._kind, span._start_time, span._end_time, span._attributes,
                                 span.dropped_attributes, span._status)

    def _span_fields(self, trace_id: int, span_id: int, trace_state: Any, parent_span_id: int | None,
                     parent_remote: bool, name: str, kind: SpanKind, start: int | None, end: int | None,
                     attributes: Any, dropped: int, status: Any) -> bytes:
        """Span fields in field-number order, as protobuf serialises them; proto3 zero values are left out."""
        parts = [b"\x0a\x10", trace_id.to_bytes(16, "big"), b"\x12\x08", span_id.to_bytes(8, "big")]
        if trace_state:
            parts.append(_field(b"\x1a", ",".join(f"{k}={v}" for k, v in trace_state.items()).encode()))
        if parent_span_id is not None:
            parts += (b"\x22\x08", parent_span_id.to_bytes(8, "big"))
        encoded_name = self._names.get(name)
        if encoded_name is None:
            encoded_name = _field(b"\x2a", name.encode()) if name else b""
            if len(self._names) < _KEYS_KEPT:
                self._names[name] = encoded_name
        parts += (encoded_name, _KIND[kind])
        if start:
            parts += (b"\x39", start.to_bytes(8, "little"))
        if end:
            parts += (b"\x41", end.to_bytes(8, "little"))
        parts.append(self._attributes.encode(attributes))
        if dropped:
            parts += (b"\x50", _varint(dropped))
        if status is not None:
            parts.append(_UNSET_STATUS if status.status_code is _UNSET and not status.description else _status(status))
        parts.append(_FLAGS_REMOTE if parent_remote else _FLAGS_LOCAL)
        return b"".join(parts)


def _status(status: Any) -> bytes:
    """Span.status (field 15): message (2), code (3)."""
    body = b""
    if status.description:
        body = _field(b"\x12", status.description.encode())
    if status.status_code.value:
        body += bytes((0x18, status.status_code.value))
    return _field(b"\x7a", body)


class HostSpanExporter(OTLPSpanExporter):
    """`OTLPSpanExporter` encoding with `SpanEncoder`; everything else (HTTP, retries, limits) is the SDK's.
    It also takes `span_records.SpanRecord`s in the batch, encoded as the spans they stand for."""

    accepts_span_records = True

    def __init__(self, **options: Any) -> None:
        """`options` are the SDK exporter's (endpoint, headers, timeout...); by default, from the environment."""
        super().__init__(**options)
        self._encoder = SpanEncoder()
        self._fast = (all(hasattr(self, name) for name in ("_client", "_metrics", "_max_request_size"))
                      and hasattr(_sdk_exporter, "_is_request_too_large"))

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        """As the SDK's `export` (same metrics, size limit and failures), with the request from `SpanEncoder`."""
        if not self._fast or self._shutdown:
            return super().export(readable_spans(spans))
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = self._encoder.encode_spans(spans)
            except Exception as error:  # as the SDK: a batch that cannot be encoded is dropped, not raised
                log.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if _sdk_exporter._is_request_too_large(data, self._max_request_size):
                log.warning("Dropping span batch: serialized size %d bytes exceeds max_request_size %d bytes.",
                            len(data), self._max_request_size)
                result.error = ValueError(f"span request of {len(data)} bytes over {self._max_request_size}")
                return SpanExportResult.FAILURE
            outcome = self._client.export(data)
            if not outcome.success:
                result.error = outcome.error
                if outcome.status_code is not None:
                    result.error_attrs = {"http.response.status_code": outcome.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
