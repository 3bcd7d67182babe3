"""Entity-signal load through the public HTTP API, and the wait until every signal is applied.

Senders are aiohttp clients in worker processes (spawned, so none shares the host's or the
coordinator's interpreter); each keeps `concurrency` requests in flight on keep-alive connections
and POSTs `/entities/Counter/{key}?op=add` with body `1`. Signal i goes to key `prefix + str(i % keys)`;
process j sends the indices j, j+P, j+2P, ... so every process touches every key. All processes
start at one agreed wall-clock instant; the run's start is the earliest first send.

"Applied" is observed from outside, after the last acknowledgement: the coordinator polls the
entity states (one GET for a single key, the paged listing otherwise) until the states of the
run's keys sum to the number of acknowledged signals. Polling starts only once sending is over,
so it does not compete with the load; its interval bounds the error of the applied time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import aiohttp
import psutil

from .common import DURABLE, Figures, rate

CONTINUATION = "x-ms-continuation-token"
SPAWN_MARGIN_S = 1.5
PAGE = 10000


@dataclass(frozen=True)
class SignalPlan:
    """Which signals to send: `signals` signals round-robin over `keys` keys named `prefix<n>`."""

    prefix: str
    keys: int
    signals: int
    processes: int = 1
    concurrency: int = 48

    def key(self, index: int) -> str:
        return f"{self.prefix}{index % self.keys}"


@dataclass(frozen=True)
class SendReport:
    acked: int
    errors: int
    first_send: float
    last_ack: float
    client_cpu_s: float = 0.0


@dataclass(frozen=True)
class SignalRun:
    """Outcome of one plan: acknowledged and applied durations from the first send (seconds)."""

    plan: SignalPlan
    acked: int
    errors: int
    ack_s: float
    applied_s: float | None
    host_cpu_s: float | None = None
    client_cpu_s: float | None = None

    def figures(self, label: str) -> Figures:
        busy = None
        if self.host_cpu_s is not None and self.applied_s:
            busy = round(self.host_cpu_s / self.applied_s, 2)
        per_signal = round(self.host_cpu_s / self.acked * 1e6, 1) if self.host_cpu_s and self.acked else None
        return {
            f"{label}_acked_per_s": rate(self.acked, self.ack_s),
            f"{label}_applied_per_s": rate(self.acked, self.applied_s),
            f"{label}_host_cpu_cores_busy": busy,
            f"{label}_host_cpu_us_per_signal": per_signal,
            f"{label}_client_cpu_us_per_signal": round(self.client_cpu_s / self.acked * 1e6, 1)
            if self.client_cpu_s and self.acked else None,
            f"{label}_signals": self.plan.signals,
            f"{label}_keys": self.plan.keys,
            f"{label}_errors": self.errors,
            f"{label}_client": f"{self.plan.processes} process(es) x {self.plan.concurrency} connections",
        }


async def _send(base: str, plan: SignalPlan, worker: int) -> SendReport:
    indices = range(worker, plan.signals, plan.processes)
    position = 0
    acked = errors = 0
    first = last = 0.0
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=plan.concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def lane() -> None:
            nonlocal position, acked, errors, first, last
            while position < len(indices):
                key = plan.key(indices[position])
                position += 1
                if not first:
                    first = time.time()
                try:
                    async with session.post(f"{DURABLE}/entities/Counter/{key}?op=add", data=b"1",
                                            headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 202
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    acked += 1
                    last = time.time()
                else:
                    errors += 1

        await asyncio.gather(*(lane() for _ in range(plan.concurrency)))
    return SendReport(acked, errors, first, last)


def _send_in_process(base: str, plan: SignalPlan, worker: int, start_at: float) -> SendReport:
    """Entry point of one sender process: wait for the common start instant, then send."""
    time.sleep(max(0.0, start_at - time.time()))
    return asyncio.run(_send(base, plan, worker))


def send_signals(base: str, plan: SignalPlan) -> SendReport:
    """Send the plan from `plan.processes` spawned processes; merged report of all of them.

    The senders' CPU time is read from RUSAGE_CHILDREN, which counts them once the pool has reaped them.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + SPAWN_MARGIN_S
    with ProcessPoolExecutor(max_workers=plan.processes, mp_context=context) as pool:
        futures = [pool.submit(_send_in_process, base, plan, worker, start_at) for worker in range(plan.processes)]
        reports = [f.result() for f in futures]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    started = [r.first_send for r in reports if r.first_send]
    return SendReport(acked=sum(r.acked for r in reports), errors=sum(r.errors for r in reports),
                      first_send=min(started) if started else 0.0,
                      last_ack=max(r.last_ack for r in reports), client_cpu_s=client_cpu)


async def entity_value(session: aiohttp.ClientSession, key: str) -> int:
    async with session.get(f"{DURABLE}/entities/Counter/{key}") as resp:
        if resp.status == 404:
            return 0
        return int(await resp.json())


async def entity_sum(session: aiohttp.ClientSession, prefix: str) -> tuple[int, int]:
    """(sum of states, number of entities) over the Counter entities whose key starts with `prefix`."""
    total = count = 0
    headers: dict[str, str] = {}
    while True:
        async with session.get(f"{DURABLE}/entities/counter?fetchState=true&top={PAGE}", headers=headers) as resp:
            items = await resp.json()
            token = resp.headers.get(CONTINUATION)
        for item in items:
            if item["entityId"]["key"].startswith(prefix):
                total += int(item.get("state") or 0)
                count += 1
        if not token:
            return total, count
        headers = {CONTINUATION: token}


async def wait_applied(base: str, plan: SignalPlan, expected: int, timeout_s: float,
                       interval_s: float = 0.02) -> float | None:
    """Wall-clock time at which the run's entity states were first seen to sum to `expected`."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(base) as session:
        while time.monotonic() < deadline:
            if plan.keys == 1:
                total = await entity_value(session, plan.key(0))
            else:
                total, _ = await entity_sum(session, plan.prefix)
            if total >= expected:
                return time.time()
            await asyncio.sleep(interval_s)
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds used so far by process `pid` (threads included), if it is known."""
    if pid is None:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run_plan(base: str, plan: SignalPlan, host_pid: int | None = None, applied_timeout_s: float = 120.0,
             poll_s: float = 0.02) -> SignalRun:
    """Send the plan, then wait until it is applied; durations are measured from the first send.

    With `host_pid`, also the host's CPU time over the whole run (spawn margin and polling included).
    """
    cpu_before = cpu_seconds(host_pid)
    report = send_signals(base, plan)
    applied_at = asyncio.run(wait_applied(base, plan, report.acked, applied_timeout_s, poll_s))
    cpu_after = cpu_seconds(host_pid)
    host_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return SignalRun(plan=plan, acked=report.acked, errors=report.errors,
                     ack_s=report.last_ack - report.first_send,
                     applied_s=None if applied_at is None else applied_at - report.first_send, host_cpu_s=host_cpu,
                     client_cpu_s=report.client_cpu_s)
