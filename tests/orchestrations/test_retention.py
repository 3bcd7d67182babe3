"""The retention timer, run through the real host: it purges only the old finished agent tasks."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrations.retention import DEFAULT_RETENTION_DAYS, retention_days
from tests.hostproc import ROOT, HostProcess
from tests.observability.fake_llm import HOLD_MARKER, FakeLlm

TIMER = "purge_finished_agent_tasks"
DAY_S = 86_400.0


@pytest.mark.parametrize(("value", "days"), [
    (None, DEFAULT_RETENTION_DAYS), ("", DEFAULT_RETENTION_DAYS), ("30", 30.0), ("0.5", 0.5), ("0", 0.0),
    ("-1", DEFAULT_RETENTION_DAYS), ("seven", DEFAULT_RETENTION_DAYS), ("nan", DEFAULT_RETENTION_DAYS),
])
def test_retention_setting(value: str | None, days: float) -> None:
    assert retention_days({} if value is None else {"AGENT_TASK_RETENTION_DAYS": value}) == days


def _start_task(host: HostProcess, kind: str, body: dict[str, Any]) -> str:
    reply = host.request("POST", f"/api/agents/tasks/{kind}", body)
    assert reply.status == 202, reply.body[:300]
    task_id: str = reply.json()["taskId"]
    return task_id


def _task(host: HostProcess, task_id: str) -> tuple[int, dict[str, Any]]:
    reply = host.request("GET", f"/api/agents/tasks/{task_id}/status")
    return reply.status, reply.json() or {}


def _wait_task(host: HostProcess, task_id: str, states: tuple[str, ...], stage: str | None = None) -> None:
    deadline = time.monotonic() + 60
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, doc = _task(host, task_id)
        if doc.get("state") in states and (stage is None or doc.get("stage") == stage):
            return
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {states}/{stage}: {doc}")


def _wait_log(host: HostProcess, text: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = host.log_path.read_text()
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the host log:\n{host.log_path.read_text()[-3000:]}")


def _backdate(data_dir: Path, instance_ids: list[str], days: float) -> None:
    """Make instances look `days` older, in the stopped host's store (the one thing time cannot do fast)."""
    db = sqlite3.connect(data_dir / "durable.sqlite3")
    try:
        with db:
            marks = ",".join("?" for _ in instance_ids)
            changed = db.execute(f"UPDATE instances SET created = created - ? WHERE instance_id IN ({marks})",
                                 [days * DAY_S, *instance_ids]).rowcount
        assert changed == len(instance_ids)
    finally:
        db.close()


def _purged_counts(host: HostProcess) -> dict[str, float]:
    text = host.request("GET", "/metrics").body.decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("ga_instances_purged_total{"):
            labels, value = line.rsplit(" ", 1)
            name = labels.split('orchestration="', 1)[1].split('"', 1)[0]
            counts[name] = float(value)
    return counts


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    fake = FakeLlm(hold_limit_s=120).start()
    yield fake
    fake.stop()


def test_retention_purges_only_old_finished_agent_tasks(tmp_path: Path, llm: FakeLlm) -> None:
    env = {"LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake", "LLM_TIMEOUT_S": "100",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "", "AGENT_TASK_RETENTION_DAYS": "7"}
    data = tmp_path / "data"
    host = HostProcess(ROOT, data, env=env, args=["--log-level", "INFO"])
    player = f"keeper-{uuid.uuid4().hex[:8]}"
    host.start()
    try:
        old_done = _start_task(host, "create", {"key": "C", "budgetMs": 300})
        reply = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/agent_create",
                             {"type": "create", "request": {"key": "Q##", "budgetMs": 300}})
        assert reply.status == 202, reply.body[:300]
        old_failed = reply.json()["id"]
        old_cancelled = _start_task(host, "reharmonize", {"progression": "C Am F G", "budgetMs": 300,
                                                          "notes": HOLD_MARKER})
        _wait_task(host, old_cancelled, ("Running",), "consulting-llm")
        assert host.request("POST", f"/api/agents/tasks/{old_cancelled}/cancel").status == 202
        old_running = _start_task(host, "create", {"key": "G", "budgetMs": 300, "notes": HOLD_MARKER})
        young_done = _start_task(host, "spice-up", {"progression": "Dm7 G7 Cmaj7", "budgetMs": 300})
        for task_id in (old_done, young_done):
            _wait_task(host, task_id, ("Completed",))
        _wait_task(host, old_failed, ("Failed",))
        _wait_task(host, old_cancelled, ("Cancelled",))
        _wait_task(host, old_running, ("Running",), "consulting-llm")
        attempt = {"playerId": player, "success": True, "timeMs": 1500, "attempts": 1, "shapeId": "E-major"}
        assert host.request("POST", "/api/adaptive-ai/record-performance", attempt).status == 200
    finally:
        host.kill9()  # the held LLM call would make a graceful stop wait; everything above is committed
    _backdate(data, [old_done, old_failed, old_cancelled, old_running], days=8)
    host.start()
    try:
        # Nothing purged at start-up (no run_on_startup): the old finished task is still readable.
        assert _task(host, old_done)[0] == 200
        assert host.request("POST", f"/admin/functions/{TIMER}", {"input": ""}).status == 202
        log = _wait_log(host, "retention: purged 2 agent_create, 1 agent_reharmonize finished before")
        for task_id in (old_done, old_failed, old_cancelled):
            assert _task(host, task_id)[0] == 404, task_id
            assert f"instance {task_id}" in log
            gone = host.request("GET", f"/runtime/webhooks/durabletask/instances/{task_id}?showHistory=true")
            assert gone.status == 404
        assert _task(host, young_done)[1]["state"] == "Completed"
        assert _task(host, old_running)[1]["state"] == "Running"
        stats = host.request("GET", f"/api/adaptive-ai/player-stats/{player}")
        assert stats.status == 200 and stats.json()["totalAttempts"] == 1
        assert _purged_counts(host) == {"agent_create": 2.0, "agent_reharmonize": 1.0}
        llm.release()
        _wait_task(host, old_running, ("Completed",))
    finally:
        host.stop()
