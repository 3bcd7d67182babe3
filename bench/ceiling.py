"""The machine's ceiling (issue 14): the trivial aiohttp handler under the benchmarks' own load clients.

A trivial JSON handler (`bench.trivial_server`, one process, one event loop) is driven by the two
load clients the host figures come from, in the same run: the record-performance client (one
spawned aiohttp process, 32 requests in flight, the same JSON bodies) and the signal sender of
`bench.load` (48 connections, body `1`). Reported: requests/s, p50/p99 latency and the server's
CPU microseconds per request. `bench.run_all` prints every throughput figure also as a fraction
of these, so its table means the same on a slow or a fast machine; record_performance and
entity_signals also measure the ceiling right beside their own runs for their ratios.
"""

from __future__ import annotations

import uuid

from .common import Figures, bench_main, log
from .load import SignalPlan, cpu_seconds, send_signals
from .record_performance import run_load
from .trivial_server import TrivialServer, serving

FULL = {"requests": 10000, "signals": 20000}
QUICK = {"requests": 2000, "signals": 5000}


def record_ceiling(server: TrivialServer, requests: int) -> Figures:
    """The record-performance load client against the trivial handler: rate, latency, CPU per request."""
    before = cpu_seconds(server.pid)
    figures = run_load(server.base, requests, 500)
    used = (cpu_seconds(server.pid) or 0.0) - (before or 0.0)
    figures["server_cpu_us_per_request"] = round(used / requests * 1e6, 1)
    return figures


def signal_ceiling(server: TrivialServer, signals: int, keys: int = 1000, concurrency: int = 48) -> Figures:
    """The signal sender of `bench.load` against the trivial handler: acknowledged rate and CPU per request."""
    plan = SignalPlan(prefix=f"ceil-{uuid.uuid4().hex[:6]}-", keys=keys, signals=signals, processes=1,
                      concurrency=concurrency)
    before = cpu_seconds(server.pid)
    report = send_signals(server.base, plan)
    used = (cpu_seconds(server.pid) or 0.0) - (before or 0.0)
    elapsed = report.last_ack - report.first_send
    return {"acked_per_s": round(report.acked / elapsed, 1) if elapsed > 0 else None, "errors": report.errors,
            "server_cpu_us_per_request": round(used / max(report.acked, 1) * 1e6, 1)}


def run(quick: bool = False) -> Figures:
    sizes = QUICK if quick else FULL
    figures: Figures = {}
    with serving() as server:
        run_load(server.base, 500, 500)  # warm-up
        log(f"ceiling: trivial aiohttp handler, record-performance client, {sizes['requests']} requests")
        figures.update({f"ceiling_record_{k}": v for k, v in record_ceiling(server, sizes["requests"]).items()})
        log(f"ceiling: trivial aiohttp handler, signal client, {sizes['signals']} requests")
        figures.update({f"ceiling_signals_{k}": v for k, v in signal_ceiling(server, sizes["signals"]).items()})
    return figures


def main() -> None:
    bench_main("ceiling", run, __doc__ or "")


if __name__ == "__main__":
    main()
