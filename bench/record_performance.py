"""Record-performance end to end over HTTP (issue 3): throughput and latency, alone and beside agent tasks.

The project's own app runs on a funchost subprocess (sync activities in worker processes, as
`FUNCTIONS_WORKER_PROCESS_COUNT=2` would in Azure, so CPU-heavy searches do not hold the host's
GIL). A separate client process keeps 32 requests in flight to `POST /api/adaptive-ai/record-performance`
over 500 players and records each request's latency. The same load then runs while four long
spice-up tasks search; finally the host's RSS is read with many player sessions stored.

The ceiling (issue 14): the same client and bodies against the trivial aiohttp handler
(`bench.trivial_server`), the same number of requests right before the host's run and again right
after it (the mean of the two), so `alone_of_ceiling` (rate) and `alone_p99_over_ceiling_p99`
compare two things measured side by side; CPU microseconds per request of the host and of the
trivial server are reported beside them.
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

from .common import REPO_ROOT, Figure, Figures, bench_main, log, ms, percentile
from .trivial_server import serving

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


def _num(value: Figure) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _ratio(value: Figure, base: Figure, digits: int) -> float | None:
    return round(_num(value) / _num(base), digits) if _num(base) else None


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def alone_beside_ceiling(host: HostProcess, requests: int) -> Figures:
    """The host's run between two runs against the trivial handler, and the ratios between them."""
    assert host.proc is not None
    figures: Figures = {}
    with serving() as trivial:
        run_load(trivial.base, 500, 500)  # warm-up
        halves = []
        for index in range(2):
            before = _cpu(trivial.pid)
            halves.append(run_load(trivial.base, requests, 500))
            halves[-1]["cpu_s"] = _cpu(trivial.pid) - before
            if index == 0:
                log(f"record_performance: {requests} requests, {CONCURRENCY} in flight")
                before = _cpu(host.proc.pid)
                figures.update({f"alone_{k}": v for k, v in run_load(host.base, requests, 500).items()})
                figures["alone_host_cpu_us_per_request"] = round((_cpu(host.proc.pid) - before) / requests * 1e6, 1)
    for key in ("per_s", "p50_ms", "p99_ms"):
        figures[f"ceiling_{key}"] = round(sum(_num(h[key]) for h in halves) / 2, 2)
    figures["ceiling_server_cpu_us_per_request"] = round(sum(_num(h["cpu_s"]) for h in halves)
                                                         / (2 * requests) * 1e6, 1)
    figures["alone_of_ceiling"] = _ratio(figures["alone_per_s"], figures["ceiling_per_s"], 3)
    figures["alone_p99_over_ceiling_p99"] = _ratio(figures["alone_p99_ms"], figures["ceiling_p99_ms"], 2)
    figures["alone_cpu_over_ceiling_cpu"] = _ratio(figures["alone_host_cpu_us_per_request"],
                                                   figures["ceiling_server_cpu_us_per_request"], 2)
    return figures


def run(quick: bool = False) -> Figures:
    requests = 2000 if quick else 10000
    sessions = 10000 if quick else 100000
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        host = HostProcess(REPO_ROOT, Path(tmp) / "data", env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}).start()
        try:
            run_load(host.base, 500, 500, offset=10**7)  # warm-up
            figures.update(alone_beside_ceiling(host, requests))
            agents = AgentLoad(host, 4)
            time.sleep(1.0)
            log("record_performance: beside 4 agent tasks kept searching")
            try:
                for key, value in run_load(host.base, requests, 500, offset=requests).items():
                    figures[f"with_agents_{key}"] = value
            finally:
                agents.stop()
            figures["with_agents_p99_over_alone_p99"] = _ratio(figures["with_agents_p99_ms"],
                                                               figures["alone_p99_ms"], 2)
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
