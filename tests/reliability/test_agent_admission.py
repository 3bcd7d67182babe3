"""Admission control for agent tasks (issue 11, item 4): 200 tasks started at once all complete or are
refused up front with 429 + Retry-After; at most AGENT_TASKS_MAX_RUNNING run at once, the others wait with
`stage: queued` and a `queuePosition`, their budget counting from when they start running. The real app
on a real host, over loopback HTTP."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from orchestrations.agent_admission import admit
from tests.hostproc import ROOT, HostProcess, Reply

MAX_RUNNING, MAX_QUEUED = 3, 12
REQUEST = {"progression": ["Dm7", "G7", "Cmaj7"], "style": "jazz", "budgetMs": 300}
ADMISSION = "/runtime/webhooks/durabletask/entities/agent_admission/all"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostProcess]:
    process = HostProcess(Path(os.environ.get("APP_SCRIPT_ROOT", str(ROOT))), tmp_path / "data", env={
        "AGENT_TASKS_MAX_RUNNING": str(MAX_RUNNING), "AGENT_TASKS_MAX_QUEUED": str(MAX_QUEUED)})
    process.start()
    yield process
    process.stop()


def _watch(host: HostProcess, done: threading.Event, seen: dict[str, Any]) -> None:
    """Record the most tasks the admission entity ever had running, and every queued status read."""
    while not done.is_set():
        reply = host.request("GET", ADMISSION)
        if reply.status == 200:
            state = reply.json()
            seen["most_running"] = max(seen.get("most_running", 0), len(state["running"]))
            for task_id, _ in state["queue"][:2]:
                status = host.request("GET", f"/api/agents/tasks/{task_id}/status").json()
                if status.get("stage") == "queued" and "queuePosition" in status:
                    seen.setdefault("queued", []).append(status)
        time.sleep(0.05)


def test_two_hundred_tasks_at_once_all_complete_or_are_refused_up_front(host: HostProcess) -> None:
    seen: dict[str, Any] = {}
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(host, done, seen))
    watcher.start()
    try:
        with ThreadPoolExecutor(40) as pool:
            replies: list[Reply] = list(pool.map(
                lambda _: host.request("POST", "/api/agents/tasks/spice-up", body=REQUEST, timeout=120), range(200)))
        accepted = [reply.json()["taskId"] for reply in replies if reply.status == 202]
        refused = [reply for reply in replies if reply.status == 429]
        assert len(accepted) + len(refused) == 200, sorted({reply.status for reply in replies})
        assert refused, "200 simultaneous starts with room for 15 refused none"
        for reply in refused:
            assert int(reply.headers["Retry-After"]) > 0 and reply.json()["error"] == "too many agent tasks"
        final = [_finished(host, task_id) for task_id in accepted]
    finally:
        done.set()
        watcher.join()
    assert [status["state"] for status in final] == ["Completed"] * len(accepted), \
        [status.get("errorMessage") for status in final if status["state"] != "Completed"]
    assert seen.get("most_running", 0) <= MAX_RUNNING, seen
    assert seen.get("queued"), "no task was ever seen waiting in the queue"
    assert all(status["queuePosition"] >= 1 for status in seen["queued"])
    assert host.request("GET", ADMISSION).json() == {"running": {}, "queue": []}  # every slot released


def _finished(host: HostProcess, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status: dict[str, Any] = host.request("GET", f"/api/agents/tasks/{task_id}/status").json()
        if status["state"] in ("Completed", "Failed", "Cancelled"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} never finished: {json.dumps(status)[:500]}")


def test_the_queue_is_first_in_first_out_and_a_release_admits_the_next() -> None:
    state: dict[str, Any] = {"running": {}, "queue": []}
    answers = [admit(state, "enqueue", f"t{i}", 10.0, 2, 2) for i in range(5)]
    assert answers[:2] == [{"admitted": True}, {"admitted": True}]
    assert answers[2:4] == [{"admitted": False, "queuePosition": 1}, {"admitted": False, "queuePosition": 2}]
    assert answers[4]["full"] and answers[4]["retryAfter"] > 0
    admit(state, "release", "t0", 11.0, 2, 2)
    assert admit(state, "poll", "t2", 11.0, 2, 2) == {"admitted": True}
    assert admit(state, "poll", "t3", 11.0, 2, 2) == {"admitted": False, "queuePosition": 1}
