"""Record-performance end to end over HTTP (issue 3): throughput and latency, alone and beside agent tasks.

The project's own app runs on a funchost subprocess (sync activities in worker processes, as
`FUNCTIONS_WORKER_PROCESS_COUNT=2` would in Azure, so CPU-heavy searches do not hold the host's
GIL). A separate client process keeps 32 requests in flight to `POST /api/adaptive-ai/record-performance`
over 500 players and records each request's latency. The same load then runs while four long
spice-up tasks search; finally the host's RSS is read with many player sessions stored.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from tests.hostproc import HostProcess

from .common import REPO_ROOT, Figures, bench_main, log, ms, percentile

RECORD = "/api/adaptive-ai/record-performance"
CONCURRENCY = 32


def _body(i: int, players: int) -> dict[str, object]:
    return {"playerId": f"bench-{i % players}", "success": i % 3 != 0, "timeMs": 800 + (i * 37) % 2400,
            "attempts": 1 + i % 3, "shapeId": f"shape-{i % 24}"}


async def _load(base: str, count: int, players: int, offset: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(offset, offset + count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        async def worker() -> None:
            nonlocal errors
            for i in queue:
                began = time.perf_counter()
                async with session.post(base + RECORD, json=_body(i, players)) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return latencies, errors, time.perf_counter() - began


def _load_process(base: str, count: int, players: int, offset: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(_load(base, count, players, offset)))


def run_load(base: str, count: int, players: int, offset: int = 0) -> Figures:
    """Drive the load from a separate process (the client must not share the measuring interpreter)."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    process = context.Process(target=_load_process, args=(base, count, players, offset, out))
    process.start()
    latencies, errors, elapsed = out.get(timeout=600)
    process.join(30)
    return {"requests": count, "errors": errors, "per_s": round(count / elapsed, 1),
            "p50_ms": round(ms(percentile(latencies, 50)), 2), "p99_ms": round(ms(percentile(latencies, 99)), 2)}


def _start_agent_tasks(host: HostProcess, count: int) -> list[str]:
    chords = " ".join(["Dm7 G7 Cmaj7 A7"] * 16)  # 64 chords: the heaviest search the API accepts
    ids = []
    for _ in range(count):
        reply = host.request("POST", "/api/agents/tasks/spice-up",
                             {"progression": chords, "style": "jazz", "budgetMs": 60000})
        ids.append(str(reply.json()["taskId"]))
    return ids


def run(quick: bool = False) -> Figures:
    requests = 2000 if quick else 10000
    sessions = 10000 if quick else 100000
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        host = HostProcess(REPO_ROOT, Path(tmp) / "data", env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}).start()
        try:
            run_load(host.base, 500, 500, offset=10**7)  # warm-up
            log(f"record_performance: {requests} requests, {CONCURRENCY} in flight")
            for key, value in run_load(host.base, requests, 500).items():
                figures[f"alone_{key}"] = value
            tasks = _start_agent_tasks(host, 4)
            time.sleep(1.0)
            busy = [host.request("GET", f"/api/agents/tasks/{t}/status").json()["state"] for t in tasks]
            log(f"record_performance: beside 4 agent tasks ({busy})")
            for key, value in run_load(host.base, requests, 500, offset=requests).items():
                figures[f"with_agents_{key}"] = value
            figures["agent_tasks_running_during_load"] = sum(
                host.request("GET", f"/api/agents/tasks/{t}/status").json()["state"] == "Running" for t in tasks)
            for task_id in tasks:
                host.request("POST", f"/api/agents/tasks/{task_id}/cancel")
            log(f"record_performance: storing {sessions} player sessions")
            stored = run_load(host.base, sessions, sessions, offset=2 * requests)
            figures["sessions_stored"] = sessions
            figures["sessions_load_per_s"] = stored["per_s"]
            assert host.proc is not None
            figures["rss_mb_with_sessions"] = round(psutil.Process(host.proc.pid).memory_info().rss / 2**20, 1)
        finally:
            host.stop()
    return figures


def main() -> None:
    bench_main("record_performance", run, __doc__ or "")


if __name__ == "__main__":
    main()
