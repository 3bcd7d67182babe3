"""The admission queue's metrics on a real funchost running the project app with one slot: a task held
at the (fake) LLM keeps a second one queued, and `/metrics` shows the queue and then the queue wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess
from tests.observability.exposition import Exposition
from tests.observability.fake_llm import HOLD_MARKER, FakeLlm


@pytest.fixture()
def one_slot(tmp_path: Path) -> Iterator[tuple[HostProcess, FakeLlm]]:
    llm = FakeLlm().start()
    host = HostProcess(ROOT, tmp_path / "host", env={
        "LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake", "LLM_TIMEOUT_S": "60", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "FUNCHOST_TELEMETRY": "1", "AGENT_TASKS_MAX_RUNNING": "1"})
    try:
        yield host.start(), llm
    finally:
        llm.stop()
        host.stop()


def _start(host: HostProcess, kind: str, body: dict[str, Any]) -> str:
    reply = host.request("POST", f"/api/agents/tasks/{kind}", body)
    assert reply.status == 202, reply.body[:300]
    task_id: str = reply.json()["taskId"]
    return task_id


def _wait(host: HostProcess, task_id: str, done: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = host.request("GET", f"/api/agents/tasks/{task_id}/status").json()
        if done(status):
            return status
        time.sleep(0.03)
    raise AssertionError(f"task {task_id} never got there: {status}")


def test_a_queued_task_shows_in_the_queue_gauges_then_in_the_queue_wait(one_slot: tuple[HostProcess, FakeLlm]) -> None:
    host, llm = one_slot
    held = _start(host, "create", {"key": "G", "budgetMs": 300, "notes": HOLD_MARKER})
    _wait(host, held, lambda s: s["stage"] == "consulting-llm")
    waiting = _start(host, "spice-up", {"progression": "Dm7 G7 Cmaj7", "budgetMs": 300})
    status = _wait(host, waiting, lambda s: s.get("queuePosition") == 1)
    seen_queued = time.time()
    first = Exposition.scrape(host)
    assert first.value("ga_agent_tasks_queued") == 1
    assert first.value("ga_agent_task_queue_oldest_wait_seconds") > 0
    assert first.value("ga_agent_tasks_past_deadline", task_type="create") == 0  # 90 s allowed, well within
    time.sleep(1.5)
    later = Exposition.scrape(host)
    assert later.value("ga_agent_tasks_queued") == 1, status
    # computed at collection: the head of the queue keeps waiting between the entity's operations
    assert later.value("ga_agent_task_queue_oldest_wait_seconds") > first.value(
        "ga_agent_task_queue_oldest_wait_seconds")
    released = time.time()
    llm.release()
    for task_id in (held, waiting):
        assert _wait(host, task_id, lambda s: s["state"] in ("Completed", "Failed"))["state"] == "Completed"
    final = Exposition.scrape(host)
    assert final.value("ga_agent_tasks_queued") == 0
    assert final.value("ga_agent_task_queue_oldest_wait_seconds") == 0
    wait = "ga_agent_task_queue_wait_seconds"
    assert final.value(f"{wait}_count", task_type="create") == 1
    assert final.value(f"{wait}_count", task_type="spice-up") == 1
    # The queued task got its slot only after the held one ended, which was after the release.
    assert final.value(f"{wait}_sum", task_type="spice-up") >= released - seen_queued - 0.05
    assert final.value(f"{wait}_bucket", task_type="create", le="5") == 1  # admitted at once (its first poll)
    assert {s.labels["task_type"]: s.value for s in final.find("ga_agent_tasks_past_deadline")} == {
        "create": 0, "spice-up": 0, "reharmonize": 0}
