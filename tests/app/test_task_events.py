"""Server-Sent Events of agent-task progress, read the way EventSource reads them (with reconnects)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.hostproc import HostProcess


def parse_events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            events.append({"id": fields.get("id"), "event": fields.get("event", "message"),
                           "data": json.loads(fields["data"])})
    return events


def follow(host: HostProcess, task_id: str, timeout: float = 60.0) -> tuple[list[dict[str, Any]], int]:
    """Reconnect with Last-Event-ID until the server answers 204; returns the events and requests made."""
    events: list[dict[str, Any]] = []
    last = ""
    requests = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        headers = {"Last-Event-ID": last} if last else {}
        reply = host.request("GET", f"/api/agents/tasks/{task_id}/events", headers=headers)
        requests += 1
        if reply.status == 204:
            return events, requests
        assert reply.status == 200, reply.body
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        for item in parse_events(reply.body.decode()):
            events.append(item)
            last = item["id"]
    raise AssertionError(f"stream of {task_id} did not end: {events[-3:]}")


def start_task(host: HostProcess, budget_ms: int) -> str:
    body = {"progression": "Dm7 G7 Cmaj7 A7 Dm7 G7 Cmaj7 Cmaj7", "key": "C", "style": "jazz", "budgetMs": budget_ms}
    reply = host.request("POST", "/api/agents/tasks/spice-up", body)
    assert reply.status == 202, reply.body
    return str(reply.json()["taskId"])


def test_stream_pushes_increasing_progress_then_the_final_state(app_host: HostProcess) -> None:
    task_id = start_task(app_host, 1500)
    events, requests = follow(app_host, task_id)
    progress = [e["data"]["progress"] for e in events if e["event"] == "progress"]
    assert len(progress) >= 2 and progress == sorted(progress) and len(set(progress)) == len(progress)
    final = events[-1]
    assert final["event"] == "end" and final["id"] == "final"
    assert final["data"]["state"] == "Completed" and final["data"]["progress"] == 1.0
    assert final["data"]["result"]["progression"]
    assert requests <= len(events) + 5  # woken by changes, not busy polling


def test_cancelled_task_stream_ends_with_cancelled(app_host: HostProcess) -> None:
    task_id = start_task(app_host, 20000)
    first = app_host.request("GET", f"/api/agents/tasks/{task_id}/events")
    assert first.status == 200 and parse_events(first.body.decode())
    assert app_host.request("POST", f"/api/agents/tasks/{task_id}/cancel").status == 202
    events, _ = follow(app_host, task_id)
    assert events[-1]["event"] == "end" and events[-1]["data"]["state"] == "Cancelled"


def test_unknown_and_invalid_task_ids(app_host: HostProcess) -> None:
    reply = app_host.request("GET", "/api/agents/tasks/no-such-task/events")
    assert reply.status == 404 and reply.json()["error"]
    reply = app_host.request("GET", "/api/agents/tasks/bad%20id/events")
    assert reply.status == 400 and reply.json()["error"]
