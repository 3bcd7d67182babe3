"""Before/after of a hot-path change, side by side in one session (issue 14): two hosts, the same load.

`python -m bench.ab_compare --before REV [--workload record_performance|signals|orchestrations] [--chunks N]
[--size N]` exports the commit REV of this repository (`git archive`) to a temporary folder, starts a host
from it ("before") and one from the working tree ("after"), both serving the same app (the project's
app for record_performance, bench/app for signals and orchestrations), and sends the same load in chunks to each in
turn, alternating the order, so that the drifts of a shared machine hit both alike. Reported per
side: requests/s and host CPU microseconds per request over all chunks (and for record_performance the
median of the chunks' p99 latencies), and the after/before ratios chunk by adjacent chunk (median).
Both hosts share this venv's installed libraries. For
orchestrations a "request" is one five-activity orchestration (bench.orchestrations: started over HTTP,
its completion polled), and the rate is orchestrations completed per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil

from tests.hostproc import HostProcess

from .common import APP_ROOT, REPO_ROOT, log
from .load import SignalPlan, run_plan
from .orchestrations import run_once
from .record_performance import run_load


class TreeHost(HostProcess):
    """A funchost subprocess whose code comes from `tree` (a checkout of another commit)."""

    def __init__(self, tree: Path, script_root: Path, data_dir: Path, env: dict[str, str]) -> None:
        super().__init__(script_root, data_dir, env={**env, "PYTHONPATH": str(tree)})
        self.tree = tree

    def start(self, timeout: float = 30.0) -> HostProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sink = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "funchost", "start", "--script-root", str(self.script_root), "--port",
             str(self.port), "--data", str(self.data_dir)],
            cwd=str(self.tree), env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/admin/host/status").status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"host from {self.tree} did not become ready: {self.log_path.read_text()[-2000:]}")


@contextmanager
def exported(rev: str) -> Iterator[Path]:
    """The tree of commit `rev` in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="funchost-ab-") as tmp:
        archive = Path(tmp) / "tree.tar"
        subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), rev], cwd=REPO_ROOT, check=True)
        (Path(tmp) / "tree").mkdir()
        subprocess.run(["tar", "-xf", str(archive), "-C", str(Path(tmp) / "tree")], check=True)
        yield Path(tmp) / "tree"


def _cpu(host: HostProcess) -> float:
    assert host.proc is not None
    times = psutil.Process(host.proc.pid).cpu_times()
    return float(times.user + times.system)


Chunk = tuple[float, float, float | None]  # (requests/s, host CPU us per request, p99 ms if measured)


def one_chunk(host: HostProcess, workload: str, size: int, offset: int) -> Chunk:
    """(requests/s, host CPU us per request, p99 latency in ms or None) of one chunk of the workload."""
    before = _cpu(host)
    p99: float | None = None
    if workload == "record_performance":
        done = run_load(host.base, size, 500, offset=offset)
        per_s = float(done["per_s"] or 0)
        p99 = float(done["p99_ms"] or 0)
    elif workload == "orchestrations":
        return _orchestration_chunk(host, size)
    else:
        run = run_plan(host.base, SignalPlan(prefix=f"ab-{uuid.uuid4().hex[:6]}-", keys=1000, signals=size))
        per_s = run.acked / run.applied_s if run.applied_s else 0.0
    return per_s, (_cpu(host) - before) / size * 1e6, p99


def _orchestration_chunk(host: HostProcess, size: int) -> Chunk:
    """(orchestrations completed/s, host CPU us per orchestration) of `size` five-activity orchestrations."""
    run = asyncio.run(run_once(host, size))
    if run.completed != run.started or run.last_completed is None or run.host_cpu_s is None:
        raise RuntimeError(f"orchestrations did not finish: {run.completed} of {run.started}")
    return run.completed / (run.last_completed - run.first_start), run.host_cpu_s / size * 1e6, None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_compare", description=__doc__)
    parser.add_argument("--before", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--workload", default="record_performance", choices=["record_performance", "signals",
                                                                            "orchestrations"])
    parser.add_argument("--chunks", type=int, default=6)
    parser.add_argument("--size", type=int, default=2000, help="requests per chunk")
    args = parser.parse_args()
    app = REPO_ROOT if args.workload == "record_performance" else APP_ROOT
    # Orchestrations as bench.orchestrations runs them: sync activities on the host's threads.
    env = dict(os.environ) if args.workload == "orchestrations" else \
        {**os.environ, "FUNCTIONS_WORKER_PROCESS_COUNT": "2"}
    results: dict[str, list[Chunk]] = {"before": [], "after": []}
    with ExitStack() as stack:
        tree = stack.enter_context(exported(args.before))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="funchost-ab-data-")))
        hosts = {"before": TreeHost(tree, tree if app == REPO_ROOT else tree / "bench" / "app", tmp / "b", env),
                 "after": TreeHost(REPO_ROOT, app, tmp / "a", env)}
        for host in hosts.values():
            host.start()
            stack.callback(host.stop)
            one_chunk(host, args.workload, 100 if args.workload == "orchestrations" else 500, 10**7)  # warm-up
        for chunk in range(args.chunks):
            log(f"ab_compare: chunk {chunk + 1} of {args.chunks}")
            for side in ("before", "after") if chunk % 2 == 0 else ("after", "before"):
                results[side].append(one_chunk(hosts[side], args.workload, args.size, chunk * args.size))
    _report(results)


def _report(results: dict[str, list[Chunk]]) -> None:
    """Print each side's means (and median p99 where measured) and the after/before ratios of adjacent chunks."""
    for side, runs in results.items():
        p99s = [p for _, _, p in runs if p is not None]
        p99 = f"   p99 {statistics.median(p99s):6.2f} ms (median of chunks)" if p99s else ""
        print(f"{side:>6}: {statistics.mean(r for r, _, _ in runs):8.1f} req/s   "
              f"{statistics.mean(c for _, c, _ in runs):7.1f} host CPU us/request{p99}   (mean of {len(runs)} chunks)")
    pairs = list(zip(results["after"], results["before"], strict=True))
    p99_ratio = ""
    if all(a[2] and b[2] for a, b in pairs):
        p99_ratio = f", p99 x{statistics.median((a[2] or 0) / (b[2] or 1) for a, b in pairs):.3f}"
    print(f"after/before: rate x{statistics.median(a[0] / b[0] for a, b in pairs):.3f}, "
          f"CPU per request x{statistics.median(a[1] / b[1] for a, b in pairs):.3f}{p99_ratio} "
          "(median of adjacent chunk pairs)")


if __name__ == "__main__":
    main()
