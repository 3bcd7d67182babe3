"""The host's telemetry, one concept per module; dependencies point one way (nothing here imports the
dispatcher, which it reads only as `gauges.GaugeSource`):

- `providers`: `Observability`, the MeterProvider/TracerProvider, `/metrics`, and the wiring below;
- `host`: `HostTelemetry`, what the dispatcher and handlers report to (metrics + tracing, each real or no-op);
- `metrics`: `HostMetrics` / `NoMetrics`, the counters and histograms, and the outcome vocabulary;
- `gauges`: the `GaugeSource` Protocol and the observable gauges read through it;
- `tracing`: `HostTracing` / `NoTracing`, spans and the W3C `traceparent` carried with the work;
- `http`: the HTTP server middleware (`HttpMetrics`, `HttpTracing`);
- `store`: `StoreSize`, the store's size on disk (`funchost_store_size_bytes`);
- `bound_metrics`, `head_sampling`: the hot-path histogram buffers and head sampling;
- `live_spans`, `finished_spans`, `span_records`, `otlp_encoding`: the request span, entity operation
  spans, their queueing for OTLP export and OTLP encoding made cheaper than the SDK's path, with its
  exact result.
"""

from .gauges import GaugeSource
from .host import HostTelemetry
from .http import DROPPED_TRACE
from .metrics import HostMetrics, NoMetrics
from .providers import Observability
from .tracing import HostTracing, NoTracing, format_traceparent

__all__ = ["DROPPED_TRACE", "GaugeSource", "HostMetrics", "HostTelemetry", "HostTracing", "NoMetrics", "NoTracing",
           "Observability", "format_traceparent"]
