"""Resident memory of the funchost process holding 100,000 entities (10,000 with --quick).

Setup: one funchost subprocess (bench/app, fresh store). The entities are created the honest
way, through the public HTTP API: one `add 1` signal to each of N distinct `Counter` keys (the
load client of `bench.load`), then the entity listing is polled until the states sum to N. RSS
is read with psutil (host process alone, and with any child processes) before loading, right
after everything is applied, after 2 s of idling, and after listing every entity with its state
(paged, 10,000 a page); the headline is the largest of these. SQLite file sizes are reported beside.
Target (issue 2): <= 300 MB with 100,000 entities stored.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import psutil

from tests.hostproc import HostProcess

from .common import Figures, bench_main, log, running_host
from .entity_signals import warm_up
from .load import SignalPlan, entity_sum, run_plan

FULL_ENTITIES = 100_000
QUICK_ENTITIES = 10_000
MB = 1024 * 1024


def rss_mb(pid: int, with_children: bool = False) -> float:
    """Resident set size of `pid` (and optionally its children) in MiB."""
    process = psutil.Process(pid)
    total = int(process.memory_info().rss)
    if with_children:
        total += sum(int(child.memory_info().rss) for child in process.children(recursive=True))
    return round(total / MB, 1)


def store_mb(data_dir: Path) -> float:
    return round(sum(p.stat().st_size for p in data_dir.glob("durable.sqlite3*")) / MB, 1)


async def count_entities(base: str, prefix: str) -> tuple[int, int]:
    async with aiohttp.ClientSession(base) as session:
        return await entity_sum(session, prefix)


def load_entities(host: HostProcess, count: int) -> tuple[Figures, str]:
    plan = SignalPlan(prefix=f"rss-{count}-", keys=count, signals=count, processes=1, concurrency=48)
    run = run_plan(host.base, plan, host_pid=host.proc.pid if host.proc else None, applied_timeout_s=300.0,
                   poll_s=0.5)
    if run.applied_s is None:
        raise RuntimeError(f"the {count} entity signals were not all applied in time")
    return {"rss_signals_applied_per_s": round(count / run.applied_s, 1)}, plan.prefix


def run(quick: bool = False) -> Figures:
    count = QUICK_ENTITIES if quick else FULL_ENTITIES
    with running_host() as host:
        pid = host.proc.pid if host.proc else 0
        warm_up(host)
        before = rss_mb(pid)
        log(f"entity_rss: creating {count} entities through the HTTP API")
        figures, prefix = load_entities(host, count)
        loaded = rss_mb(pid)
        time.sleep(2.0)
        idle = rss_mb(pid)
        _, stored = asyncio.run(count_entities(host.base, prefix))
        listed = rss_mb(pid)
        figures.update({
            "rss_mb": max(loaded, idle, listed),
            "rss_entities": stored,
            "rss_mb_before": before,
            "rss_mb_loaded": loaded,
            "rss_mb_idle": idle,
            "rss_mb_after_listing_all": listed,
            "rss_mb_with_children": rss_mb(pid, with_children=True),
            "rss_store_mb": store_mb(host.data_dir),
        })
    return figures


def main() -> None:
    bench_main("entity_rss", run, __doc__ or "")


if __name__ == "__main__":
    main()
