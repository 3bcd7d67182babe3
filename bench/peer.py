"""The peer: the same workloads on Microsoft's durabletask Python SDK with its in-memory backend.

Setup, all in one process per workload: `durabletask.testing.InMemoryOrchestrationBackend` (a gRPC
server on a free loopback port, state in memory, no persistence), one `TaskHubGrpcWorker` and one
`TaskHubGrpcClient`, both with a logger at WARNING (the SDK's default INFO logging costs it a lot).
Each workload runs in its own subprocess bounded by a timeout; a run that does not finish in time
is reported as "did not finish" instead of hanging the suite. The client is driven from one
thread for orchestrations (scheduling from 32 threads broke the worker stream here before) and
from `SIGNAL_THREADS` threads for signals.

Workloads and how they are measured (the same definitions as the funchost modules):
- signals_many / signals_hot: `client.signal_entity(EntityInstanceId("counter", key), "add", 1)`;
  acknowledged = returned calls / (last return - first call); applied = until the entity states
  (`get_all_entities` by id prefix, or `get_entity` for the hot key) sum to the acknowledged count.
- orchestrations: schedule M `five_activities`, wait for each; completion instant = the latest
  `last_updated_at` reported by the backend; rate = M / (that - first schedule call).
- call_entity: loops of sequential `ctx.call_entity`; per-call cycle = time between consecutive
  `OrchestratorStarted` events of the history (episode start to episode start), as for funchost.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from .common import DID_NOT_FINISH, REPO_ROOT, Figures, bench_main, log, ms, percentile, rate

SIGNAL_THREADS = 4
FULL = {"signals_many": 5000, "signals_hot": 5000, "orchestrations": 300, "call_entity": 50}
QUICK = {"signals_many": 2000, "signals_hot": 2000, "orchestrations": 100, "call_entity": 10}
MANY_KEYS = 1000
SHORT_N = 20
LONG_N = {True: 100, False: 200}
TIMEOUT_S = {True: 60.0, False: 120.0}


def _quiet_logger(name: str) -> logging.Logger:
    logger = logging.Logger(f"bench-peer-{name}", level=logging.ERROR)
    logger.addHandler(logging.StreamHandler(sys.stderr))
    return logger


def _register(worker: Any) -> None:
    """The bench app's functions, written for the durabletask SDK."""
    from durabletask.entities import EntityInstanceId

    def counter(ctx: Any, value: int | None) -> int:
        state = int(ctx.get_state(int, 0))
        if ctx.operation == "add":
            state += int(value or 0)
            ctx.set_state(state)
        return state

    def add_one(ctx: Any, value: int) -> int:
        return value + 1

    def five_activities(ctx: Any, _: Any) -> Generator[Any, Any, int]:
        total = 0
        for i in range(5):
            total += yield ctx.call_activity(add_one, input=i)
        return total

    def call_entity_loop(ctx: Any, calls: int) -> Generator[Any, Any, int]:
        entity = EntityInstanceId("counter", "loop-" + ctx.instance_id)
        value = 0
        for _ in range(calls):
            value = yield ctx.call_entity(entity, "add", input=1)
        return value

    worker.add_entity(counter, name="counter")
    worker.add_activity(add_one)
    worker.add_orchestrator(five_activities)
    worker.add_orchestrator(call_entity_loop)


@contextmanager
def peer_runtime() -> Iterator[Any]:
    """Backend + worker + client on a free loopback port; yields the client."""
    from durabletask.client import TaskHubGrpcClient
    from durabletask.testing import create_test_backend
    from durabletask.worker import TaskHubGrpcWorker

    from tests.hostproc import free_port

    port = free_port()
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"
    worker = TaskHubGrpcWorker(host_address=address, logger=_quiet_logger("worker"))
    _register(worker)
    worker.start()
    client = TaskHubGrpcClient(host_address=address, logger=_quiet_logger("client"))
    try:
        yield client
    finally:
        client.close()
        worker.stop()
        backend.stop(grace=0)


# -- workloads (run inside the workload subprocess) -----------------------------------------------
def _send_signals(client: Any, keys: list[str], threads: int) -> tuple[int, float, float]:
    """Signal `add 1` to each key in `keys` from `threads` threads; (acked, first call, last return)."""
    from durabletask.entities import EntityInstanceId

    acked = [0] * threads
    last = [0.0] * threads
    first = time.time()

    def lane(index: int) -> None:
        for key in keys[index::threads]:
            client.signal_entity(EntityInstanceId("counter", key), "add", 1)
            acked[index] += 1
            last[index] = time.time()

    workers = [threading.Thread(target=lane, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return sum(acked), first, max(last)


def _state_value(meta: Any) -> int:
    """The counter value of an entity's raw JSON state ("" or None while it has none)."""
    raw = meta.get_state() if meta is not None else None
    return int(json.loads(raw)) if raw else 0


def _state_sum(client: Any, prefix: str, single: bool) -> int:
    from durabletask.client import EntityQuery
    from durabletask.entities import EntityInstanceId

    if single:
        return _state_value(client.get_entity(EntityInstanceId("counter", prefix)))
    found = client.get_all_entities(EntityQuery(instance_id_starts_with=f"@counter@{prefix}", include_state=True))
    return sum(_state_value(e) for e in found)


def signals(client: Any, count: int, hot: bool, deadline: float) -> Figures:
    label = "signals_hot" if hot else "signals_many"
    prefix = f"{'hot' if hot else 'many'}-{uuid.uuid4().hex[:6]}" + ("" if hot else "-")
    keys = [prefix if hot else f"{prefix}{i % MANY_KEYS}" for i in range(count)]
    acked, first, last = _send_signals(client, keys, SIGNAL_THREADS)
    applied_at = None
    while time.monotonic() < deadline:
        if _state_sum(client, prefix, hot) >= acked:
            applied_at = time.time()
            break
        time.sleep(0.02)
    return {f"{label}_acked_per_s": rate(acked, last - first),
            f"{label}_applied_per_s": rate(acked, applied_at - first) if applied_at else DID_NOT_FINISH,
            f"{label}_signals": count, f"{label}_client": f"1 process x {SIGNAL_THREADS} threads (gRPC)"}


def orchestrations(client: Any, count: int, deadline: float) -> Figures:
    prefix = f"o{uuid.uuid4().hex[:8]}-"
    first = time.time()
    ids = [client.schedule_new_orchestration("five_activities", instance_id=f"{prefix}{i}") for i in range(count)]
    completed: list[float] = []
    for instance_id in ids:
        state = client.wait_for_orchestration_completion(instance_id, timeout=max(1, int(deadline - time.monotonic())))
        if state is None or state.runtime_status.name != "COMPLETED":
            return {"orch_completed_per_s": DID_NOT_FINISH, "orch_completed": len(completed)}
        completed.append(state.last_updated_at.timestamp())
    return {"orch_completed_per_s": rate(count, max(completed) - first), "orch_completed": count,
            "orch_client": "1 thread"}


def _episode_cycles(client: Any, calls: int, deadline: float) -> list[float]:
    instance_id = client.schedule_new_orchestration("call_entity_loop", input=calls)
    state = client.wait_for_orchestration_completion(instance_id, timeout=max(1, int(deadline - time.monotonic())))
    if state is None or state.runtime_status.name != "COMPLETED":
        raise TimeoutError(instance_id)
    starts = [e.timestamp.timestamp() for e in client.get_orchestration_history(instance_id)
              if type(e).__name__ == "OrchestratorStartedEvent"]
    return [b - a for a, b in itertools.pairwise(starts)]


def call_entity(client: Any, loops: int, long_n: int, deadline: float) -> Figures:
    _episode_cycles(client, SHORT_N, deadline)
    cycle: list[float] = []
    for _ in range(loops):
        cycle.extend(_episode_cycles(client, SHORT_N, deadline))
    long_cycle = _episode_cycles(client, long_n, deadline)
    return {"call_entity_p50_ms": ms(percentile(cycle, 50)), "call_entity_p99_ms": ms(percentile(cycle, 99)),
            "call_entity_mean_ms": ms(sum(cycle) / len(cycle)), "call_entity_calls": len(cycle),
            "call_entity_long_p50_ms": ms(percentile(long_cycle, 50))}


def run_workload(name: str, quick: bool) -> Figures:
    """One workload in this process, bounded by its deadline."""
    sizes = QUICK if quick else FULL
    deadline = time.monotonic() + TIMEOUT_S[quick]
    with peer_runtime() as client:
        if name in ("signals_many", "signals_hot"):
            signals(client, 200, name == "signals_hot", deadline)
            return signals(client, sizes[name], name == "signals_hot", deadline)
        if name == "orchestrations":
            orchestrations(client, 10, deadline)
            return orchestrations(client, sizes[name], deadline)
        if name == "call_entity":
            return call_entity(client, sizes[name], LONG_N[quick], deadline)
    raise ValueError(f"unknown peer workload {name!r}")


# -- driver (the parent process) ------------------------------------------------------------------
def run_isolated(name: str, quick: bool) -> Figures:
    """Run one workload in a subprocess; "did not finish" if it fails or overruns its timeout."""
    command = [sys.executable, "-m", "bench.peer", "--workload", name] + (["--quick"] if quick else [])
    env = {**os.environ, "GRPC_VERBOSITY": "NONE", "PYTHONPATH": str(REPO_ROOT)}
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S[quick] + 30)
    except subprocess.TimeoutExpired:
        return {f"{name}_status": f"{DID_NOT_FINISH} (killed after {TIMEOUT_S[quick] + 30:.0f} s)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {f"{name}_status": f"{DID_NOT_FINISH} (exit {done.returncode}: {done.stderr.strip()[-300:]})"}
    figures: Figures = json.loads(lines[-1])
    return figures


def run(quick: bool = False) -> Figures:
    figures: Figures = {"peer": "durabletask 1.12 in-memory backend (gRPC on loopback, in-process worker)"}
    for name in ("signals_many", "signals_hot", "orchestrations", "call_entity"):
        log(f"peer: {name}")
        figures.update(run_isolated(name, quick))
    return figures


def main() -> None:
    if "--workload" in sys.argv:
        parser = argparse.ArgumentParser(prog="python -m bench.peer")
        parser.add_argument("--workload", required=True)
        parser.add_argument("--quick", action="store_true")
        args = parser.parse_args()
        print(json.dumps(run_workload(args.workload, args.quick)), flush=True)
        return
    bench_main("peer", run, __doc__ or "")


if __name__ == "__main__":
    main()
