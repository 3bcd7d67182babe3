"""Host CPU of the HTTP function path without the entity (issue 14): what HTTP costs before any durable work.

`python -m bench.http_floor [--before REV] [--requests N]`

Sends the same load (32 in flight, from a separate client process) to the trivial aiohttp handler,
then to `GET /` of a host (middlewares only, no function) and to `POST
/api/adaptive-ai/record-performance` with a body the app rejects (400: the request conversion,
the durable client, the console lines, the app's validation and its error response, but no entity
call), and prints host CPU microseconds per request (psutil; its clock ticks make ~3 us steps at the
default 3000 requests). With `--before REV` a host from commit REV (`bench.ab_compare`'s export)
runs the same load beside the working tree's, case by case. Absolute figures move with the load of
a shared machine; compare the sides of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import psutil

from tests.hostproc import HostProcess

from .ab_compare import TreeHost, exported
from .common import REPO_ROOT
from .trivial_server import serving

CONCURRENCY = 32
REJECTED = json.dumps({"playerId": "", "success": True, "timeMs": 1, "attempts": 1, "shapeId": "s"})
CASES = [("GET / (middlewares only)", "GET", "/", None),
         ("POST record-performance, rejected (400)", "POST", "/api/adaptive-ai/record-performance", REJECTED)]


async def _load(url: str, method: str, body: str | None, count: int) -> float:
    remaining = iter(range(count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        async def worker() -> None:
            for _ in remaining:
                async with session.request(method, url, data=body,
                                           headers={"Content-Type": "application/json"}) as resp:
                    await resp.read()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - began


def _load_process(url: str, method: str, body: str | None, count: int,
                  out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(_load(url, method, body, count)))


def _run_load(url: str, method: str, body: str | None, count: int) -> float:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    process = context.Process(target=_load_process, args=(url, method, body, count, out))
    process.start()
    elapsed = float(out.get(timeout=600))
    process.join(30)
    return elapsed


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def cpu_per_request(base: str, pid: int, method: str, path: str, body: str | None, count: int) -> tuple[float, float]:
    """(host CPU us per request, requests/s) of `count` requests after a short warm-up."""
    _run_load(base + path, method, body, 300)
    before = _cpu(pid)
    elapsed = _run_load(base + path, method, body, count)
    return (_cpu(pid) - before) / count * 1e6, count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_floor", description=__doc__)
    parser.add_argument("--before", default=None, help="also measure a host from this commit")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    with serving() as trivial:
        cpu, per_s = cpu_per_request(trivial.base, trivial.pid, "POST", "/x", REJECTED, args.requests)
        print(f"{'trivial aiohttp handler':>46}: {cpu:7.1f} us/request  {per_s:7.0f} req/s")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="funchost-floor-")))
        hosts: dict[str, HostProcess] = {"after": HostProcess(REPO_ROOT, tmp / "after")}
        if args.before:
            tree = stack.enter_context(exported(args.before))
            hosts["before"] = TreeHost(tree, tree, tmp / "before", dict(os.environ))
        for host in hosts.values():
            host.start()
            stack.callback(host.stop)
        for label, method, path, body in CASES:
            for side, host in hosts.items():
                assert host.proc is not None
                cpu, per_s = cpu_per_request(host.base, host.proc.pid, method, path, body, args.requests)
                print(f"{side + ' ' + label:>46}: {cpu:7.1f} us/request  {per_s:7.0f} req/s")


if __name__ == "__main__":
    main()
