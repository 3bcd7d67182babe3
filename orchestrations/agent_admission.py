"""Admission control for agent tasks: at most N run at once, the rest wait in order, a full queue refuses.

One durable entity (`agent_admission@all`) holds the running task ids and the queue. The start route
asks `enqueue` before starting the orchestration (a full queue answers 429 up front, so no task times
out waiting); the orchestration asks `poll` (with a durable timer between asks) until it is admitted,
showing `stage: queued` and its `queuePosition`, and its budget counts from admission; it signals
`release` when it ends, and the cancel route does so after a terminate. Entries not heard from for a
long time (a task that vanished without releasing) are dropped so a slot is never lost for good.

Limits: AGENT_TASKS_MAX_RUNNING (default: host.json `maxConcurrentActivityFunctions`, else 8) and
AGENT_TASKS_MAX_QUEUED (default 100). Times come from the callers (`at`, epoch seconds), so the entity
itself reads no clock.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import azure.durable_functions as df

import telemetry

bp = df.Blueprint()

ADMISSION_ENTITY = "agent_admission"
ADMISSION_KEY = "all"
DEFAULT_MAX_RUNNING = 8
DEFAULT_MAX_QUEUED = 100
QUEUED_STALE_S = 120.0  # a queued task polls every second; silent this long, it is gone
RUNNING_STALE_S = 3600.0  # longer than any task's deadline
RETRY_AFTER_S = 5


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def _host_json_limit() -> int:
    try:
        host = json.loads((Path(__file__).resolve().parents[1] / "host.json").read_text())
        value = host["extensions"]["durableTask"]["maxConcurrentActivityFunctions"]
        return int(value) if int(value) > 0 else DEFAULT_MAX_RUNNING
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MAX_RUNNING


def limits() -> tuple[int, int]:
    """(max running, max queued) from the app settings, then host.json."""
    return (_setting("AGENT_TASKS_MAX_RUNNING", _host_json_limit()),
            _setting("AGENT_TASKS_MAX_QUEUED", DEFAULT_MAX_QUEUED))


def _drop_stale(state: dict[str, Any], at: float) -> None:
    state["running"] = {k: v for k, v in state["running"].items() if at - v < RUNNING_STALE_S}
    state["queue"] = [entry for entry in state["queue"] if at - entry[1] < QUEUED_STALE_S]


def _promote(state: dict[str, Any], at: float, max_running: int) -> None:
    while state["queue"] and len(state["running"]) < max_running:
        task_id, _ = state["queue"].pop(0)
        state["running"][task_id] = at


def _answer(state: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    if task_id in state["running"]:
        return {"admitted": True}
    for position, entry in enumerate(state["queue"], start=1):
        if entry[0] == task_id:
            return {"admitted": False, "queuePosition": position}
    return None


def admit(state: dict[str, Any], operation: str, task_id: str, at: float,
          max_running: int, max_queued: int) -> dict[str, Any]:
    """Apply one operation to the admission state (mutated in place) and return its answer."""
    _drop_stale(state, at)
    if operation == "release":
        state["running"].pop(task_id, None)
        state["queue"] = [entry for entry in state["queue"] if entry[0] != task_id]
        _promote(state, at, max_running)
        return {"released": True}
    _promote(state, at, max_running)
    known = _answer(state, task_id)
    if known is not None:
        if not known["admitted"]:  # a queued task that asks is alive: refresh its entry
            state["queue"][known["queuePosition"] - 1][1] = at
        return known
    if operation == "enqueue" and len(state["queue"]) >= max_queued:
        wait = RETRY_AFTER_S * math.ceil(len(state["queue"]) / max(max_running, 1))
        return {"full": True, "retryAfter": min(wait, 120), "queued": len(state["queue"])}
    state["queue"].append([task_id, at])
    _promote(state, at, max_running)
    answer = _answer(state, task_id)
    return answer if answer is not None else {"admitted": True}


def _oldest_joined(state: dict[str, Any], at: float) -> float | None:
    """Keep when each queued task joined the queue (`state["joined"]`; a queue entry's own time is when
    it last asked) and return the earliest, for the queue metrics; None when nobody waits (and no
    `joined` key then, so an idle entity's state is just its running set and queue)."""
    joined = state.pop("joined", None) or {}
    if not state["queue"]:
        return None
    state["joined"] = {entry[0]: joined.get(entry[0], at) for entry in state["queue"]}
    return min(state["joined"].values())


@bp.entity_trigger(context_name="context", entity_name=ADMISSION_ENTITY)
def agent_admission(context: df.DurableEntityContext) -> None:
    """Operations enqueue / poll / release, each with input {"id": task id, "at": epoch seconds}."""
    state = context.get_state(lambda: {"running": {}, "queue": []})
    payload = context.get_input() or {}
    max_running, max_queued = limits()
    answer = admit(state, context.operation_name or "", str(payload.get("id")), float(payload.get("at") or 0.0),
                   max_running, max_queued)
    # Metrics hook: entity operations run once per batch (not replayed), so this reports once per operation.
    telemetry.admission_queue(len(state["queue"]), _oldest_joined(state, float(payload.get("at") or 0.0)))
    context.set_state(state)
    context.set_result(answer)
