"""kill -9 the host mid-work and restart it: nothing acknowledged is lost."""

from __future__ import annotations

import sqlite3
import time

from tests.hostproc import HostProcess

API = "/runtime/webhooks/durabletask"


def test_kill9_restart_resumes_orchestrations_entities_and_timers(fresh_conformance_host: HostProcess) -> None:
    host = fresh_conformance_host.start()
    chains = [host.request("POST", f"{API}/orchestrators/slow_chain", 4).json()["id"] for _ in range(5)]
    timers = [host.request("POST", f"{API}/orchestrators/timer_then_activity").json()["id"] for _ in range(3)]
    acknowledged = 0
    for _ in range(300):
        if host.request("POST", f"{API}/entities/Counter/crash?op=add", 1).status == 202:
            acknowledged += 1
    time.sleep(0.3)  # activities of the chains are in flight now
    host.kill9()
    db = sqlite3.connect(host.data_dir / "durable.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    host.start()
    for instance_id in chains:
        status = host.wait_status(instance_id, timeout=30)
        assert status["runtimeStatus"] == "Completed" and status["output"] == [1, 2, 3, 4], status
    for instance_id in timers:
        status = host.wait_status(instance_id, timeout=30)
        assert status["output"] == 42
    assert acknowledged == 300
    assert host.wait_entity("Counter/crash", acknowledged, timeout=10) == acknowledged
    assert host.stop() == 0
