"""A bounded, fixed-rate load test (issue 6): record-performance at a constant arrival rate for 60 s.

Open loop: requests are sent on a fixed schedule whatever the answers do, and each latency is
measured from the request's *scheduled* time, so a stall shows up as latency rather than as a
quietly lower rate (no coordinated omission). Reports the error rate and latency percentiles.
The client runs in its own process; the host is the project's app on funchost, as `make run` starts it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.hostproc import HostProcess

from .common import REPO_ROOT, RESULTS_DIR, Figures, log, machine, ms, percentile, print_figures

RECORD = "/api/adaptive-ai/record-performance"
MAX_IN_FLIGHT = 512


async def _fixed_rate(base: str, rate: float, seconds: float) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    errors = 0
    dropped = 0
    total = int(rate * seconds)
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def one(i: int, scheduled: float) -> None:
            nonlocal errors
            body = {"playerId": f"load-{i % 1000}", "success": i % 4 != 0, "timeMs": 700 + (i * 53) % 3000,
                    "attempts": 1 + i % 2, "shapeId": f"shape-{i % 30}"}
            try:
                async with session.post(base + RECORD, json=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            finally:
                in_flight.release()
            latencies.append(time.perf_counter() - scheduled)

        tasks = []
        began = time.perf_counter()
        for i in range(total):
            scheduled = began + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight.locked():  # the host is MAX_IN_FLIGHT requests behind: count it, do not queue more
                dropped += 1
                continue
            await in_flight.acquire()
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        return latencies, errors, dropped, time.perf_counter() - began


def _client(base: str, rate: float, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(_fixed_rate(base, rate, seconds)))


def run_load(base: str, rate: float, seconds: float) -> Figures:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    process = context.Process(target=_client, args=(base, rate, seconds, out))
    process.start()
    latencies, errors, dropped, elapsed = out.get(timeout=seconds + 120)
    process.join(30)
    sent = len(latencies)
    return {
        "target_rate_per_s": rate, "duration_s": round(elapsed, 1), "sent": sent, "errors": errors,
        "not_sent_backlog_full": dropped, "error_rate": round((errors + dropped) / max(1, sent + dropped), 5),
        "achieved_rate_per_s": round(sent / elapsed, 1),
        "p50_ms": round(ms(percentile(latencies, 50)), 2), "p90_ms": round(ms(percentile(latencies, 90)), 2),
        "p99_ms": round(ms(percentile(latencies, 99)), 2),
        "max_ms": round(ms(max(latencies)), 2) if latencies else None,
    }


def run(quick: bool = False, rate: float = 1000.0, seconds: float | None = None) -> Figures:
    duration = seconds if seconds is not None else (10.0 if quick else 60.0)
    with tempfile.TemporaryDirectory(prefix="funchost-load-") as tmp:
        host = HostProcess(REPO_ROOT, Path(tmp) / "data", args=["--activity-processes", "2"]).start()
        try:
            run_load(host.base, rate / 4, 2.0)  # warm-up
            log(f"load_test: {rate:g} requests/s for {duration:g} s")
            return run_load(host.base, rate, duration)
        finally:
            host.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_test", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second (default 1000)")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    figures = run(args.quick, args.rate, args.seconds)
    print_figures("load_test", figures)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "load_test.json").write_text(json.dumps({"machine": machine(), "figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
