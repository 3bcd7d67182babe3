"""Does a slow entity operation hold the host's HTTP? (issue 14): request latency while an entity sleeps.

A host serves bench/app; one client polls `GET /admin/host/status` (answered by the host itself, no
function) back to back and records each latency. After a quiet second, a signal asks the `Sleeper`
entity to block for SLEEP_MS (a `time.sleep` in a sync entity function, as a CPU-heavy or blocking
operation would). Reported: the status requests' median and maximum latency before the signal and
during the sleep. A maximum close to SLEEP_MS means entity code runs on the loop that serves HTTP.
Not part of `run_all`; `python -m bench.entity_blocking`.
"""

from __future__ import annotations

import threading
import time
import urllib.request

from .common import DURABLE, Figures, bench_main, percentile, running_host

SLEEP_MS = 300
QUIET_S = 1.0


def _poll(base: str, until: float, out: list[tuple[float, float]]) -> None:
    """GET the host status back to back until `until`; (sent at, latency s) of each."""
    while time.monotonic() < until:
        began = time.monotonic()
        with urllib.request.urlopen(f"{base}/admin/host/status", timeout=10) as resp:
            resp.read()
        out.append((began, time.monotonic() - began))


def run(quick: bool = False) -> Figures:
    with running_host() as host:
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        poller = threading.Thread(target=_poll, args=(host.base, start + QUIET_S + 2 * SLEEP_MS / 1000, samples))
        poller.start()
        time.sleep(QUIET_S)
        signalled = time.monotonic()
        host.request("POST", f"{DURABLE}/entities/Sleeper/one?op=sleep", SLEEP_MS)
        poller.join()
    quiet = [lat for at, lat in samples if at < signalled]
    during = [lat for at, lat in samples if signalled <= at < signalled + SLEEP_MS / 1000]
    return {"sleep_ms": SLEEP_MS, "quiet_requests": len(quiet), "quiet_p50_ms": round(percentile(quiet, 50) * 1000, 1),
            "quiet_max_ms": round(max(quiet, default=0) * 1000, 1), "during_requests": len(during),
            "during_max_ms": round(max((lat for at, lat in samples if at >= signalled), default=0) * 1000, 1)}


def main() -> None:
    bench_main("entity_blocking", run, __doc__ or "")


if __name__ == "__main__":
    main()
