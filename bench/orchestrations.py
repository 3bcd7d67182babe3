"""Five-activity orchestrations completed per second on funchost, started through the public HTTP API.

Setup: one funchost subprocess (bench/app, fresh store). After 20 warm-up orchestrations, M
instances of `five_activities` (5 sequential `add_one` calls) are started with
`POST /orchestrators/five_activities/{id}` from `CONCURRENCY` concurrent aiohttp requests in this
process. Completion is detected by polling the last-started instance alone (`GET /instances/{id}`,
an in-memory lookup), then `GET /instances?runtimeStatus=Pending,Running&top=1&instanceIdPrefix=...`
until none is left (that query scans, so it is kept out of the busy phase). The completion instant
is then read exactly from the host's history: the latest `ExecutionCompleted` timestamp of the run.
Throughput = M / (that instant - first start request). The polled figure is reported beside it.
Target (issue 2): >= 500 orchestrations/s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import aiohttp

from tests.hostproc import HostProcess

from .common import DURABLE, Figures, bench_main, log, parse_iso, percentile, rate, running_host
from .load import cpu_seconds

FULL_M = 1000
QUICK_M = 200
WARM_M = 20
CONCURRENCY = 32
TIMEOUT_S = 180.0


@dataclass(frozen=True)
class OrchestrationRun:
    started: int
    completed: int
    first_start: float
    polled_done: float | None
    last_completed: float | None
    latencies: list[float]
    host_cpu_s: float | None


async def start_all(session: aiohttp.ClientSession, prefix: str, count: int) -> tuple[int, float]:
    """Start `count` instances named `prefix<n>`; returns (acknowledged, wall time of the first request)."""
    next_index = 0
    acked = 0
    first = 0.0

    async def lane() -> None:
        nonlocal next_index, acked, first
        while next_index < count:
            index = next_index
            next_index += 1
            first = first or time.time()
            async with session.post(f"{DURABLE}/orchestrators/five_activities/{prefix}{index}") as resp:
                await resp.read()
                acked += resp.status == 202

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return acked, first


async def wait_finished(session: aiohttp.ClientSession, instance_id: str, timeout_s: float) -> None:
    """Poll one instance's status (a cheap in-memory lookup for the host) until it is no longer active."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with session.get(f"{DURABLE}/instances/{instance_id}?showInput=false") as resp:
            await resp.read()
            if resp.status != 202:
                return
        await asyncio.sleep(0.02)


async def wait_none_active(session: aiohttp.ClientSession, prefix: str, count: int, timeout_s: float) -> float | None:
    """Wall time when no instance of the run is Pending or Running any more; None on timeout.

    First waits for the last-started instance alone, then confirms with the (costlier) prefix query,
    so the polling takes little from the host while the run is in full swing.
    """
    deadline = time.monotonic() + timeout_s
    await wait_finished(session, f"{prefix}{count - 1}", timeout_s)
    url = f"{DURABLE}/instances?runtimeStatus=Pending,Running&top=1&instanceIdPrefix={prefix}"
    while time.monotonic() < deadline:
        async with session.get(url) as resp:
            if not await resp.json():
                return time.time()
        await asyncio.sleep(0.05)
    return None


async def completion_times(session: aiohttp.ClientSession, prefix: str, count: int) -> dict[str, tuple[float, float]]:
    """(ExecutionStarted, ExecutionCompleted) wall times of every completed instance, from its history."""
    result: dict[str, tuple[float, float]] = {}
    semaphore = asyncio.Semaphore(16)

    async def one(instance_id: str) -> None:
        async with semaphore, session.get(f"{DURABLE}/instances/{instance_id}?showHistory=true") as resp:
            body = await resp.json()
        events = body.get("historyEvents") or []
        times = {e["EventType"]: parse_iso(e["Timestamp"]) for e in events}
        if body.get("runtimeStatus") == "Completed" and "ExecutionCompleted" in times:
            result[instance_id] = (times["ExecutionStarted"], times["ExecutionCompleted"])

    await asyncio.gather(*(one(f"{prefix}{i}") for i in range(count)))
    return result


async def run_once(host: HostProcess, count: int) -> OrchestrationRun:
    """Start `count` orchestrations, wait until none is active, then read the completion instants."""
    prefix = f"o{uuid.uuid4().hex[:8]}-"
    pid = host.proc.pid if host.proc else None
    connector = aiohttp.TCPConnector(limit=CONCURRENCY + 4)
    async with aiohttp.ClientSession(host.base, connector=connector) as session:
        cpu_before = cpu_seconds(pid)
        started, first = await start_all(session, prefix, count)
        polled = await wait_none_active(session, prefix, count, TIMEOUT_S)
        cpu_after = cpu_seconds(pid)
        times = await completion_times(session, prefix, count)
    last = max((done for _, done in times.values()), default=None)
    host_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return OrchestrationRun(started=started, completed=len(times), first_start=first, polled_done=polled,
                            last_completed=last, latencies=[done - begin for begin, done in times.values()],
                            host_cpu_s=host_cpu)


def figures(run: OrchestrationRun) -> Figures:
    exact_s = None if run.last_completed is None else run.last_completed - run.first_start
    polled_s = None if run.polled_done is None else run.polled_done - run.first_start
    return {
        "orch_completed_per_s": rate(run.completed, exact_s) if run.completed == run.started else "did not finish",
        "orch_completed_per_s_polled": rate(run.completed, polled_s),
        "orch_started": run.started,
        "orch_completed": run.completed,
        "orch_latency_p50_ms": round(percentile(run.latencies, 50) * 1000, 1) if run.latencies else None,
        "orch_latency_p99_ms": round(percentile(run.latencies, 99) * 1000, 1) if run.latencies else None,
        "orch_host_cpu_cores_busy": round(run.host_cpu_s / polled_s, 2) if run.host_cpu_s and polled_s else None,
        "orch_client": f"1 process x {CONCURRENCY} concurrent starts",
    }


def run(quick: bool = False) -> Figures:
    count = QUICK_M if quick else FULL_M
    with running_host() as host:
        asyncio.run(run_once(host, WARM_M))
        log(f"orchestrations: {count} five-activity orchestrations")
        result = asyncio.run(run_once(host, count))
    return figures(result)


def main() -> None:
    bench_main("orchestrations", run, __doc__ or "")


if __name__ == "__main__":
    main()
