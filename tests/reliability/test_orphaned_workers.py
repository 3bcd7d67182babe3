"""After `kill -9` of the host, no activity worker process nor the multiprocessing resource tracker
survives (issue 11, item 5): the workers end with the host, the tracker once its pipe closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil

from tests.conftest import CONFORMANCE_APP
from tests.hostproc import HostProcess


def test_worker_processes_and_the_resource_tracker_end_with_a_killed_host(
        tmp_path: Path, new_host: Callable[..., HostProcess]) -> None:
    host = new_host(CONFORMANCE_APP, tmp_path / "data", args=["--activity-processes", "2"]).start()
    started = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/sequence/workers", body=["w"])
    assert started.status == 202
    assert host.wait_status("workers")["runtimeStatus"] == "Completed"  # ran in a worker process
    assert host.proc is not None
    children = psutil.Process(host.proc.pid).children(recursive=True)
    commands = [" ".join(child.cmdline()) for child in children]
    assert sum("multiprocessing" in c and "resource_tracker" not in c for c in commands) >= 2, commands
    assert any("resource_tracker" in c for c in commands), commands
    host.kill9()
    _, alive = psutil.wait_procs(children, timeout=30)
    for process in alive:  # clean up what this test started before failing
        process.kill()
    assert not alive, f"orphaned after kill -9: {[' '.join(p.cmdline()) for p in alive]}"
