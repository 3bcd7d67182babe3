"""Sync activities in worker processes (like FUNCTIONS_WORKER_PROCESS_COUNT), with cancellation."""

from __future__ import annotations

import time
from pathlib import Path

from tests.hostproc import ROOT, HostProcess

API = "/runtime/webhooks/durabletask"


def test_process_pool_runs_activities_and_cancels_on_terminate(tmp_path: Path) -> None:
    host = HostProcess(ROOT / "tests" / "conformance_app", tmp_path, args=["--activity-processes", "1"]).start()
    try:
        done = host.request("POST", f"{API}/orchestrators/sequence", ["P1", "P2"]).json()["id"]
        assert host.wait_status(done, timeout=30)["output"] == ["Hello P1!", "Hello P2!"]
        long_id = host.request("POST", f"{API}/orchestrators/long_activity").json()["id"]
        time.sleep(1.0)
        assert host.request("POST", f"{API}/instances/{long_id}/terminate?reason=stop").status == 202
        assert host.request("GET", f"{API}/instances/{long_id}").json()["runtimeStatus"] == "Terminated"
        # With one worker process, the next activity can only run once the cancelled one has returned.
        began = time.monotonic()
        again = host.request("POST", f"{API}/orchestrators/five_activities").json()["id"]
        assert host.wait_status(again, timeout=30)["output"] == 15
        assert time.monotonic() - began < 10
    finally:
        assert host.stop() == 0
