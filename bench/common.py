"""Shared plumbing of the benchmarks: a funchost subprocess, the command line, figures and percentiles.

Every benchmark module exposes `run(quick: bool) -> Figures` and a `main()` built with `bench_main`,
so it runs standalone (`python -m bench.<name> [--quick]`) and under `bench.run_all`. Figures are
plain JSON values: numbers, or a string such as "did not finish" when a run could not complete.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.hostproc import HostProcess

BENCH_ROOT = Path(__file__).resolve().parent
REPO_ROOT = BENCH_ROOT.parent
APP_ROOT = BENCH_ROOT / "app"
RESULTS_DIR = BENCH_ROOT / "results"
DURABLE = "/runtime/webhooks/durabletask"
DID_NOT_FINISH = "did not finish"

Figure = float | int | str | None
Figures = dict[str, Figure]


@contextmanager
def running_host(env: dict[str, str] | None = None, start_timeout: float = 30.0) -> Iterator[HostProcess]:
    """A funchost subprocess serving bench/app on a free loopback port, with a throwaway data folder.

    The store lives in a temporary folder on the same disk as the repository; it is deleted on exit.
    """
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        host = HostProcess(APP_ROOT, Path(tmp) / "data", env=env).start(timeout=start_timeout)
        try:
            yield host
        finally:
            host.stop()


def parse_iso(text: str) -> float:
    """Epoch seconds of a `...Z` ISO-8601 timestamp as funchost writes them (microsecond precision)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(count: int, seconds: float | None) -> float | None:
    """Items per second, or None when the duration is unknown or zero."""
    if seconds is None or seconds <= 0:
        return None
    return round(count / seconds, 1)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def machine() -> dict[str, object]:
    """What the figures were measured on: cores, CPU model, load, Python, date."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu_count": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_at_start": list(load) if load else None}


def print_figures(name: str, figures: Figures) -> None:
    print(f"== {name}")
    width = max((len(k) for k in figures), default=0)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


def bench_main(name: str, run: Callable[[bool], Figures], description: str) -> None:
    """Command line of one benchmark module: `[--quick] [--json PATH]`; prints the figures."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (for a fast check)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    began = time.monotonic()
    figures = run(args.quick)
    figures["elapsed_s"] = round(time.monotonic() - began, 1)
    print_figures(name, figures)
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": machine(), "figures": figures}, indent=2) + "\n")


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the figures."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
