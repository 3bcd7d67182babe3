"""HTTP routes of the agent tasks: start spice-up / reharmonize / create, read a status, cancel, list active.

Every start request is validated in full before any durable call, so a rejected request (400 with
`{error, details}` naming each bad field) creates no instance. Tasks are durable orchestrations
(orchestrations/agent_tasks.py); their ids are the instance ids. Runtime statuses map to task
states: Pending -> Pending, Running/ContinuedAsNew/Suspended -> Running, Completed -> Completed,
Failed -> Failed, Terminated/Canceled -> Cancelled. A finished task is never cancelled (409).

Note: no `from __future__ import annotations` here, because the Functions worker inspects the
parameter annotations of the functions at runtime.
"""

import asyncio
import base64
import binascii
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

import telemetry
from harmony.errors import RequestValidationError
from harmony.tasks import validate_request
from orchestrations.agent_admission import ADMISSION_ENTITY, ADMISSION_KEY
from orchestrations.agent_tasks import AGENT_ORCHESTRATORS, ORCHESTRATOR_BY_TASK, TASK_BY_ORCHESTRATOR
from routes.durable_calls import call_entity
from routes.openapi import unknown_fields
from routes.responses import (
    RequestError,
    backend_error,
    error_response,
    field_error,
    from_request_error,
    invalid_request,
    json_response,
    not_found,
    read_json_object,
)

bp = df.Blueprint()
logger = logging.getLogger(__name__)

TASK_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DEFAULT_TOP, MAX_TOP = 20, 100
CANCEL_REASON = "cancelled by user"
CANCEL_CONFIRM_POLLS, CANCEL_CONFIRM_INTERVAL_S = 20, 0.1
_RS = df.OrchestrationRuntimeStatus
STATE_BY_RUNTIME = {
    _RS.Pending: "Pending", _RS.Running: "Running", _RS.ContinuedAsNew: "Running", _RS.Suspended: "Running",
    _RS.Completed: "Completed", _RS.Failed: "Failed", _RS.Terminated: "Cancelled", _RS.Canceled: "Cancelled",
}
FINISHED_STATES = frozenset({"Completed", "Failed", "Cancelled"})
REQUEST_SCHEMA_BY_TASK = {"spice-up": "SpiceUpRequest", "reharmonize": "ReharmonizeRequest", "create": "CreateRequest"}


class _Unavailable(Exception):
    """The durable backend could not be reached or answered unexpectedly."""


def _absolute(req: func.HttpRequest, route: str) -> str:
    """`route` (below the route prefix) as an absolute URL on the host that served `req`."""
    parts = urlsplit(req.url)
    marker = parts.path.find("/agents/tasks")
    prefix = parts.path[:marker] if marker >= 0 else "/api"
    return f"{parts.scheme}://{parts.netloc}{prefix}/{route}"


def _task_id(req: func.HttpRequest) -> str:
    task_id = req.route_params.get("taskId") or ""
    # An id of dots only never names a task, and in a URL it would be read as a path segment ("." or "..").
    if not TASK_ID_RE.match(task_id) or not task_id.strip("."):
        raise RequestError.about(400, "invalid taskId", "taskId", "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return task_id


async def _status(client: df.DurableOrchestrationClient, task_id: str) -> DurableOrchestrationStatus | None:
    """The status of an agent task, None if there is no such instance or it is not an agent task."""
    try:
        status = await client.get_status(task_id)
    except aiohttp.ClientError as exc:
        raise _Unavailable(f"durable backend unreachable: {exc}") from exc
    except Exception as exc:  # the SDK raises a bare Exception for unexpected status codes
        raise _Unavailable(str(exc)) from exc
    if not status or not status.instance_id or status.runtime_status is None:
        return None
    if status.name not in AGENT_ORCHESTRATORS:
        return None
    return status


def _custom(status: DurableOrchestrationStatus) -> dict[str, Any]:
    custom = status.custom_status
    if isinstance(custom, str):
        try:
            custom = json.loads(custom)
        except ValueError:
            return {}
    return custom if isinstance(custom, dict) else {}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Azure and funchost wrap an orchestrator's exception as "Orchestrator function 'x' failed: <message>".
_HOST_PREFIX = re.compile(r"^Orchestrator function '[^']*' failed: ")


def _view(status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The task document of GET .../status."""
    state = STATE_BY_RUNTIME.get(status.runtime_status, "Running")
    custom = _custom(status)
    progress = float(custom.get("progress") or 0.0)
    stage = str(custom.get("stage") or "queued")
    message = str(custom.get("message") or ("waiting to start" if state == "Pending" else "running"))
    result: Any = None
    error: str | None = None
    if state == "Completed":
        progress, stage, message = 1.0, "completed", "done"
        result = status.output
    elif state == "Failed":
        stage, message = "failed", "the task failed"
        output = status.output
        error = output if isinstance(output, str) and output else (json.dumps(output) if output else "the task failed")
        error = _HOST_PREFIX.sub("", error)  # the app's own words, not the host's wrapper
    elif state == "Cancelled":
        stage, message = "cancelled", CANCEL_REASON
    return {
        "taskId": status.instance_id,
        "type": TASK_BY_ORCHESTRATOR.get(status.name or "", "unknown"),
        "state": state,
        "progress": max(0.0, min(1.0, progress)),
        "stage": stage,
        "statusMessage": message,
        "result": result,
        "errorMessage": error,
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
        **({"queuePosition": int(custom["queuePosition"])}
           if state in ("Pending", "Running") and stage == "queued" and custom.get("queuePosition") else {}),
        **({"llm": custom["llm"]} if isinstance(custom.get("llm"), dict) else {}),  # only with an LLM configured
    }


async def _start(req: func.HttpRequest, client: df.DurableOrchestrationClient, task: str) -> func.HttpResponse:
    try:
        body = read_json_object(req)
        unknown = unknown_fields(REQUEST_SCHEMA_BY_TASK[task], body)
        try:
            request = validate_request(task, body)
        except RequestValidationError as exc:
            raise invalid_request(exc.to_json() + unknown) from None
        if unknown:
            raise invalid_request(unknown)
    except RequestError as exc:
        return from_request_error(exc)
    try:
        instance_id = uuid.uuid4().hex
        admission = await call_entity(client, ADMISSION_ENTITY, ADMISSION_KEY, "enqueue",
                                      {"id": instance_id, "at": time.time()})
        if isinstance(admission, dict) and admission.get("full"):
            return _queue_full(task, admission)
        instance_id = await client.start_new(ORCHESTRATOR_BY_TASK[task], instance_id,
                                             {"type": task, "request": body})
    except Exception as exc:  # aiohttp errors, EntityCallError and the SDK's bare Exception alike
        logger.warning("agent %s: could not start the orchestration: %s", task, exc)
        return backend_error(503, "durable backend unavailable", exc)
    status_url = _absolute(req, f"agents/tasks/{instance_id}/status")
    logger.info("agent task %s: started %s (seed %s)", instance_id, task, request["seed"])
    telemetry.tag_span({"ga.task_id": instance_id, "ga.task_type": task})
    payload = {
        **client.create_http_management_payload(instance_id),
        "taskId": instance_id,
        "type": task,
        "message": f"{task} task accepted; poll statusUrl for progress and the result",
        "statusUrl": status_url,
    }
    return json_response(payload, 202, headers={"Location": status_url})


def _queue_full(task: str, admission: dict[str, Any]) -> func.HttpResponse:
    """429 with Retry-After: the admission queue is full, so the task is refused before it exists."""
    retry = int(admission.get("retryAfter") or 5)
    logger.info("agent %s: refused, %s tasks already queued", task, admission.get("queued"))
    return json_response({"error": "too many agent tasks", "details": (
        f"{admission.get('queued')} tasks are already waiting to run; retry in {retry} s")}, 429,
        headers={"Retry-After": str(retry)})


@bp.route(route="agents/tasks/spice-up", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def agents_spice_up(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a spice-up task: richer chords for a style, cadence preserved by default."""
    return await _start(req, client, "spice-up")


@bp.route(route="agents/tasks/reharmonize", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def agents_reharmonize(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a reharmonize task: first and last chords locked by default."""
    return await _start(req, client, "reharmonize")


@bp.route(route="agents/tasks/create", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def agents_create(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a create task: a new progression from key, style, mood and skill level."""
    return await _start(req, client, "create")


@bp.route(route="agents/tasks/{taskId}/status", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def agents_task_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The state, progress and (when completed) result of a task; 404 for an unknown id."""
    try:
        task_id = _task_id(req)
        status = await _status(client, task_id)
    except RequestError as exc:
        return from_request_error(exc)
    except _Unavailable as exc:
        logger.warning("agent task status: %s", exc)
        return backend_error(503, "durable backend unavailable", exc)
    if status is None:
        return not_found("task not found", "taskId", task_id)
    return json_response(_view(status))


@bp.route(route="agents/tasks/{taskId}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def agents_cancel_task(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Cancel a pending or running task (202); 404 if unknown, 409 if it already finished."""
    try:
        task_id = _task_id(req)
        status = await _status(client, task_id)
        if status is None:
            return not_found("task not found", "taskId", task_id)
        state = STATE_BY_RUNTIME.get(status.runtime_status, "Running")
        if state in FINISHED_STATES:
            return _already_finished(task_id, state)
        telemetry.tag_span({"ga.task_id": task_id})
        cancel_started = time.perf_counter()
        try:
            await client.terminate(task_id, CANCEL_REASON)
        except Exception as exc:  # the SDK raises a bare Exception for 404 and unexpected codes
            logger.info("agent task %s: terminate refused: %s", task_id, exc)
        final = await _settled(client, task_id)
        await client.signal_entity(df.EntityId(ADMISSION_ENTITY, ADMISSION_KEY), "release",
                                   {"id": task_id, "at": time.time()})  # a terminated task frees its slot
    except RequestError as exc:
        return from_request_error(exc)
    except _Unavailable as exc:
        logger.warning("agent task cancel: %s", exc)
        return backend_error(503, "durable backend unavailable", exc)
    final_state = STATE_BY_RUNTIME.get(final.runtime_status, "Running") if final else "Cancelled"
    if final_state in ("Completed", "Failed"):
        # It finished before the terminate reached it: a finished task is never turned into Cancelled.
        return _already_finished(task_id, final_state)
    logger.info("agent task %s: cancelled", task_id)
    telemetry.task_cancelled(task_id, TASK_BY_ORCHESTRATOR.get(status.name or "", "unknown"),
                             time.perf_counter() - cancel_started, _age_s(status))
    return json_response({"taskId": task_id, "state": "Cancelled"}, 202)


def _already_finished(task_id: str, state: str) -> func.HttpResponse:
    """409: a finished task cannot be cancelled; `allowed` lists the states in which it can."""
    return error_response(409, f"task already {state.lower()}", [
        field_error("taskId", f"task {task_id!r} is {state}; only Pending or Running tasks can be cancelled",
                    ["Pending", "Running"])])


def _age_s(status: DurableOrchestrationStatus) -> float | None:
    created = status.created_time
    if created is None:
        return None
    return (datetime.now(UTC) - (created if created.tzinfo else created.replace(tzinfo=UTC))).total_seconds()


async def _settled(client: df.DurableOrchestrationClient, task_id: str) -> DurableOrchestrationStatus | None:
    """The status after a terminate, polled briefly until it is final (terminate is asynchronous)."""
    status = None
    for _ in range(CANCEL_CONFIRM_POLLS):
        status = await _status(client, task_id)
        if status is None or STATE_BY_RUNTIME.get(status.runtime_status) in FINISHED_STATES:
            return status
        await asyncio.sleep(CANCEL_CONFIRM_INTERVAL_S)
    return status


def _encode_token(created: str, task_id: str) -> str:
    raw = json.dumps([created, task_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created, task_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise RequestError.about(400, "invalid continuationToken", "continuationToken",
                                 "use the token of the previous page") from None
    if not isinstance(created, str) or not isinstance(task_id, str):
        raise RequestError.about(400, "invalid continuationToken", "continuationToken",
                                 "use the token of the previous page")
    return created, task_id


def _top(req: func.HttpRequest) -> int:
    text = req.params.get("top")
    if text is None or text == "":
        return DEFAULT_TOP
    # isdigit() alone also accepts digits int() cannot read, such as "²".
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_TOP:
        raise RequestError.about(400, "invalid top", "top", f"must be an integer between 1 and {MAX_TOP}")
    return int(text)


@bp.route(route="agents/tasks/active", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def agents_active_tasks(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Pending and running agent tasks, oldest first, `top` per page with an opaque continuationToken."""
    try:
        top = _top(req)
        token = req.params.get("continuationToken")
        after = _decode_token(token) if token else None
    except RequestError as exc:
        return from_request_error(exc)
    try:
        statuses = await client.get_status_by(runtime_status=[_RS.Running, _RS.Pending])
    except Exception as exc:  # aiohttp errors and the SDK's bare Exception alike
        logger.warning("agent active tasks: %s", exc)
        return backend_error(503, "durable backend unavailable", exc)
    rows = sorted(((_iso(s.created_time) or "", s.instance_id or "", s) for s in statuses
                   if s.name in AGENT_ORCHESTRATORS and s.instance_id
                   and s.runtime_status in (_RS.Running, _RS.Pending)), key=lambda row: (row[0], row[1]))
    if after is not None:
        rows = [row for row in rows if (row[0], row[1]) > after]
    page = rows[:top]
    tasks = [{"taskId": task_id, "type": TASK_BY_ORCHESTRATOR.get(status.name or "", "unknown"),
              "state": STATE_BY_RUNTIME.get(status.runtime_status, "Running"),
              "progress": max(0.0, min(1.0, float(_custom(status).get("progress") or 0.0))),
              "createdTime": created or None}
             for created, task_id, status in page]
    next_token = _encode_token(page[-1][0], page[-1][1]) if len(rows) > top else None
    return json_response({"tasks": tasks, "continuationToken": next_token})
