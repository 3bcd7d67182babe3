"""Live progress of an agent task as Server-Sent Events (`GET /api/agents/tasks/{taskId}/events`).

The stream is resumable, the way EventSource works (the machinery is `routes.sse`): each response
carries the events the client has not seen yet (ids follow the task's state and never-decreasing
progress), then ends; the client reconnects at once (`retry`) with `Last-Event-ID`, and the next
response waits until the task's progress changes. The final event (`event: end`, id `final`) carries
the finished task (Completed with its result, Failed with its error, or Cancelled); a reconnect after
it gets 204 No Content, which tells EventSource to stop. On Azure the wait polls the status, while
on funchost it is woken by the host the moment the status changes (through the optional `hostext`
adapter).
"""

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

import hostext
from routes import sse
from routes.agents import FINISHED_STATES, _status, _task_id, _Unavailable, _view
from routes.responses import RequestError, backend_error, from_request_error, not_found

bp = df.Blueprint()

FINAL_ID = "final"
POLL_S = 0.1


def _event_id(view: dict[str, Any]) -> str:
    return FINAL_ID if view["state"] in FINISHED_STATES else f"{view['state']}:{view['progress']:.4f}:{view['stage']}"


def _frame(view: dict[str, Any]) -> sse.Frame:
    final = view["state"] in FINISHED_STATES
    data = view if final else {k: v for k, v in view.items() if k != "result"}
    return sse.Frame("end" if final else "progress", data, _event_id(view))


def _fetcher(client: df.DurableOrchestrationClient, task_id: str) -> sse.Fetch:
    """`fetch(seen)`: the task's current frame when its id differs from `seen`, [] if not, None if gone."""

    async def fetch(seen: str) -> list[sse.Frame] | None:
        status = await _status(client, task_id)
        if status is None:
            return None
        view = _view(status)
        return [] if _event_id(view) == seen else [_frame(view)]

    return fetch


def _waker(task_id: str) -> sse.Wake:
    async def wake(timeout_s: float) -> None:
        try:
            await hostext.wait_for_status_change(task_id, timeout_s)
        except hostext.DirectCallUnavailable:
            await asyncio.sleep(min(timeout_s, POLL_S))

    return wake


@bp.route(route="agents/tasks/{taskId}/events", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def agents_task_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        task_id = _task_id(req)
    except RequestError as exc:
        return from_request_error(exc)
    seen = sse.last_event_id(req)
    if seen == FINAL_ID:
        return sse.no_more_events()
    fetch = _fetcher(client, task_id)
    try:
        first = await fetch(seen)
        if first is None:
            return not_found("task not found", "taskId", task_id)
        return await sse.respond(seen, first, fetch, _waker(task_id), sse.wait_budget_s("AGENT_EVENTS_WAIT_S"))
    except _Unavailable as exc:
        return backend_error(503, "durable backend unavailable", exc)
