"""Host start-to-ready time: `subprocess.Popen` of funchost until the first 200 from `/admin/host/status`.

Each run starts `python -m funchost start --script-root bench/app --port P --data D` with a fresh
data folder, polls `GET /admin/host/status` every 5 ms on a new connection, and stops the host
(SIGTERM) once ready. Reported: the median and min/max over RUNS runs, the time the funchost process
itself prints ("Host started ... in X s", measured inside `main` from after interpreter start and
imports of the CLI module), and for scale the start of a bare interpreter (`python -c pass`).
Target (issue 2): median <= 1.5 s.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.hostproc import free_port

from .common import APP_ROOT, REPO_ROOT, Figures, bench_main, log

FULL_RUNS = 5
QUICK_RUNS = 3
READY_TIMEOUT_S = 30.0
_REPORTED = re.compile(r"Host started on \S+ in ([0-9.]+) s")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_once(data_dir: Path) -> tuple[float, float | None]:
    """(seconds from Popen to the first 200, seconds the host reports) for one start."""
    port = free_port()
    out = data_dir / "stdout.txt"
    url = f"http://127.0.0.1:{port}/admin/host/status"
    with open(out, "wb") as sink:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "funchost", "start", "--script-root", str(APP_ROOT), "--port", str(port),
             "--data", str(data_dir / "data")], cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT)
        try:
            while not _ready(url):
                if proc.poll() is not None or time.perf_counter() - began > READY_TIMEOUT_S:
                    raise RuntimeError(f"funchost did not become ready: {out.read_text()[-2000:]}")
                time.sleep(0.005)
            elapsed = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(15)
    match = _REPORTED.search(out.read_text())
    return elapsed, float(match.group(1)) if match else None


def bare_interpreter_s() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - began


def run(quick: bool = False) -> Figures:
    runs = QUICK_RUNS if quick else FULL_RUNS
    log(f"startup: {runs} cold starts of funchost")
    ready: list[float] = []
    reported: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="funchost-start-") as tmp:
            elapsed, own = start_once(Path(tmp))
        ready.append(elapsed)
        if own is not None:
            reported.append(own)
    return {
        "startup_median_s": round(statistics.median(ready), 3),
        "startup_min_s": round(min(ready), 3),
        "startup_max_s": round(max(ready), 3),
        "startup_self_reported_median_s": round(statistics.median(reported), 3) if reported else None,
        "startup_bare_python_s": round(bare_interpreter_s(), 3),
        "startup_runs": runs,
    }


def main() -> None:
    bench_main("startup", run, __doc__ or "")


if __name__ == "__main__":
    main()
