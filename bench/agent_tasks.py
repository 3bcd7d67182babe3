"""Agent-task figures (issue 4) through the real host over HTTP, with the project's own function app.

    .venv/bin/python -m bench.agent_tasks [--quick]

Each workload runs on a fresh funchost subprocess twice: sync activities in threads (the default) and
in two worker processes (`FUNCTIONS_WORKER_PROCESS_COUNT=2`). Measured, with no LLM configured:

- cancel: 50 tasks (15 with --quick), one at a time, each a 16-chord spice-up with budgetMs 20000
  cancelled mid-search (after its first search step). Reported: the cancel request's own latency
  (funchost's terminate answers once the termination is applied), the time from sending the cancel
  to the end of the first status read that says `Cancelled`, and how fast the search stops: the time
  from sending the cancel until the host's `funchost_work_items_pending{kind="activity"}` gauge, scraped
  from `/metrics` in a loop (about 2 ms a scrape) until 200 ms after the task reads `Cancelled`, reads 0
  for good - an upper bound, since it also counts writing the activity's result. `stop_step_in_flight`
  counts the cancels for which a scrape just before the cancel saw the search step running.
- concurrent: 20 tasks with budgetMs 1000 (spice-up, reharmonize and create in turn, 8 chords or bars,
  distinct seeds) posted at once from 20 threads; per task, the `ExecutionCompleted` timestamp in its
  history minus the time its POST was sent, minus the budget. Also the host's CPU seconds per task
  (host and worker processes, psutil: what 2 cores can do is 2 CPU-s per second), the slowest POST,
  and the latency of the status reads a client makes (round robin, every 20 ms) while the tasks run.
- spice-up: a default spice-up (jazz, budgetMs 1500) of five 8-chord progressions: POST sent to the end
  of the first status read that says `Completed` (polled every 5 ms), median and max of 5.

Each host is warmed up first with three small concurrent tasks (the app's imports, and both worker
processes, which the process pool starts on demand).

Targets (issue 4): cancel -> Cancelled p99 <= 100 ms and the search stops within 100 ms; 20 concurrent
tasks finish within 3 s of their budget; a default 8-chord spice-up completes in <= 2 s. The figures
are printed as a table and written to bench/results/agent_tasks.json; nothing fails on timing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.hostproc import ROOT, HostProcess

from .common import DID_NOT_FINISH, RESULTS_DIR, Figures, log, machine, parse_iso, percentile

TASKS = "/api/agents/tasks"
FINISHED = ("Completed", "Failed", "Cancelled")
INSTANCES = "/runtime/webhooks/durabletask/instances"
MODES: tuple[tuple[str, dict[str, str]], ...] = (
    ("threads", {}), ("processes", {"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}))
AUTUMN = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
LONG = f"{AUTUMN} {AUTUMN}"
EIGHT_CHORDS = (AUTUMN, "Dm7 G7 Cmaj7 A7 Dm7 G7 Cmaj7 Cmaj7", "C7 F7 C7 C7 F7 F7 C7 G7",
                "C G Am F C G F C", "Am7 D7 Gmaj7 Cmaj7 F#m7b5 B7 Em7 Em7")
CANCEL_BUDGET_MS, CONCURRENT_BUDGET_MS = 20_000, 1000
ACTIVITY_GAUGE = re.compile(r'^funchost_work_items_pending\{kind="activity"[^}]*\} ([0-9.e+]+)$', re.M)
TARGETS = {"cancel_to_cancelled_p99_ms": ("<=", 100.0), "search_stop_p99_ms": ("<=", 100.0),
           "concurrent_max_over_budget_s": ("<=", 3.0), "spice_up_median_s": ("<=", 2.0)}


@contextmanager
def app_host(env: dict[str, str]) -> Iterator[HostProcess]:
    """The project's function app on a funchost subprocess with a throwaway data folder."""
    with tempfile.TemporaryDirectory(prefix="funchost-agents-") as tmp:
        host = HostProcess(ROOT, Path(tmp) / "data", env=env).start(timeout=30)
        try:
            yield host
        finally:
            host.stop()


def start(host: HostProcess, task: str, body: dict[str, Any]) -> str:
    reply = host.request("POST", f"{TASKS}/{task}", body)
    if reply.status != 202:
        raise RuntimeError(f"start {task} answered {reply.status}: {reply.body[:300]!r}")
    return str(reply.json()["taskId"])


def task_status(host: HostProcess, task_id: str) -> dict[str, Any]:
    view: dict[str, Any] = host.request("GET", f"{TASKS}/{task_id}/status").json()
    return view


def wait_until(host: HostProcess, task_id: str, states: tuple[str, ...], timeout: float = 120.0,
               interval: float = 0.005) -> tuple[dict[str, Any], float]:
    """The first status read whose state is in `states`, and the perf_counter when that read ended."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        view = task_status(host, task_id)
        if view["state"] in states:
            return view, time.perf_counter()
        time.sleep(interval)
    raise RuntimeError(f"task {task_id} did not reach {states} in {timeout:g} s")


def running_activities(host: HostProcess) -> int:
    match = ACTIVITY_GAUGE.search(host.request("GET", "/metrics").body.decode())
    return int(float(match.group(1))) if match else -1


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


# -- cancel ---------------------------------------------------------------------------------------
@dataclass
class CancelSample:
    request_s: float  # the cancel request's own round trip
    cancelled_s: float  # cancel sent -> end of the first status read saying Cancelled
    stopped_s: float | None  # cancel sent -> end of the first /metrics scrape with no activity running
    step_in_flight: bool  # a scrape just before the cancel saw the search step running
    code: int


class _StopWatcher(threading.Thread):
    """Scrapes /metrics in a loop from `go` until `done`, keeping (end of scrape, activities running).

    `zero_at` is the start of the final run of zero readings, so a zero between two search steps
    (one ended by itself, the next not yet scheduled) does not count as the search having stopped.
    """

    def __init__(self, host: HostProcess, timeout_s: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.host = host
        self.timeout_s = timeout_s
        self.go = threading.Event()
        self.done = threading.Event()
        self.sent_at = 0.0
        self.readings: list[tuple[float, int]] = []

    def run(self) -> None:
        self.go.wait()
        while not self.done.is_set() and time.perf_counter() < self.sent_at + self.timeout_s:
            running = running_activities(self.host)
            self.readings.append((time.perf_counter(), running))

    @property
    def zero_at(self) -> float | None:
        zero_at = None
        for at, running in self.readings:
            if running != 0:
                zero_at = None
            elif zero_at is None:
                zero_at = at
        return zero_at


def cancel_once(host: HostProcess, seed: int) -> CancelSample:
    task_id = start(host, "spice-up", {"progression": LONG, "budgetMs": CANCEL_BUDGET_MS, "seed": seed})
    deadline = time.perf_counter() + 60
    while True:  # after the first search step: the next one is running, far from the end
        view = task_status(host, task_id)
        if view["stage"] == "searching" and view["progress"] > 0.15:
            break
        if view["state"] not in ("Pending", "Running") or time.perf_counter() > deadline:
            raise RuntimeError(f"task {task_id} never got into its search: {view}")
        time.sleep(0.005)
    watcher = _StopWatcher(host)
    watcher.start()
    in_flight = running_activities(host) > 0
    watcher.sent_at = time.perf_counter()
    watcher.go.set()
    reply = host.request("POST", f"{TASKS}/{task_id}/cancel")
    replied = time.perf_counter()
    view, cancelled_at = wait_until(host, task_id, FINISHED, interval=0.0)
    time.sleep(0.2)  # keep scraping a while: a step that is still running would show up
    watcher.done.set()
    watcher.join()
    if view["state"] != "Cancelled":
        raise RuntimeError(f"task {task_id} was not cancelled: {reply.status} {view['state']}")
    zero_at = watcher.zero_at
    stopped = zero_at - watcher.sent_at if zero_at is not None else None
    return CancelSample(replied - watcher.sent_at, cancelled_at - watcher.sent_at, stopped, in_flight, reply.status)


def measure_cancel(host: HostProcess, count: int) -> Figures:
    samples = [cancel_once(host, seed) for seed in range(count)]
    request = [s.request_s for s in samples]
    cancelled = [s.cancelled_s for s in samples]
    stopped = [s.stopped_s for s in samples if s.stopped_s is not None]
    return {
        "cancel_tasks": count,
        "cancel_request_p50_ms": ms(percentile(request, 50)),
        "cancel_request_p99_ms": ms(percentile(request, 99)),
        "cancel_to_cancelled_p50_ms": ms(percentile(cancelled, 50)),
        "cancel_to_cancelled_p99_ms": ms(percentile(cancelled, 99)),
        "cancel_to_cancelled_max_ms": ms(max(cancelled)),
        "search_stop_p50_ms": ms(percentile(stopped, 50)) if stopped else None,
        "search_stop_p99_ms": ms(percentile(stopped, 99)) if stopped else None,
        "search_stop_max_ms": ms(max(stopped)) if stopped else None,
        "search_stop_not_seen": count - len(stopped),
        "stop_step_in_flight": sum(s.step_in_flight for s in samples),
        "cancel_not_202": sum(s.code != 202 for s in samples),
    }


# -- 20 concurrent tasks --------------------------------------------------------------------------
def _concurrent_body(index: int) -> tuple[str, dict[str, Any]]:
    common = {"budgetMs": CONCURRENT_BUDGET_MS, "seed": index}
    kind = index % 3
    if kind == 0:
        return "spice-up", {"progression": EIGHT_CHORDS[index % len(EIGHT_CHORDS)], **common}
    if kind == 1:
        return "reharmonize", {"progression": EIGHT_CHORDS[index % len(EIGHT_CHORDS)], **common}
    return "create", {"key": ("C", "A minor", "Eb", "F# minor")[index % 4], "bars": 8, **common}


def _cpu_seconds(pid: int) -> float:
    """CPU time of the host process and its worker processes (children, alive or reaped)."""
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:4])  # user, system, children_user, children_system
    for child in proc.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def measure_concurrent(host: HostProcess, count: int) -> Figures:
    if host.proc is None:
        raise RuntimeError("the host is not running")
    cpu_before = _cpu_seconds(host.proc.pid)

    def post(index: int) -> tuple[str, float, float]:
        sent, began = time.time(), time.perf_counter()
        task, body = _concurrent_body(index)
        task_id = start(host, task, body)
        return task_id, sent, time.perf_counter() - began

    with ThreadPoolExecutor(count) as pool:
        started = list(pool.map(post, range(count)))
    pending = {task_id: sent for task_id, sent, _ in started}
    reads: list[float] = []  # status reads while the tasks run: what a polling client sees
    deadline = time.perf_counter() + 120
    while pending and time.perf_counter() < deadline:
        for task_id in list(pending):
            began = time.perf_counter()
            if task_status(host, task_id)["state"] in FINISHED:
                del pending[task_id]
            reads.append(time.perf_counter() - began)
        time.sleep(0.02)
    cpu = _cpu_seconds(host.proc.pid) - cpu_before
    over: list[float] = []
    states: list[str] = []
    for task_id, sent, _ in started:
        row = host.request("GET", f"{INSTANCES}/{task_id}?showHistory=true").json()
        states.append(row["runtimeStatus"])
        if row["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            over.append(parse_iso(row["historyEvents"][-1]["Timestamp"]) - sent - CONCURRENT_BUDGET_MS / 1000)
    return {
        "concurrent_tasks": count,
        "concurrent_completed": states.count("Completed"),
        "concurrent_max_over_budget_s": round(max(over), 3) if len(over) == count else DID_NOT_FINISH,
        "concurrent_p50_over_budget_s": round(percentile(over, 50), 3) if over else None,
        "concurrent_host_cpu_s_per_task": round(cpu / count, 3),
        "concurrent_post_max_ms": ms(max(latency for _, _, latency in started)),
        "concurrent_status_read_p50_ms": ms(percentile(reads, 50)),
        "concurrent_status_read_p99_ms": ms(percentile(reads, 99)),
    }


# -- a default 8-chord spice-up -------------------------------------------------------------------
def measure_spice_up(host: HostProcess, runs: int) -> Figures:
    times: list[float] = []
    server: list[float] = []
    for index in range(runs):
        sent = time.perf_counter()
        task_id = start(host, "spice-up", {"progression": EIGHT_CHORDS[index % len(EIGHT_CHORDS)]})
        view, done = wait_until(host, task_id, FINISHED)
        if view["state"] != "Completed":
            raise RuntimeError(f"spice-up {task_id} ended {view['state']}: {view['errorMessage']}")
        times.append(done - sent)
        events = host.request("GET", f"{INSTANCES}/{task_id}?showHistory=true").json()["historyEvents"]
        server.append(parse_iso(events[-1]["Timestamp"]) - parse_iso(events[0]["Timestamp"]))
    return {
        "spice_up_runs": runs,
        "spice_up_median_s": round(statistics.median(times), 3),
        "spice_up_max_s": round(max(times), 3),
        "spice_up_server_median_s": round(statistics.median(server), 3),
    }


# -- the whole module -----------------------------------------------------------------------------
def run(quick: bool) -> Figures:
    """Every workload in both activity modes; keys are prefixed `threads_` or `processes_`."""
    figures: Figures = {}
    for mode, env in MODES:
        with app_host(env) as host:
            # Warm up: the app's imports, and both worker processes (the pool starts them on demand).
            warm = [start(host, "spice-up", {"progression": AUTUMN, "budgetMs": 300, "seed": i}) for i in range(3)]
            for task_id in warm:
                wait_until(host, task_id, FINISHED)
            for name, measure, size in (("spice-up", measure_spice_up, 3 if quick else 5),
                                        ("concurrent", measure_concurrent, 20),
                                        ("cancel", measure_cancel, 15 if quick else 50)):
                log(f"agent_tasks: {mode}: {name} x {size}")
                figures.update({f"{mode}_{key}": value for key, value in measure(host, size).items()})
    return figures


def table(figures: Figures) -> list[dict[str, Any]]:
    keys = [key.removeprefix("threads_") for key in figures if key.startswith("threads_")]
    rows = []
    for key in keys:
        target = TARGETS.get(key)
        row: dict[str, Any] = {"figure": key, "threads": figures.get(f"threads_{key}"),
                               "processes": figures.get(f"processes_{key}"),
                               "target": f"{target[0]} {target[1]:g}" if target else None}
        if target:
            met = [isinstance(row[m], int | float) and row[m] <= target[1] for m in ("threads", "processes")]
            row["met"] = "/".join("yes" if ok else "no" for ok in met)
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("figure", "threads", "processes", "target", "met? (thr/proc)")
    cells = [(r["figure"], str(r["threads"]), str(r["processes"]), r["target"] or "-", r.get("met", "-"))
             for r in rows]
    widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for cell in cells:
        print("  ".join([cell[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cell[1:], widths[1:], strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_tasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 cancels and 3 spice-ups instead of 50 and 5")
    args = parser.parse_args()
    info = machine()
    began = time.monotonic()
    figures = run(args.quick)
    rows = table(figures)
    print_table(rows)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "agent_tasks.json"
    document = {"command": "python -m bench.agent_tasks" + (" --quick" if args.quick else ""),
                "quick": args.quick, "machine": info, "elapsed_s": round(time.monotonic() - began, 1),
                "table": rows, "figures": figures}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {out} in {document['elapsed_s']} s")


if __name__ == "__main__":
    main()
