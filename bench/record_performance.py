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
import threading
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


class AgentLoad:
    """Keeps `slots` long spice-up tasks searching (a finished one is replaced) until stopped."""

    def __init__(self, host: HostProcess, slots: int) -> None:
        self.host = host
        self.slots: list[str] = [self._start(i) for i in range(slots)]
        self.started = slots
        self.busy_samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_busy, daemon=True)
        self._thread.start()

    def _start(self, seed: int) -> str:
        chords = " ".join(["Dm7 G7 Cmaj7 A7"] * 16)  # 64 chords: the heaviest search the API accepts
        reply = self.host.request("POST", "/api/agents/tasks/spice-up",
                                  {"progression": chords, "style": "jazz", "budgetMs": 60000, "seed": seed})
        return str(reply.json()["taskId"])

    def _keep_busy(self) -> None:
        while not self._stop.wait(0.25):
            running = 0
            for index, task_id in enumerate(self.slots):
                state = self.host.request("GET", f"/api/agents/tasks/{task_id}/status").json()["state"]
                if state in ("Pending", "Running"):
                    running += 1
                else:
                    self.started += 1
                    self.slots[index] = self._start(self.started)
            self.busy_samples.append(running)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for task_id in self.slots:
            self.host.request("POST", f"/api/agents/tasks/{task_id}/cancel")


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
            agents = AgentLoad(host, 4)
            time.sleep(1.0)
            log("record_performance: beside 4 agent tasks kept searching")
            try:
                for key, value in run_load(host.base, requests, 500, offset=requests).items():
                    figures[f"with_agents_{key}"] = value
            finally:
                agents.stop()
            samples = agents.busy_samples or [0]
            figures["agent_tasks_running_mean_during_load"] = round(sum(samples) / len(samples), 2)
            figures["agent_tasks_started"] = agents.started
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
