"""Live progress of an agent task as Server-Sent Events (`GET /api/agents/tasks/{taskId}/events`).

The stream is resumable, the way EventSource works: each response carries the events the client
has not seen yet (ids follow the task's state and never-decreasing progress), then ends; the
client reconnects at once (`retry`) with `Last-Event-ID`, and the next response waits until the
task's progress changes. The final event (`event: end`, id `final`) carries the finished task
(Completed with its result, Failed with its error, or Cancelled); a reconnect after it gets
204 No Content, which tells EventSource to stop. This needs no HTTP streaming from the Functions
host, so the same code runs on Azure; there the wait polls the status, while on funchost it is
woken by the host the moment the status changes (through the optional `hostext` adapter).
"""

import asyncio
import json
import os
import time
from typing import Any

import azure.durable_functions as df
import azure.functions as func

import hostext
from routes.agents import FINISHED_STATES, _status, _task_id, _Unavailable, _view
from routes.responses import RequestError, backend_error, from_request_error, not_found

bp = df.Blueprint()

FINAL_ID = "final"
RETRY_MS = 100
POLL_S = 0.1


def _wait_s() -> float:
    try:
        return max(0.5, min(55.0, float(os.environ.get("AGENT_EVENTS_WAIT_S", "20"))))
    except ValueError:
        return 20.0


def _event_id(view: dict[str, Any]) -> str:
    return FINAL_ID if view["state"] in FINISHED_STATES else f"{view['state']}:{view['progress']:.4f}:{view['stage']}"


def _frame(view: dict[str, Any]) -> str:
    final = view["state"] in FINISHED_STATES
    data = view if final else {k: v for k, v in view.items() if k != "result"}
    name = "end" if final else "progress"
    return f"retry: {RETRY_MS}\nid: {_event_id(view)}\nevent: {name}\ndata: {json.dumps(data)}\n\n"


def _stream(body: str) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=200, mimetype="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _wait(client: df.DurableOrchestrationClient, task_id: str, seen: str, budget_s: float) -> Any:
    """The task's view once its event id differs from `seen`, or None when `budget_s` runs out."""
    deadline = time.monotonic() + budget_s
    while True:
        status = await _status(client, task_id)
        if status is None:
            return None
        view = _view(status)
        if _event_id(view) != seen:
            return view
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            await hostext.wait_for_status_change(task_id, min(left, 5.0))
        except hostext.DirectCallUnavailable:
            await asyncio.sleep(min(left, POLL_S))


@bp.route(route="agents/tasks/{taskId}/events", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def agents_task_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        task_id = _task_id(req)
    except RequestError as exc:
        return from_request_error(exc)
    seen = req.headers.get("Last-Event-ID") or req.params.get("lastEventId") or ""
    if seen == FINAL_ID:
        return func.HttpResponse(status_code=204)
    try:
        status = await _status(client, task_id)
        if status is None:
            return not_found("task not found", "taskId", task_id)
        view = _view(status)
        if seen and _event_id(view) == seen:
            changed = await _wait(client, task_id, seen, _wait_s())
            if changed is None:
                return _stream(f"retry: {RETRY_MS}\n: no change yet, reconnect\n\n")
            view = changed
    except _Unavailable as exc:
        return backend_error(503, "durable backend unavailable", exc)
    return _stream(_frame(view))
