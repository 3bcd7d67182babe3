"""A code change between restarts that reorders an orchestrator's work fails the old instances it breaks,
with a message naming the sequence id and both activities, while new instances of the new code complete."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.hostproc import HostProcess
from tests.reliability.apps import versioned_app, write_app

API = "/runtime/webhooks/durabletask"


def wait_until_waiting_for_the_event(host: HostProcess, instance_id: str, timeout: float = 15.0) -> None:
    """Until the first activity's result is in the history (the orchestrator then waits for `go`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = host.request("GET", f"{API}/instances/{instance_id}?showHistory=true").json()
        if any(event["EventType"] == "TaskCompleted" for event in status.get("historyEvents") or []):
            return
        time.sleep(0.02)
    raise AssertionError(f"{instance_id} never completed its first activity")


def test_changed_orchestrator_code_fails_old_instances_and_runs_new_ones(tmp_path: Path,
                                                                        new_host: Callable[..., HostProcess]) -> None:
    app = write_app(tmp_path / "app", versioned_app("step_a"))
    # No bytecode cache: v1 and v2 have the same size and may share an mtime second.
    host = new_host(app, tmp_path / "data", env={"PYTHONDONTWRITEBYTECODE": "1"})
    host.start()
    assert host.request("POST", f"{API}/orchestrators/flow/old-code", None).status == 202
    wait_until_waiting_for_the_event(host, "old-code")
    assert host.stop() == 0

    write_app(app, versioned_app("step_c"))
    host.start()
    assert host.request("POST", f"{API}/instances/old-code/raiseEvent/go", 7).status == 202
    status = host.wait_status("old-code")
    assert status["runtimeStatus"] == "Failed", status
    message = str(status["output"])
    assert "Non-deterministic" in message and "sequence ID 0" in message, message
    assert "'step_a'" in message and "'step_c'" in message, message

    assert host.request("POST", f"{API}/orchestrators/flow/new-code", None).status == 202
    wait_until_waiting_for_the_event(host, "new-code")
    assert host.request("POST", f"{API}/instances/new-code/raiseEvent/go", 7).status == 202
    status = host.wait_status("new-code")
    assert status["runtimeStatus"] == "Completed" and status["output"] == ["c1", "b7"], status
    assert host.stop() == 0
