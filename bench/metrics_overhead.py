"""Cost of telemetry (issue 5): many-entity signal throughput with metrics, and with tracing, versus off.

Settings, each its own funchost subprocess, all four running side by side:

- `off`: `FUNCHOST_TELEMETRY=0`, no metrics, no spans;
- `metrics`: the default, metrics at `/metrics`; no spans, since nothing would receive them;
- `traced`: metrics, and every request traced: spans exported by OTLP/HTTP to a local receiver
  (the default `parentbased_always_on` sampler);
- `traced_1pct`: the same with `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, 1 % of new traces.

The load comes in chunks (the many-entities plan of `bench.entity_signals`, fresh keys each time),
one chunk to each host in turn, in alternating order, so that the slow drifts of a shared machine
(which move CPU per signal by about as much as what is measured) hit every setting alike.
Reported per setting: applied rate and host CPU microseconds per signal over all its chunks, and
the ratios to `off`: each chunk against the `off` chunk next to it in time, median over the chunks
(rate 1.0 means free, 0.9 means telemetry costs 10 % of throughput), and `traced_over_metrics`
(issue 14): every request traced against metrics only, the same way. The receivers run in this
process.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator

from tests.observability.otlp import Collector

from .common import Figures, bench_main, log, running_host
from .entity_signals import many_plan, measure, warm_up
from .load import SignalRun

FULL = {"chunks": 8, "signals": 8000, "keys": 1000}
QUICK = {"chunks": 2, "signals": 2500, "keys": 1000}
SETTINGS = ("off", "metrics", "traced", "traced_1pct")


@contextlib.contextmanager
def receiver() -> Iterator[Collector]:
    """A local OTLP/HTTP receiver (the one the observability tests use), shut down afterwards."""
    found = Collector()
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


def rate_of(run: SignalRun) -> float | None:
    return run.acked / run.applied_s if run.applied_s else None


def cpu_of(run: SignalRun) -> float | None:
    return run.host_cpu_s / run.acked if run.host_cpu_s and run.acked else None


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def run(quick: bool = False) -> Figures:
    sizes = QUICK if quick else FULL
    runs: dict[str, list[SignalRun]] = {s: [] for s in SETTINGS}
    with contextlib.ExitStack() as stack:
        receivers = {s: stack.enter_context(receiver()) for s in SETTINGS if s.startswith("traced")}
        hosts = {}
        for setting in SETTINGS:
            endpoint = receivers[setting].endpoint if setting in receivers else ""
            hosts[setting] = stack.enter_context(running_host(env=_env(setting, endpoint)))
            warm_up(hosts[setting])
        for chunk in range(sizes["chunks"]):
            log(f"metrics_overhead: chunk {chunk + 1} of {sizes['chunks']} to each setting")
            for setting in SETTINGS if chunk % 2 == 0 else tuple(reversed(SETTINGS)):
                runs[setting].append(measure(hosts[setting], many_plan(sizes["signals"], sizes["keys"])))
        exports = {s: sum(1 for path, _ in r.posts if path == "/v1/traces") for s, r in receivers.items()}
    figures: Figures = {}
    for setting in SETTINGS:
        done = runs[setting]
        acked = sum(r.acked for r in done)
        applied = sum(r.applied_s or 0.0 for r in done)
        host_cpu = sum(r.host_cpu_s or 0.0 for r in done)
        figures[f"{setting}_applied_per_s"] = round(acked / applied, 1) if applied else None
        figures[f"{setting}_host_cpu_us_per_signal"] = round(host_cpu / acked * 1e6, 1) if acked else None
    for setting in SETTINGS[1:]:
        # each chunk against the `off` chunk next to it in time, then the median over chunks
        rates = [_ratio(rate_of(on), rate_of(off)) for on, off in zip(runs[setting], runs["off"], strict=True)]
        cpus = [_ratio(cpu_of(on), cpu_of(off)) for on, off in zip(runs[setting], runs["off"], strict=True)]
        figures[f"{setting}_over_off"] = _median(rates)
        figures[f"{setting}_cpu_ratio_over_off"] = _median(cpus)
    # issue 14's figure: tracing every request against metrics only, chunk by adjacent chunk
    figures["traced_over_metrics"] = _median([_ratio(rate_of(t), rate_of(m))
                                              for t, m in zip(runs["traced"], runs["metrics"], strict=True)])
    figures["traced_cpu_ratio_over_metrics"] = _median([_ratio(cpu_of(t), cpu_of(m))
                                                        for t, m in zip(runs["traced"], runs["metrics"], strict=True)])
    for setting, count in exports.items():
        figures[f"{setting}_span_export_requests"] = count
    figures["telemetry_chunks"] = sizes["chunks"]
    figures["telemetry_signals_per_chunk"] = sizes["signals"]
    return figures


def main() -> None:
    bench_main("metrics_overhead", run, __doc__ or "")


if __name__ == "__main__":
    main()
