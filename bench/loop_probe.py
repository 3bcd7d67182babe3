"""Where the record-performance tail comes from: loop stalls, flushes, batches and GC pauses in the host (issue 14).

`python -m bench.loop_probe [--size N]` starts the project's app on a funchost subprocess with probes
installed (`--host`, the child's entry point), sends `bench.record_performance`'s load (one client
process, 32 in flight, 500 players) and prints, from the host's side:

- every event-loop callback's duration (asyncio `Handle._run`): a histogram, and the callbacks that
  held the loop longest in total among those over 2 ms, by name;
- each group-commit flush (`GroupCommit._start` on the loop): writes per flush, its duration;
- each pump round (the steps run between two waits of the pump): steps per round, its duration;
- the WAL checkpoints (`Store.checkpoint`: beside commits on the checkpoint thread, or while commits
  wait on any other) and the collector's pauses
  per generation (`gc.callbacks`);
- `Dispatcher.call_entity` from entry to its answer (the engine's part of a request),

beside the client's p50/p99 and the WAL's size after each third of the load. The probes cost some
CPU; the shapes (how many flushes per burst, how long the longest stall and what it was) are what
matter, not the rates.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostproc import HostProcess

from .common import REPO_ROOT, log
from .record_performance import run_load

BUCKETS_MS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, float("inf"))


class Series:
    """Durations (seconds) of one kind of event, and an optional size per event."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def add(self, seconds: float, size: int = 0) -> None:
        with self.lock:
            self.seconds.append(seconds)
            self.sizes.append(size)

    def summary(self) -> dict[str, Any]:
        """Count, total, percentiles and max of the durations (ms), mean and max of the sizes."""
        values = sorted(self.seconds)
        if not values:
            return {"count": 0}

        def at(q: float) -> float:
            return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)

        return {"count": len(values), "total_ms": round(sum(values) * 1000, 1), "p50_ms": at(0.5),
                "p99_ms": at(0.99), "max_ms": round(values[-1] * 1000, 3),
                "size_mean": round(sum(self.sizes) / len(self.sizes), 2), "size_max": max(self.sizes)}


def _histogram(values: list[float]) -> dict[str, int]:
    counts = dict.fromkeys((f"<= {b} ms" for b in BUCKETS_MS), 0)
    for value in values:
        for bound in BUCKETS_MS:
            if value * 1000 <= bound:
                counts[f"<= {bound} ms"] += 1
                break
    return {k: v for k, v in counts.items() if v}


def _callback_name(handle: Any) -> str:
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    coro = getattr(owner, "get_coro", None)
    if coro is not None:  # a task's step: name it by its coroutine
        inner = coro()
        return f"task {getattr(inner, '__qualname__', type(inner).__name__)}"
    return str(getattr(callback, "__qualname__", repr(callback)))[:120]


def install_probes(out: Path) -> None:
    """Wrap the loop's callbacks, the group commit, the pump, the checkpoint and the collector; dump at exit."""
    import asyncio.events

    from funchost.dispatcher import Dispatcher
    from funchost.group_commit import GroupCommit
    from funchost.mailboxes import Mailboxes
    from funchost.store import Store

    series: dict[str, Series] = defaultdict(Series)
    slow: dict[str, list[float]] = defaultdict(list)
    callbacks: list[float] = []

    original_run = asyncio.events.Handle._run

    def timed_run(handle: Any) -> None:
        start = time.perf_counter()
        original_run(handle)
        took = time.perf_counter() - start
        callbacks.append(took)
        if took > 0.002:
            slow[_callback_name(handle)].append(took)

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]
    _wrap(GroupCommit, "_start", series["flush (loop)"], lambda self: len(self._queue))
    _probe_checkpoint(Store, series)
    _probe_pump(Mailboxes, series["pump round"])
    _probe_call_entity(Dispatcher, series["call_entity"])
    _probe_gc(series)

    def dump() -> None:
        report = {name: s.summary() for name, s in sorted(series.items())}
        report["loop callbacks"] = {"count": len(callbacks), "histogram": _histogram(callbacks)}
        report["slow callbacks (> 2 ms), by total"] = {
            name: {"count": len(v), "total_ms": round(sum(v) * 1000, 1), "max_ms": round(max(v) * 1000, 2)}
            for name, v in sorted(slow.items(), key=lambda kv: -sum(kv[1]))[:12]}
        out.write_text(json.dumps(report, indent=1))

    atexit.register(dump)


def _wrap(cls: type, name: str, into: Series, size: Callable[[Any], int]) -> None:
    original = getattr(cls, name)

    def timed(self: Any, *args: Any) -> Any:
        n = size(self)
        start = time.perf_counter()
        try:
            return original(self, *args)
        finally:
            if n:
                into.add(time.perf_counter() - start, n)

    setattr(cls, name, timed)


def _probe_checkpoint(cls: Any, series: dict[str, Series]) -> None:
    """Checkpoints by thread: beside commits (the checkpoint thread), or while commits wait (any other)."""
    original = cls.checkpoint

    def checkpoint(self: Any) -> None:
        start = time.perf_counter()
        try:
            original(self)
        finally:
            beside = "checkpoint" in threading.current_thread().name
            series["checkpoint beside commits" if beside else "checkpoint, commits wait"].add(
                time.perf_counter() - start)

    cls.checkpoint = checkpoint


def _probe_pump(cls: Any, into: Series) -> None:
    """A pump round: from the first `take` after a wait to the `take` that found nothing."""
    original = cls.take
    state = {"start": 0.0, "steps": 0}

    def take(self: Any) -> str | None:
        now = time.perf_counter()
        if state["steps"] == 0:
            state["start"] = now
        target = original(self)
        if target is None:
            if state["steps"]:
                into.add(now - state["start"], int(state["steps"]))
            state["steps"] = 0
        else:
            state["steps"] += 1
        return target

    cls.take = take


def _probe_call_entity(cls: Any, into: Series) -> None:
    original = cls.call_entity

    async def call_entity(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            into.add(time.perf_counter() - start, 1)

    cls.call_entity = call_entity


def _probe_gc(series: dict[str, Series]) -> None:
    started: dict[int, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        generation = int(info["generation"])
        if phase == "start":
            started[generation] = time.perf_counter()
        elif generation in started:
            series[f"gc gen{generation}"].add(time.perf_counter() - started.pop(generation), int(info["collected"]))

    gc.callbacks.append(on_gc)


def host_main(argv: list[str]) -> int:
    """The probed host: `--host OUT <funchost cli arguments>`."""
    install_probes(Path(argv[0]))
    from funchost.cli import main as funchost_main
    return funchost_main(argv[1:])


class ProbedHost(HostProcess):
    """The project's app on a funchost subprocess started through `host_main`."""

    def __init__(self, data_dir: Path, out: Path) -> None:
        super().__init__(REPO_ROOT, data_dir, env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"})
        self.out = out

    def start(self, timeout: float = 30.0) -> HostProcess:
        import subprocess
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sink = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.loop_probe", "--host", str(self.out), "start", "--script-root",
             str(self.script_root), "--port", str(self.port), "--data", str(self.data_dir)],
            cwd=str(REPO_ROOT), env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/admin/host/status").status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"probed host did not start: {self.log_path.read_text()[-2000:]}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--host":
        raise SystemExit(host_main(sys.argv[2:]))
    parser = argparse.ArgumentParser(prog="python -m bench.loop_probe", description=__doc__)
    parser.add_argument("--size", type=int, default=6000, help="requests after a warm-up of 1000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funchost-probe-") as tmp:
        out = Path(tmp) / "probe.json"
        host = ProbedHost(Path(tmp) / "data", out)
        host.start()
        try:
            run_load(host.base, 1000, 500, offset=10**7)
            log(f"loop_probe: {args.size} requests in 3 chunks")
            chunks = []
            for n in range(3):
                client = run_load(host.base, args.size // 3, 500, offset=n * args.size)
                chunks.append({**client, "wal_bytes_after": host.request("GET", "/admin/store").json()["walBytes"]})
        finally:
            host.stop()
        print(json.dumps({"client": chunks, "host (warm-up included)": json.loads(out.read_text())}, indent=1))


if __name__ == "__main__":
    main()
