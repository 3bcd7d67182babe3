"""Where the host spends its time under a benchmark workload: py-spy samples of the funchost process.

`python -m bench.profile_host [--workload signals_many|signals_hot|orchestrations|call_entity|
record_performance] [--size N] [--telemetry 0|1] [--traced]`
starts a host, warms it up, attaches `py-spy record --format raw` (sampling at RATE Hz, idle samples
excluded) for the duration of one workload, and prints the busiest functions by self and inclusive
share of the samples, plus the self time grouped by area (HTTP server, event loop, telemetry,
SQLite store, Durable SDK, JSON, engine). py-spy is not a project dependency:
`.venv/bin/pip install py-spy` first. Sampling costs some CPU on a 2-core machine, so the workload
runs slower than under the plain benchmark; the shares are what matter. `--traced` traces every
request, exporting by OTLP to a local receiver (as `bench.metrics_overhead`'s `traced` setting).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.hostproc import HostProcess
from tests.observability.otlp import Collector

from .call_entity import run_loop
from .common import REPO_ROOT, log, running_host
from .entity_signals import hot_plan, many_plan, measure, warm_up
from .orchestrations import run_once
from .record_performance import run_load

RATE = 250
AREAS = [  # first match wins; matched against the leaf frame's file
    ("telemetry (opentelemetry, funchost telemetry/observability)", ("opentelemetry", "funchost/telemetry",
                                                                    "funchost/observability")),
    ("SQLite store (funchost/store.py, time in sqlite3 counts here)", ("funchost/store", "sqlite3")),
    ("Durable SDK (azure.durable_functions)", ("azure/durable_functions",)),
    ("HTTP server (aiohttp)", ("aiohttp/", "multidict", "yarl")),
    ("event loop + sockets (asyncio, selectors)", ("asyncio/", "selectors")),
    ("JSON (json module)", ("json/",)),
    ("funchost engine (dispatcher, replay, entity_batch, ...)", ("funchost/",)),
]
# Leaves where a thread is blocked, not computing (py-spy cannot always tell): counted apart.
IDLE_LEAVES = {("_worker", "concurrent/futures/thread.py"), ("EpollSelector.select", "selectors.py"),
               ("Condition.wait", "threading.py"), ("Event.wait", "threading.py")}
_FRAME = re.compile(r"(.*) \((.*?):\d+\)$")


def _frame(text: str) -> tuple[str, str]:
    """(function, short file) of one py-spy raw frame `function (path:line)`."""
    match = _FRAME.match(text.strip())
    if not match:
        return text.strip(), ""
    function, path = match.groups()
    short = re.sub(r"^.*/site-packages/|^.*/lib/python3\.\d+/", "", path)
    return function, short.replace(str(REPO_ROOT) + "/", "")


def summarise(raw: Path, top: int = 25) -> str:
    """Self and inclusive shares per function, and self share per area, from a py-spy raw file."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        leaf_function, leaf_file = frames[-1]
        if frames[-1] in IDLE_LEAVES:
            idle += count
            continue
        total += count
        own[f"{leaf_function} ({leaf_file})"] += count
        areas[next((name for name, marks in AREAS if any(m in leaf_file for m in marks)), "other")] += count
        for name in {f"{fn} ({path})" for fn, path in frames}:
            inclusive[name] += count
    if not total:
        return "no samples (is the host busy, and may py-spy attach to it?)"
    lines = [f"{total} busy samples ({idle} more in blocked threads, left out)"]
    lines += ["", "self time by area:"] + [f"  {100 * n / total:5.1f}%  {a}" for a, n in areas.most_common()]
    lines += ["", "self time by function:"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    skip = ("<module>", "_run_module_as_main", "_run_code", "run (", "Runner.run", "run_until_complete",
            "run_forever", "_run_once", "Handle._run", "main (funchost/cli")
    busy = [(f, n) for f, n in inclusive.most_common() if not f.startswith(skip)][:top]
    lines += ["", "inclusive time by function:"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in busy]
    return "\n".join(lines)


def _workload(host: HostProcess, name: str, size: int) -> str:
    if name == "record_performance":
        done = run_load(host.base, size, 500)
        return f"{size} record-performance requests, {done['per_s']}/s, p99 {done['p99_ms']} ms"
    if name == "call_entity":
        _, elapsed = run_loop(host, size)
        return f"one orchestration calling an entity {size} times, {elapsed / size * 1000:.2f} ms a call"
    if name == "orchestrations":
        result = asyncio.run(run_once(host, size))
        return f"{result.completed} orchestrations"
    plan = hot_plan(size) if name == "signals_hot" else many_plan(size, 1000)
    run = measure(host, plan)
    return f"{run.acked} signals, applied at {run.acked / run.applied_s if run.applied_s else 0:.0f}/s"


@contextlib.contextmanager
def _host(workload: str, env: dict[str, str]) -> Iterator[HostProcess]:
    """The bench app's host, or for record_performance the project's own app (as bench.record_performance)."""
    if workload != "record_performance":
        with running_host(env=env) as host:
            yield host
        return
    with tempfile.TemporaryDirectory(prefix="funchost-profile-") as tmp:
        host = HostProcess(REPO_ROOT, Path(tmp) / "data", env={**env, "FUNCTIONS_WORKER_PROCESS_COUNT": "2"})
        host.start()
        try:
            yield host
        finally:
            host.stop()


def profile(name: str, size: int, telemetry: bool, out: Path, traced: bool = False) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    env = {"FUNCHOST_TELEMETRY": "1" if telemetry else "0"}
    receiver = Collector() if traced else None
    if receiver is not None:
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_METRIC_EXPORT_INTERVAL": "60000"}
    with _host(name, env) as host:
        if name == "record_performance":
            run_load(host.base, 500, 500, offset=10**7)
        else:
            warm_up(host)
        if name == "orchestrations":
            asyncio.run(run_once(host, 20))
        pid = host.proc.pid if host.proc else 0
        sampler = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw",
                                    "--output", str(out), "--nonblocking", "--full-filenames"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        log(f"profile_host: {name} x {size}, telemetry {'on' if telemetry else 'off'}{', traced' if traced else ''}")
        outcome = _workload(host, name, size)
        sampler.send_signal(signal.SIGINT)
        sampler.wait(30)
    if receiver is not None:
        receiver.server.shutdown()
        receiver.server.server_close()
    return f"{name}: {outcome}\n" + summarise(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_host", description=__doc__)
    parser.add_argument("--workload", default="signals_many", choices=["signals_many", "signals_hot",
                                                                       "orchestrations", "call_entity",
                                                                       "record_performance"])
    parser.add_argument("--size", type=int, default=None,
                        help="signals, orchestrations or calls (default 20000 / 1000 / 400)")
    parser.add_argument("--telemetry", choices=["0", "1"], default="1")
    parser.add_argument("--traced", action="store_true", help="trace every request, exported by OTLP")
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw stacks in this file")
    args = parser.parse_args()
    defaults = {"orchestrations": 1000, "call_entity": 400, "record_performance": 5000}
    size = args.size or defaults.get(args.workload, 20000)
    with tempfile.TemporaryDirectory(prefix="funchost-profile-") as tmp:
        out = args.raw or Path(tmp) / "stacks.txt"
        print(profile(args.workload, size, args.telemetry == "1", out, args.traced))


if __name__ == "__main__":
    main()
