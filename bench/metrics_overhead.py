"""Cost of telemetry (issue 5): many-entity signal throughput with metrics, and with tracing, versus off.

Settings, each in its own funchost subprocess, in alternating order per round (so drift on the
shared machine hits all of them):

- `off`: `FUNCHOST_TELEMETRY=0`, no metrics, no spans;
- `metrics`: the default, metrics at `/metrics`; no spans, since nothing would receive them;
- `traced`: metrics, and every request traced: spans exported by OTLP/HTTP to a local receiver
  (the default `parentbased_always_on` sampler);
- `traced_1pct`: the same with `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, 1 % of new traces.

Each run warms up, then runs the same many-entities plan as `bench.entity_signals`. Reported per
setting: the median applied rate and host CPU microseconds per signal, and each over `off`
(rate 1.0 means free, 0.9 means it costs 10 % of throughput; CPU per signal is less sensitive to
noise from other processes). The receiver runs in this process and only counts what it gets.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .common import Figures, bench_main, log, running_host
from .entity_signals import many_plan, measure, warm_up
from .load import SignalRun

FULL = {"rounds": 3, "signals": 20000, "keys": 1000}
QUICK = {"rounds": 1, "signals": 5000, "keys": 1000}
SETTINGS = ("off", "metrics", "traced", "traced_1pct")


class Receiver:
    """An OTLP/HTTP endpoint that answers 200 and counts export requests and bytes per path."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                owner.requests[self.path] = owner.requests.get(self.path, 0) + 1
                owner.bytes[self.path] = owner.bytes.get(self.path, 0) + size
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _env(setting: str, endpoint: str) -> dict[str, str]:
    if setting == "off":
        return {"FUNCHOST_TELEMETRY": "0"}
    env = {"FUNCHOST_TELEMETRY": "1"}
    if setting.startswith("traced"):
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_METRIC_EXPORT_INTERVAL": "60000"}
    if setting == "traced_1pct":
        env |= {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"}
    return env


def one_run(setting: str, signals: int, keys: int) -> tuple[SignalRun, int]:
    """The run, and the span export requests the receiver got during it (host shutdown flushes)."""
    with receiver() as otlp:
        with running_host(env=_env(setting, otlp.endpoint)) as host:
            warm_up(host)
            run = measure(host, many_plan(signals, keys))
        return run, otlp.requests.get("/v1/traces", 0)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def run(quick: bool = False) -> Figures:
    sizes = QUICK if quick else FULL
    runs: dict[str, list[SignalRun]] = {s: [] for s in SETTINGS}
    exports: dict[str, int] = {s: 0 for s in SETTINGS}
    for round_index in range(sizes["rounds"]):
        order = SETTINGS if round_index % 2 == 0 else tuple(reversed(SETTINGS))
        for setting in order:
            log(f"metrics_overhead: round {round_index + 1}, {setting}")
            result, span_exports = one_run(setting, sizes["signals"], sizes["keys"])
            runs[setting].append(result)
            exports[setting] += span_exports
    rate = {s: _median([r.acked / r.applied_s if r.applied_s else None for r in runs[s]]) for s in SETTINGS}
    cpu = {s: _median([r.host_cpu_s / r.acked * 1e6 if r.host_cpu_s else None for r in runs[s]]) for s in SETTINGS}
    figures: Figures = {}
    for setting in SETTINGS:
        figures[f"{setting}_applied_per_s"] = rate[setting]
        figures[f"{setting}_host_cpu_us_per_signal"] = cpu[setting]
        if setting != "off":
            on, off, cpu_on, cpu_off = rate[setting], rate["off"], cpu[setting], cpu["off"]
            figures[f"{setting}_over_off"] = round(on / off, 3) if on and off else None
            figures[f"{setting}_cpu_ratio_over_off"] = round(cpu_on / cpu_off, 3) if cpu_on and cpu_off else None
        if setting.startswith("traced"):
            figures[f"{setting}_span_export_requests"] = exports[setting]
    figures["telemetry_rounds"] = sizes["rounds"]
    figures["telemetry_signals_per_run"] = sizes["signals"]
    return figures


def main() -> None:
    bench_main("metrics_overhead", run, __doc__ or "")


if __name__ == "__main__":
    main()
