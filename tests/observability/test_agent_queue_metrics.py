"""The admission queue's metrics on a real funchost running the project app with one slot: a task held
at the (fake) LLM keeps a second one queued, `/metrics` shows the queue and then the queue wait, and a
real Prometheus evaluating the generated rules (a 1 s threshold and a 2 s `for:` for the test) fires
AgentTaskQueuedTooLong while the task waits and resolves it once the task got its slot."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.alert_rules import Thresholds, render
from tests.hostproc import ROOT, HostProcess, wait_until
from tests.observability.exposition import Exposition
from tests.observability.fake_llm import HOLD_MARKER, FakeLlm
from tests.observability.promserver import PrometheusProcess, prometheus_binary

TEST_RULES = Thresholds(task_queue_wait_s=1, hold="2s", window="5s")
ALERT = "AgentTaskQueuedTooLong"


Stack = tuple[HostProcess, FakeLlm, PrometheusProcess]


@pytest.fixture()
def one_slot(tmp_path: Path) -> Iterator[Stack]:
    prometheus_binary()
    llm = FakeLlm(hold_limit_s=80).start()  # the task's deadline is 90 s (budget, grace, LLM timeout)
    host = HostProcess(ROOT, tmp_path / "host", env={
        "LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake", "LLM_TIMEOUT_S": "60", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "FUNCHOST_TELEMETRY": "1", "AGENT_TASKS_MAX_RUNNING": "1"})
    prometheus = PrometheusProcess(f"127.0.0.1:{host.port}", tmp_path / "prometheus", rules=render(TEST_RULES))
    try:
        host.start()
        prometheus.start()
        prometheus.wait_for('up{job="funchost"} == 1')
        yield host, llm, prometheus
    finally:
        llm.stop()
        prometheus.stop()
        host.stop()


def _firing(prometheus: PrometheusProcess) -> list[dict[str, Any]]:
    return [a for a in prometheus.alerts(ALERT) if a["state"] == "firing"]


_until = functools.partial(wait_until, timeout=40.0, interval=0.25)  # alerts and state settle slowly


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


def test_a_queued_task_shows_in_the_queue_gauges_pages_then_shows_in_the_queue_wait(one_slot: Stack) -> None:
    host, llm, prometheus = one_slot
    assert not prometheus.alerts(ALERT)
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
    [alert] = _until(lambda: _firing(prometheus), f"{ALERT} did not fire while a task waited")
    assert alert["labels"] == {"alertname": ALERT, "job": "funchost", "instance": f"127.0.0.1:{host.port}",
                               "severity": "warning"}
    assert _wait(host, waiting, lambda s: True).get("queuePosition") == 1  # still waiting: nothing was admitted
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
    _until(lambda: not prometheus.alerts(ALERT), f"{ALERT} did not resolve once the queue was empty")
