"""Cost of the console (issue 10, item 4): many-entity signal throughput with the default console, versus off.

Two funchost subprocesses run side by side on bench/app, each with its own fresh store:

- `on`: the default console (an `Executing` and an `Executed` line per entity batch, as `func start`
  prints them), written to the host's stdout, a file here (`host.log` in its data folder);
- `off`: the same app with host.json `logging.logLevel.default` set to `None`, so nothing is printed.

The load comes in chunks (the many-entities plan of `bench.entity_signals`, fresh keys each time: small
batches, so the most console lines per signal), one chunk to each host in turn, in alternating order,
so that the slow drifts of a shared machine hit both alike. Reported: applied rate and host CPU per
signal for each setting, the console lines written, and `on_over_off`: each `on` chunk's applied rate
against the `off` chunk next to it in time, median over the chunks (1.0 means free; the target is
>= 0.95, i.e. the console costs at most 5 % of throughput).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.hostproc import HostProcess

from .common import APP_ROOT, Figures, bench_main, log
from .entity_signals import many_plan, measure, warm_up
from .load import SignalRun

FULL = {"chunks": 8, "signals": 8000, "keys": 1000}
QUICK = {"chunks": 2, "signals": 2500, "keys": 1000}
SETTINGS = ("off", "on")


@contextlib.contextmanager
def host_for(setting: str) -> Iterator[HostProcess]:
    """bench/app (console on) or a copy whose host.json turns every log category off."""
    with tempfile.TemporaryDirectory(prefix=f"funchost-console-{setting}-") as tmp:
        root = APP_ROOT
        if setting == "off":
            root = Path(tmp) / "app"
            shutil.copytree(APP_ROOT, root, ignore=shutil.ignore_patterns("__pycache__", ".funchost"))
            doc = json.loads((root / "host.json").read_text())
            doc["logging"] = {"logLevel": {"default": "None"}}
            (root / "host.json").write_text(json.dumps(doc))
        host = HostProcess(root, Path(tmp) / "data").start(timeout=30.0)
        try:
            yield host
        finally:
            host.stop()


def console_lines(host: HostProcess) -> int:
    return sum(1 for line in host.log_path.read_text(errors="replace").splitlines() if "Functions." in line)


def _rate(run: SignalRun) -> float | None:
    return run.acked / run.applied_s if run.applied_s else None


def _cpu(run: SignalRun) -> float | None:
    return run.host_cpu_s / run.acked if run.host_cpu_s and run.acked else None


def _median_ratio(on: list[float | None], off: list[float | None]) -> float | None:
    ratios = [a / b for a, b in zip(on, off, strict=True) if a is not None and b]
    return round(statistics.median(ratios), 3) if ratios else None


def run(quick: bool = False) -> Figures:
    sizes = QUICK if quick else FULL
    runs: dict[str, list[SignalRun]] = {s: [] for s in SETTINGS}
    lines: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        hosts = {s: stack.enter_context(host_for(s)) for s in SETTINGS}
        for host in hosts.values():
            warm_up(host)
        before = {s: console_lines(h) for s, h in hosts.items()}
        for chunk in range(sizes["chunks"]):
            log(f"console_overhead: chunk {chunk + 1} of {sizes['chunks']} to each setting")
            for setting in SETTINGS if chunk % 2 == 0 else tuple(reversed(SETTINGS)):
                runs[setting].append(measure(hosts[setting], many_plan(sizes["signals"], sizes["keys"])))
        lines = {s: console_lines(h) - before[s] for s, h in hosts.items()}
    figures: Figures = {}
    for setting in SETTINGS:
        done = runs[setting]
        acked = sum(r.acked for r in done)
        applied = sum(r.applied_s or 0.0 for r in done)
        host_cpu = sum(r.host_cpu_s or 0.0 for r in done)
        figures[f"console_{setting}_applied_per_s"] = round(acked / applied, 1) if applied else None
        figures[f"console_{setting}_host_cpu_us_per_signal"] = round(host_cpu / acked * 1e6, 1) if acked else None
        figures[f"console_{setting}_lines"] = lines[setting]
    figures["console_on_over_off"] = _median_ratio([_rate(r) for r in runs["on"]], [_rate(r) for r in runs["off"]])
    figures["console_cpu_ratio_on_over_off"] = _median_ratio([_cpu(r) for r in runs["on"]],
                                                             [_cpu(r) for r in runs["off"]])
    figures["console_chunks"] = sizes["chunks"]
    figures["console_signals_per_chunk"] = sizes["signals"]
    return figures


def main() -> None:
    bench_main("console_overhead", run, __doc__ or "")


if __name__ == "__main__":
    main()
