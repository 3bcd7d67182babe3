"""A minimal in-process driver for a registered Durable orchestrator, using the real Python SDK.

It plays the part of the Durable extension for one instance: runs the orchestrator handle on a history
JSON, executes each newly scheduled activity in-process (sync or async), appends TaskScheduled /
TaskCompleted (or TaskFailed) events with an advancing clock, records timers and the custom status
after every episode, and stops when the orchestrator is done. It covers what the agent orchestrations
use (activities with retry, a timer raced by task_any, custom status, calls and signals to the
agent-admission and LLM breaker entities, answered by their real `admit` / `step` logic), not the whole
Durable protocol.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from entities.llm_breaker import breaker_settings, new_state, step
from orchestrations.agent_admission import admit, limits

CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CREATE_TIMER, CALL_ENTITY, SIGNAL_ENTITY = 0, 1, 5, 7, 9
EVENT_SENT, EVENT_RAISED = 14, 15
NEVER = object()  # an activity_override result: the activity never completes (so a timer can win)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def functions_of(blueprint: df.Blueprint) -> dict[str, Callable[..., Any]]:
    """name -> user function of every function registered on `blueprint`."""
    return {fb._function.get_function_name(): fb._function.get_user_function()
            for fb in blueprint._function_builders}


@dataclass
class ReplayRun:
    """What happened: final output/error, custom status after each episode, activities and timers."""

    done: bool = False
    output: Any = None
    error: str | None = None
    statuses: list[Any] = field(default_factory=list)
    activities: list[str] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    last_actions: list[dict[str, Any]] = field(default_factory=list)
    episodes: int = 0
    entity_ops: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (entity, operation, input, answer)


def replay(blueprint: df.Blueprint, orchestrator: str, orchestration_input: Any, *,
           clock_step: timedelta = timedelta(milliseconds=200),
           activity_override: Callable[[str, Any], Any] | None = None,
           max_episodes: int = 400) -> ReplayRun:
    """Run `orchestrator` to completion; `activity_override(name, input)` may replace an activity."""
    functions = functions_of(blueprint)
    handle = functions[orchestrator]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    encoded_input = json.dumps(orchestration_input)
    history: list[dict[str, Any]] = [
        {"EventId": -1, "EventType": 12, "IsPlayed": False, "Timestamp": _ts(now)},
        {"EventId": -1, "EventType": 0, "Input": encoded_input, "IsPlayed": False, "Name": orchestrator,
         "OrchestrationInstance": {"ExecutionId": "exec-1", "InstanceId": "replay-1"},
         "Timestamp": _ts(now), "Version": ""},
    ]
    run = ReplayRun()
    scheduled = 0
    pending_timers: list[tuple[int, str]] = []
    admission: dict[str, Any] = {"running": {}, "queue": []}
    while run.episodes < max_episodes:
        run.episodes += 1
        context = {"history": history, "instanceId": "replay-1", "isReplaying": False,
                   "parentInstanceId": None, "input": encoded_input}
        state = _execute(handle, context)
        run.statuses.append(state.get("customStatus"))
        run.last_actions = [action for group in state.get("actions") or [] for action in group]
        if state.get("isDone") or state.get("error"):
            run.done = bool(state.get("isDone"))
            run.output = state.get("output")
            run.error = state.get("error")
            return run
        actions = [action for group in state.get("actions") or [] for action in group]
        new_actions = actions[scheduled:]
        history.append({"EventId": -1, "EventType": 13, "IsPlayed": False, "Timestamp": _ts(now)})
        if not new_actions or any(a["actionType"] not in (CALL_ENTITY, SIGNAL_ENTITY) for a in new_actions):
            now += clock_step  # entity answers take no time on this clock
        history.append({"EventId": -1, "EventType": 12, "IsPlayed": False, "Timestamp": _ts(now)})
        if not new_actions:
            if not pending_timers:
                raise RuntimeError("orchestrator is waiting on nothing the driver can complete")
            timer_id, fire_at = pending_timers.pop(0)
            history.append({"EventId": -1, "EventType": 11, "FireAt": fire_at, "IsPlayed": False,
                            "TimerId": timer_id, "Timestamp": _ts(now)})
            continue
        for action in new_actions:
            sequence = scheduled
            scheduled += 1
            if action["actionType"] == CREATE_TIMER:
                run.timers.append(action)
                pending_timers.append((sequence, action["fireAt"]))
                history.append({"EventId": sequence, "EventType": 10, "FireAt": action["fireAt"],
                                "IsPlayed": False, "Timestamp": _ts(now)})
                continue
            if action["actionType"] in (CALL_ENTITY, SIGNAL_ENTITY):
                run.entity_ops.append(_entity(action, sequence, now, history, admission))
                continue
            if action["actionType"] not in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
                raise RuntimeError(f"driver cannot run action {action}")
            name = action["functionName"]
            run.activities.append(name)
            history.append({"EventId": sequence, "EventType": 4, "Input": action.get("input"),
                            "IsPlayed": False, "Name": name, "Timestamp": _ts(now), "Version": ""})
            payload = json.loads(action["input"]) if action.get("input") is not None else None
            try:
                result = _invoke(functions[name], payload, name, activity_override)
                if result is NEVER:
                    continue
                history.append({"EventId": -1, "EventType": 5, "IsPlayed": False,
                                "Result": json.dumps(result), "TaskScheduledId": sequence, "Timestamp": _ts(now)})
            except Exception as exc:
                history.append({"EventId": -1, "EventType": 6, "IsPlayed": False, "Details": "",
                                "Reason": f"Activity function '{name}' failed: {exc}",
                                "TaskScheduledId": sequence, "Timestamp": _ts(now)})
    raise RuntimeError(f"orchestrator did not finish within {max_episodes} episodes")


def _entity(action: dict[str, Any], sequence: int, now: datetime, history: list[dict[str, Any]],
            admission: dict[str, Any]) -> tuple[str, str, Any, Any]:
    """A call or signal to the admission or breaker entity: EventSent, and for a call the EventRaised answer.
    Returns (entity, operation, input, answer)."""
    if action["instanceId"] not in ("@agent_admission@all", "@llm_breaker@default"):
        raise RuntimeError(f"driver cannot run entity action {action}")
    request_id = f"request-{sequence}"
    history.append({"EventId": sequence, "EventType": EVENT_SENT, "InstanceId": action["instanceId"], "Name": "op",
                    "Input": json.dumps({"op": action["operation"], "input": action.get("input"), "id": request_id}),
                    "IsPlayed": False, "Timestamp": _ts(now)})
    payload = json.loads(action.get("input") or "{}")
    if action["instanceId"] == "@llm_breaker@default":
        breaker = admission.setdefault("llm_breaker", new_state())
        answer = step(breaker, action["operation"], payload, breaker_settings())
    else:
        answer = admit(admission, action["operation"], str(payload.get("id")), float(payload.get("at") or 0.0),
                       *limits())
    if action["actionType"] == CALL_ENTITY:
        history.append({"EventId": -1, "EventType": EVENT_RAISED, "Name": request_id, "IsPlayed": False,
                        "Input": json.dumps({"result": json.dumps(answer)}), "Timestamp": _ts(now)})
    return action["instanceId"], action["operation"], payload, answer


def _execute(handle: Callable[[str], str], context: dict[str, Any]) -> dict[str, Any]:
    """The orchestrator's state JSON; a failed orchestration raises with the state after a marker."""
    try:
        return dict(json.loads(handle(json.dumps(context))))
    except Exception as exc:
        text = str(exc)
        marker = "$OutOfProcData$:"
        if marker not in text:
            raise
        return dict(json.loads(text.split(marker, 1)[1]))


def _invoke(function: Callable[..., Any], payload: Any, name: str,
            override: Callable[[str, Any], Any] | None) -> Any:
    if override is not None:
        replaced = override(name, payload)
        if replaced is not None:
            return replaced
    result = function(payload)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable
