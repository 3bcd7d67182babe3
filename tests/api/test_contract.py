"""Every answer of the live app, in the states a fuzzer rarely reaches, matches the OpenAPI document.

A real session is built up (attempts, a performance report), every view is read, the session is
reset; one task of each type runs to completion, one is cancelled, the active list and the event
stream are read. Each answer's status, media type and body are checked against the document.
"""

from __future__ import annotations

import time
from typing import Any

from tests.api.spec import check_error_document, check_reply
from tests.hostproc import HostProcess

PLAYER = "/api/adaptive-ai"
TASKS = "/api/agents/tasks"


def call(host: HostProcess, method: str, path: str, template: str, body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    reply = host.request(method, path, body, raw=raw, headers=headers)
    return reply.status, check_reply(method, template, reply)


def test_player_answers_match_the_document(app_host: HostProcess) -> None:
    player = f"contract-{app_host.port}"
    record = f"{PLAYER}/record-performance"
    for i, shape in enumerate(["Cmaj7-drop2", "F#m7b5", "G/B", "C7(#9)", "Cmaj7-drop2"]):
        status, body = call(app_host, "POST", record, record, {"playerId": player, "success": i % 2 == 0,
                                                               "timeMs": 900.4 + i, "attempts": 1 + i,
                                                               "shapeId": shape})
        assert status == 200 and body["totalAttempts"] == i + 1
    update = f"{PLAYER}/update-performance"
    status, body = call(app_host, "POST", update, update, {"playerId": player, "accuracy": 0.9, "speed": 0.4,
                                                           "consistency": 1, "context": None})
    assert status == 200
    for view in ("player-stats", "difficulty", "recommended-exercise", "session"):
        template = f"{PLAYER}/{view}/{{playerId}}"
        status, body = call(app_host, "GET", f"{PLAYER}/{view}/{player}", template)
        assert status == 200 and body["playerId"] == player
        assert call(app_host, "GET", f"{PLAYER}/{view}/never-seen-{player}", template)[0] == 404
        assert call(app_host, "GET", f"{PLAYER}/{view}/..", template)[0] in (400, 404)
    reset = f"{PLAYER}/reset-session/{{playerId}}"
    assert call(app_host, "POST", f"{PLAYER}/reset-session/{player}", reset)[1]["existed"] is True
    assert call(app_host, "POST", f"{PLAYER}/reset-session/{player}", reset)[1]["existed"] is False
    assert call(app_host, "POST", record, record, raw=b"{not json")[0] == 400
    assert call(app_host, "POST", record, record, raw=b"[]")[0] == 400
    assert call(app_host, "POST", record, record, raw=b"{" + b" " * 70_000 + b"}")[0] == 413
    status, body = call(app_host, "POST", update, update, {"playerId": "a b", "accuracy": 2})
    assert status == 400 and {e["field"] for e in body["details"]} >= {"playerId", "accuracy", "speed"}
    status, body = call(app_host, "POST", record, record, {"playerId": player, "success": True, "timeMs": 5,
                                                           "attempts": 3.0, "shapeId": "C", "tempo": 1})
    assert status == 400 and [e["field"] for e in body["details"]] == ["tempo"]
    assert call(app_host, "POST", record, record, raw=b"")[0] == 400


def test_player_event_stream_answers_match_the_document(app_host: HostProcess) -> None:
    player = f"contract-events-{app_host.port}"
    record = f"{PLAYER}/record-performance"
    call(app_host, "POST", record, record, {"playerId": player, "success": True, "timeMs": 800, "attempts": 3.0,
                                            "shapeId": "C"})
    events = f"{PLAYER}/session/{{playerId}}/events"
    status, text = call(app_host, "GET", f"{PLAYER}/session/{player}/events", events)
    assert status == 200 and "event: difficulty" in text
    status, body = call(app_host, "GET", f"{PLAYER}/session/{player}/events", events,
                        headers={"Last-Event-ID": "nonsense"})
    assert status == 400 and body["details"][0]["field"] == "Last-Event-ID"
    assert call(app_host, "GET", f"{PLAYER}/session/a%40b/events", events)[0] == 400


def test_the_hosts_own_errors_on_app_routes_are_the_error_document(app_host: HostProcess) -> None:
    for method, path, status in (("GET", "/api/adaptive-ai/no-such-route", 404),
                                 ("GET", "/api/no-such-family/x", 404),
                                 ("DELETE", f"{PLAYER}/player-stats/someone", 405),
                                 ("PUT", f"{TASKS}/spice-up", 405)):
        reply = app_host.request(method, path)
        assert reply.status == status, (method, path, reply.body)
        assert reply.headers["Content-Type"].startswith("application/json")
        check_error_document(reply.json())


def wait_finished(host: HostProcess, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = call(host, "GET", f"{TASKS}/{task_id}/status", f"{TASKS}/{{taskId}}/status")
        assert status == 200
        if body["state"] in ("Completed", "Failed", "Cancelled"):
            return dict(body)
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s")


def test_agent_task_answers_match_the_document(app_host: HostProcess) -> None:
    requests = {
        "spice-up": {"progression": "Dm7 G7 | Cmaj7", "style": "jazz", "budgetMs": 50},
        "reharmonize": {"progression": ["C", "Am", "F", "G"], "style": "neo soul", "budgetMs": 50},
        "create": {"key": "D dorian", "skillLevel": "Beginner", "bars": 4, "budgetMs": 50,
                   "referenceArtists": ["Wes Montgomery"]},
    }
    started = {}
    for task, body in requests.items():
        status, accepted = call(app_host, "POST", f"{TASKS}/{task}", f"{TASKS}/{task}", body)
        assert status == 202 and accepted["type"] == task
        started[task] = accepted["taskId"]
    long_status, long_task = call(app_host, "POST", f"{TASKS}/spice-up", f"{TASKS}/spice-up",
                                  {"progression": ["C", "G"], "budgetMs": 60_000})
    assert long_status == 202
    status, page = call(app_host, "GET", f"{TASKS}/active?top=1", f"{TASKS}/active")
    assert status == 200 and len(page["tasks"]) == 1
    if page["continuationToken"]:
        token = page["continuationToken"]
        assert call(app_host, "GET", f"{TASKS}/active?top=1&continuationToken={token}", f"{TASKS}/active")[0] == 200
    events = f"{TASKS}/{{taskId}}/events"
    assert call(app_host, "GET", f"{TASKS}/{long_task['taskId']}/events", events)[0] == 200
    cancel = f"{TASKS}/{{taskId}}/cancel"
    assert call(app_host, "POST", f"{TASKS}/{long_task['taskId']}/cancel", cancel) == (
        202, {"taskId": long_task["taskId"], "state": "Cancelled"})
    assert call(app_host, "POST", f"{TASKS}/{long_task['taskId']}/cancel", cancel)[0] == 409
    for task, task_id in started.items():
        final = wait_finished(app_host, task_id)
        assert final["state"] == "Completed", final
        assert final["type"] == task and final["result"]["progression"]
        assert call(app_host, "GET", f"{TASKS}/{task_id}/events", events, headers={"Last-Event-ID": "final"})[0] == 204
    assert call(app_host, "GET", f"{TASKS}/no-such-task/status", f"{TASKS}/{{taskId}}/status")[0] == 404
    assert call(app_host, "POST", f"{TASKS}/no-such-task/cancel", cancel)[0] == 404
    assert call(app_host, "GET", f"{TASKS}/no-such-task/events", events)[0] == 404
    assert call(app_host, "GET", f"{TASKS}/active?top=0", f"{TASKS}/active")[0] == 400
    # Regressions: "²" passes str.isdigit() but not int() (was 500); "." and ".." task ids were
    # read as path segments by the durable client (was 503).
    assert call(app_host, "GET", f"{TASKS}/active?top=%C2%B2", f"{TASKS}/active")[0] == 400
    for dots in (".", ".."):
        assert call(app_host, "GET", f"{TASKS}/{dots}/status", f"{TASKS}/{{taskId}}/status")[0] == 400
        assert call(app_host, "POST", f"{TASKS}/{dots}/cancel", cancel)[0] == 400
    status, body = call(app_host, "POST", f"{TASKS}/create", f"{TASKS}/create", {"key": "H major", "bars": 99})
    assert status == 400 and {e["field"] for e in body["details"]} == {"key", "bars"}
