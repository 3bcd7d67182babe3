"""The orchestration replay engine: a pure function from (instance, new events, registry) to an episode.

`run_episode` appends `OrchestratorStarted` and the deliverable new events to the stored history,
invokes the SDK's orchestrator handle with the full history (the out-of-process "OrchestratorShim"
protocol), compares the actions it returns with the history (non-determinism detection), assigns
sequence numbers to new actions, and returns the new history, the work to schedule and the outcome.
It does no I/O and reads no clock: `now` is passed in. User errors never raise out of it; they
become a Failed outcome carrying the user's message. Only engine bugs propagate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from . import fastjson
from .errors import not_a_function_message
from .history import SCHEDULING_EVENTS, EventType, HistoryEvent, event, parse_iso
from .model import (
    ACTION_SPECS,
    ACTIVE_STATUSES,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    HTTP_ACTIVITY_NAME,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINAL_STATUSES,
    TERMINATED,
    ActionKind,
    Instance,
    OrchestrationContextText,
    ParentRef,
    Registry,
    ReplayMeta,
    RetryGroup,
    encode_history,
)
from .nondeterminism import mismatched_action_error, missing_action_error

__all__ = [  # the engine, and the model names it re-exports for modules that import them from here
    "ACTIVE_STATUSES", "COMPLETED", "CONTINUED_AS_NEW", "FAILED", "HTTP_ACTIVITY_NAME", "PENDING", "RUNNING",
    "SUSPENDED", "TERMINAL_STATUSES", "TERMINATED", "Action", "CallHttp", "Episode", "Instance",
    "OrchestratorHandle", "ParentRef", "Registry", "ReplayMeta", "RetryGroup", "ScheduleActivity", "Selection",
    "SendEntityMessage", "StartSubOrchestration", "StartTimer", "Work", "completion_event_for_parent",
    "encode_history", "flatten_actions", "run_episode", "select_events",
]

OrchestratorHandle = Callable[[str], str]

CUSTOM_STATUS_LIMIT_BYTES = 16 * 1024
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

Action = ActionKind  # the short name the engine uses

_ENTITY_REQUEST_NAMESPACE = uuid.UUID("6f1c3d62-2b53-4a83-9d7e-8c3f1b2e9a40")


# Work an episode asks the dispatcher to do once its results are committed.
@dataclass(frozen=True)
class ScheduleActivity:
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class CallHttp:
    task_id: int
    request: dict[str, Any]


@dataclass(frozen=True)
class StartSubOrchestration:
    task_id: int
    name: str
    instance_id: str
    input: str | None


@dataclass(frozen=True)
class SendEntityMessage:
    entity_id: str
    operation: str
    input: str | None
    signal: bool
    request_id: str


@dataclass(frozen=True)
class StartTimer:
    timer_id: int
    fire_at: datetime


Work = ScheduleActivity | CallHttp | StartSubOrchestration | SendEntityMessage | StartTimer


@dataclass
class Episode:
    """The result of one episode: the new instance state, which pending events it used, its work."""

    instance: Instance
    consumed: list[int]
    work: list[Work]
    invoked: bool
    continue_input: str | None = None

    @property
    def status(self) -> str:
        return self.instance.status


@dataclass
class Selection:
    """Which pending events an episode takes: indices consumed, events appended to history, and so on."""

    consumed: list[int] = field(default_factory=list)
    appended: list[HistoryEvent] = field(default_factory=list)
    deliverable: int = 0
    suspended: bool = False
    terminate: HistoryEvent | None = None


def select_events(inst: Instance, pending: list[HistoryEvent]) -> Selection:
    """Pick the events this episode delivers, in arrival order.

    A terminate wins over everything; suspend holds every other event until resume, which then
    delivers the held ones; while a retry is in flight only one completion goes per episode; a
    second ExecutionStarted for a running execution is dropped.
    """
    sel = Selection(suspended=inst.status == SUSPENDED)
    one_at_a_time = inst.meta.has_active_retry()
    held: list[int] = []

    def deliver(index: int) -> None:
        sel.consumed.append(index)
        sel.appended.append(pending[index])
        sel.deliverable += 1

    for index, ev in enumerate(pending):
        kind = ev["EventType"]
        if kind == EventType.EXECUTION_TERMINATED:
            sel.terminate = ev
            return sel
        if kind in (EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED):
            suspend = kind == EventType.EXECUTION_SUSPENDED
            if sel.suspended != suspend:
                sel.suspended = suspend
                sel.appended.append(ev)
            sel.consumed.append(index)
            if not suspend:
                while held and not (one_at_a_time and sel.deliverable >= 1):
                    deliver(held.pop(0))
        elif sel.suspended:
            held.append(index)
        elif kind == EventType.EXECUTION_STARTED and inst.history:
            sel.consumed.append(index)  # a duplicate start of an execution already under way
        elif not (one_at_a_time and sel.deliverable >= 1):
            deliver(index)
    sel.consumed.sort()
    return sel


def run_episode(
    instance: Instance,
    pending: list[HistoryEvent],
    orchestrator: OrchestratorHandle | None,
    registry: Registry,
    now: datetime,
) -> Episode:
    """Advance `instance` with the events in `pending` (arrival order) and return the episode.

    Events are held back (not consumed) while the instance is suspended, and, while a retry task
    is in flight, only one completion is delivered per episode so that retry sequence numbers are
    assigned in the same order as the SDK assigns them during replay.
    """
    inst = instance.for_episode()
    selection = select_events(inst, pending)
    if selection.terminate is not None:
        return _terminate(inst, selection.terminate, list(range(len(pending))), now)
    consumed, appended, deliverable, suspended = (selection.consumed, selection.appended, selection.deliverable,
                                                  selection.suspended)
    if not inst.history and not any(e["EventType"] == EventType.EXECUTION_STARTED for e in appended):
        # Nothing can run before the execution has started; keep the events for later.
        return Episode(inst, [], [], invoked=False)
    if deliverable == 0:
        inst.history.extend(appended)
        inst.status = SUSPENDED if suspended else (RUNNING if inst.status == SUSPENDED else inst.status)
        return Episode(inst, consumed, [], invoked=False)
    inst.history.append(event(EventType.ORCHESTRATOR_STARTED, now))
    inst.history.extend(appended)
    if orchestrator is None:
        return Episode(_fail(inst, not_a_function_message("orchestrator", inst.name), now), consumed, [],
                       invoked=False)
    state, error = _invoke(inst, orchestrator)
    if state is not None and "customStatus" in state:
        inst.custom_status = state["customStatus"]
    if error is not None:
        if state is not None:  # a replay that diverged often surfaces as a user error: say so
            error = _divergence(state, inst) or error
        return Episode(_fail(inst, error, now), consumed, [], invoked=True)
    if state is None:  # pragma: no cover - _invoke returns one of the two
        raise RuntimeError("orchestrator returned neither state nor error")
    too_big = _custom_status_error(state.get("customStatus"))
    if too_big:
        return Episode(_fail(inst, too_big, now), consumed, [], invoked=True)
    return _apply_state(inst, state, appended, consumed, registry, now)


def _invoke(inst: Instance, orchestrator: OrchestratorHandle) -> tuple[dict[str, Any] | None, str | None]:
    rest = {
        "input": inst.input,
        "instanceId": inst.instance_id,
        "isReplaying": False,
        "parentInstanceId": inst.parent.instance_id if inst.parent else None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
    }
    # The SDK as installed parses the text; the host's codec patch takes the values it carries instead.
    context = OrchestrationContextText('{"history":' + encode_history(inst) + "," + fastjson.dumps(rest)[1:],
                                       {"history": inst.history, **rest}, inst.sdk_memo)
    try:
        result = orchestrator(context)
    except Exception as exc:  # user code failed: the SDK raises with its state after a marker
        message, _, data = str(exc).partition(OUT_OF_PROC_MARKER)
        if data:
            try:
                state = json.loads(data)
                return state, str(state.get("error") or message)
            except json.JSONDecodeError:
                pass
        return None, message or type(exc).__name__
    try:
        state = json.loads(result)
    except (TypeError, json.JSONDecodeError) as exc:
        return None, f"the orchestrator returned a state that is not JSON: {exc}"
    if not isinstance(state, dict):
        return None, "the orchestrator returned a state that is not a JSON object"
    if state.get("error") and not state.get("isDone"):
        return state, str(state["error"])
    return state, None


def _divergence(state: dict[str, Any], inst: Instance) -> str | None:
    actions = [a for a in flatten_actions(state.get("actions") or [])
               if a.get("actionType") != Action.WAIT_FOR_EXTERNAL_EVENT]
    scheduled = {e["EventId"]: e for e in inst.history if e["EventType"] in SCHEDULING_EVENTS}
    known = inst.meta.action_ids[:len(actions)]
    return _check_determinism(actions, replace(inst.meta, action_ids=known), scheduled)


def _custom_status_error(custom_status: Any) -> str | None:
    if custom_status is None:
        return None
    size = len(json.dumps(custom_status, separators=(",", ":")).encode("utf-16-le"))
    if size > CUSTOM_STATUS_LIMIT_BYTES:
        return (f"The custom status is too large: {size} bytes of UTF-16 JSON, "
                f"the limit is {CUSTOM_STATUS_LIMIT_BYTES} bytes (16 KB).")
    return None


def flatten_actions(actions: Any) -> list[dict[str, Any]]:
    """Atomic actions depth-first in list order (V1 lists of lists and V2 compound actions alike)."""
    out: list[dict[str, Any]] = []
    _flatten_into(actions, out)
    return out


def _flatten_into(actions: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(actions, dict):
        actions = [actions]
    elif not isinstance(actions, list):
        return
    for item in actions:
        if isinstance(item, dict) and item.get("actionType") not in _COMPOUND:
            out.append(item)
        elif isinstance(item, dict):
            _flatten_into(item.get("compoundActions") or [], out)
        else:
            _flatten_into(item, out)


_COMPOUND = (Action.WHEN_ALL, Action.WHEN_ANY)


def _apply_state(
    inst: Instance,
    state: dict[str, Any],
    appended: list[HistoryEvent],
    consumed: list[int],
    registry: Registry,
    now: datetime,
) -> Episode:
    actions = [a for a in flatten_actions(state.get("actions") or [])
               if a.get("actionType") != Action.WAIT_FOR_EXTERNAL_EVENT]
    meta = inst.meta
    scheduled = {e["EventId"]: e for e in inst.history if e["EventType"] in SCHEDULING_EVENTS}
    mismatch = _check_determinism(actions, meta, scheduled)
    if mismatch:
        return Episode(_fail(inst, mismatch, now), consumed, [], invoked=True)
    work: list[Work] = []
    new_events: list[HistoryEvent] = []
    _advance_retries(inst, appended, now, new_events, work)
    continue_as_new: dict[str, Any] | None = None
    for action in actions[len(meta.action_ids):]:
        kind = action.get("actionType")
        if kind == Action.CONTINUE_AS_NEW:  # always the last action: nothing runs after it
            continue_as_new = action
            break
        error = _unknown_target(action, registry)
        if error:
            return Episode(_fail(inst, error, now), consumed, [], invoked=True)
        task_id = meta.next_id
        meta.next_id += 1
        meta.action_ids.append(task_id)
        _schedule(inst, action, task_id, now, new_events, work)
    inst.history.extend(new_events)
    inst.history.append(event(EventType.ORCHESTRATOR_COMPLETED, now))
    if continue_as_new is not None:
        # Only signals outlive the execution; other work of the old execution is discarded.
        inst.status = CONTINUED_AS_NEW
        return Episode(inst, consumed, _signals(work), invoked=True,
                       continue_input=continue_as_new.get("input") or "null")
    if state.get("isDone"):
        inst.status = COMPLETED
        inst.output = state.get("output")
        inst.history.append(event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=COMPLETED,
                                  Result=json.dumps(inst.output)))
        return Episode(inst, consumed, _signals(work), invoked=True)
    inst.status = RUNNING
    return Episode(inst, consumed, work, invoked=True)


def _signals(work: list[Work]) -> list[Work]:
    return [w for w in work if isinstance(w, SendEntityMessage) and w.signal]


def _check_determinism(actions: list[dict[str, Any]], meta: ReplayMeta,
                       scheduled: dict[int, HistoryEvent]) -> str | None:
    replayable = [a for a in actions if a.get("actionType") != Action.CONTINUE_AS_NEW]
    for position, event_id in enumerate(meta.action_ids):
        past = scheduled.get(event_id)
        if past is None:  # pragma: no cover - the engine writes both together
            raise RuntimeError(f"history lost the scheduling event for sequence id {event_id}")
        if position >= len(replayable):
            return missing_action_error(past, event_id)
        action = replayable[position]
        spec = ACTION_SPECS.get(action.get("actionType", -1))
        if spec is None or spec.recorded_as != past["EventType"] or \
                spec.name_of(action).lower() != _event_name(past).lower():
            return mismatched_action_error(past, action, event_id, _action_name(action))
    return None


def _action_name(action: dict[str, Any]) -> str:
    spec = ACTION_SPECS.get(action.get("actionType", -1))
    return spec.name_of(action) if spec is not None else str(action.get("functionName") or "")


def _event_name(past: HistoryEvent) -> str:
    if past["EventType"] == EventType.EVENT_SENT:
        return str(past.get("InstanceId") or "")
    if past["EventType"] == EventType.TIMER_CREATED:
        return ""
    return str(past.get("Name") or "")


def _unknown_target(action: dict[str, Any], registry: Registry) -> str | None:
    """The user-facing error when `action` names a function the app does not register, else None."""
    spec = ACTION_SPECS.get(action.get("actionType", -1))
    if spec is None or spec.target is None:
        return None
    if spec.target == "entity":
        entity_id = str(action.get("instanceId") or "")
        parts = entity_id.split("@")
        if len(parts) == 3 and parts[0] == "" and registry.knows("entity", parts[1]):
            return None
        name = parts[1] if len(parts) == 3 else entity_id
    else:
        name = str(action.get("functionName"))
        if registry.knows(spec.target, name):
            return None
    return not_a_function_message(spec.target, name)


def _schedule(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
              out: list[HistoryEvent], work: list[Work]) -> None:
    """Record a new action in history (`out`) and queue its work, through its kind's `_apply_<kind>`."""
    kind = action["actionType"]
    apply = _APPLY.get(kind)
    if apply is None:
        raise ValueError(f"unknown action type {kind!r} in orchestrator state")
    apply(inst, action, task_id, now, out, work)


def _apply_call_activity(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
                         out: list[HistoryEvent], work: list[Work]) -> None:
    name, data = action["functionName"], action.get("input")
    out.append(event(EventType.TASK_SCHEDULED, now, task_id, Name=name, Version="", Input=data))
    work.append(ScheduleActivity(task_id, name, data))
    if action["actionType"] == Action.CALL_ACTIVITY_WITH_RETRY:
        _register_retry(inst.meta, task_id, "activity", name, data, None, action)


def _apply_call_sub_orchestrator(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
                                 out: list[HistoryEvent], work: list[Work]) -> None:
    name, data = action["functionName"], action.get("input")
    explicit = action.get("instanceId")
    child = explicit or f"{inst.execution_id}:{task_id}"
    out.append(event(EventType.SUB_ORCHESTRATION_CREATED, now, task_id, Name=name, InstanceId=child, Input=data))
    work.append(StartSubOrchestration(task_id, name, child, data))
    if action["actionType"] == Action.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
        _register_retry(inst.meta, task_id, "orchestration", name, data, explicit, action)


def _apply_create_timer(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
                        out: list[HistoryEvent], work: list[Work]) -> None:
    fire_at = parse_iso(action["fireAt"])
    out.append(event(EventType.TIMER_CREATED, now, task_id, FireAt=action["fireAt"]))
    if not action.get("isCanceled"):
        work.append(StartTimer(task_id, fire_at))


def _apply_entity_message(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
                          out: list[HistoryEvent], work: list[Work]) -> None:
    """CALL_ENTITY and SIGNAL_ENTITY: an EventSent naming a request id derived from the task id."""
    signal = action["actionType"] == Action.SIGNAL_ENTITY
    request_id = str(uuid.uuid5(_ENTITY_REQUEST_NAMESPACE, f"{inst.execution_id}:{task_id}"))
    message: dict[str, Any] = {"op": action["operation"], "input": action.get("input"), "id": request_id}
    if signal:
        message["signal"] = True
    else:
        message["parent"] = inst.instance_id
        message["parentExecution"] = inst.execution_id
    out.append(event(EventType.EVENT_SENT, now, task_id, InstanceId=action["instanceId"], Name="op",
                     Input=json.dumps(message)))
    work.append(SendEntityMessage(action["instanceId"], action["operation"], action.get("input"), signal,
                                  request_id))


def _apply_call_http(inst: Instance, action: dict[str, Any], task_id: int, now: datetime,
                     out: list[HistoryEvent], work: list[Work]) -> None:
    request = action.get("httpRequest") or {}
    out.append(event(EventType.TASK_SCHEDULED, now, task_id, Name=HTTP_ACTIVITY_NAME, Version="",
                     Input=json.dumps(request)))
    work.append(CallHttp(task_id, request))


_ApplyAction = Callable[[Instance, dict[str, Any], int, datetime, list[HistoryEvent], list["Work"]], None]

# One `_apply_<kind>` per schedulable action kind of `model.ACTION_SPECS` (continue-as-new ends the
# episode instead, see _apply_state).
_APPLY: dict[int, _ApplyAction] = {
    Action.CALL_ACTIVITY: _apply_call_activity,
    Action.CALL_ACTIVITY_WITH_RETRY: _apply_call_activity,
    Action.CALL_SUB_ORCHESTRATOR: _apply_call_sub_orchestrator,
    Action.CALL_SUB_ORCHESTRATOR_WITH_RETRY: _apply_call_sub_orchestrator,
    Action.CREATE_TIMER: _apply_create_timer,
    Action.CALL_ENTITY: _apply_entity_message,
    Action.SIGNAL_ENTITY: _apply_entity_message,
    Action.CALL_HTTP: _apply_call_http,
}



def _register_retry(meta: ReplayMeta, task_id: int, kind: str, name: str, data: str | None,
                    instance_id: str | None, action: dict[str, Any]) -> None:
    options = action.get("retryOptions") or {}
    meta.retry[task_id] = RetryGroup(
        kind=kind, name=name, input=data, instance_id=instance_id,
        max_attempts=max(1, int(options.get("maxNumberOfAttempts", 1))),
        interval_ms=max(0, int(options.get("firstRetryIntervalInMilliseconds", 0))),
    )
    meta.owner[task_id] = task_id


def _advance_retries(inst: Instance, appended: list[HistoryEvent], now: datetime,
                     out: list[HistoryEvent], work: list[Work]) -> None:
    """Mirror the SDK's RetryAbleTask: a failure takes a timer id, the timer a new attempt id."""
    meta = inst.meta
    for ev in appended:
        kind = ev["EventType"]
        key = ev.get("TimerId") if kind == EventType.TIMER_FIRED else ev.get("TaskScheduledId")
        if key is None or key not in meta.owner:
            continue
        group = meta.retry[meta.owner[key]]
        if group.done:
            continue
        if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
            group.done = True
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED) and not group.waiting_timer:
            timer_id = _take_id(meta, meta.owner[key])
            fire_at = now + timedelta(milliseconds=group.interval_ms)
            out.append(event(EventType.TIMER_CREATED, now, timer_id, FireAt=_fire_at_text(fire_at)))
            work.append(StartTimer(timer_id, fire_at))
            group.waiting_timer = True
        elif kind == EventType.TIMER_FIRED and group.waiting_timer:
            group.waiting_timer = False
            if group.attempts >= group.max_attempts:
                group.done = True
                continue
            group.attempts += 1
            task_id = _take_id(meta, meta.owner[key])
            if group.kind == "activity":
                out.append(event(EventType.TASK_SCHEDULED, now, task_id, Name=group.name, Version="",
                                 Input=group.input))
                work.append(ScheduleActivity(task_id, group.name, group.input))
            else:
                child = group.instance_id or f"{inst.execution_id}:{task_id}"
                out.append(event(EventType.SUB_ORCHESTRATION_CREATED, now, task_id, Name=group.name,
                                 InstanceId=child, Input=group.input))
                work.append(StartSubOrchestration(task_id, group.name, child, group.input))


def _take_id(meta: ReplayMeta, group_id: int) -> int:
    task_id = meta.next_id
    meta.next_id += 1
    meta.owner[task_id] = group_id
    return task_id


def _fire_at_text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fail(inst: Instance, error: str, now: datetime) -> Instance:
    inst.status = FAILED
    inst.output = f"Orchestrator function '{inst.name}' failed: {error}"
    inst.history.append(event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=FAILED,
                              Result=json.dumps(inst.output)))
    return inst


def _terminate(inst: Instance, ev: HistoryEvent, consumed: list[int], now: datetime) -> Episode:
    reason = ev.get("Input")
    inst.history.append(event(EventType.ORCHESTRATOR_STARTED, now))
    inst.history.append(ev)
    inst.status = TERMINATED
    inst.output = reason
    return Episode(inst, consumed, [], invoked=False)


def completion_event_for_parent(child: Instance, now: datetime) -> HistoryEvent | None:
    """The event a parent orchestration receives when its sub-orchestration `child` ends."""
    if child.parent is None:
        return None
    task_id = child.parent.task_id
    if child.status == COMPLETED:
        return event(EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=task_id,
                     Result=json.dumps(child.output))
    if child.status in (FAILED, TERMINATED):
        reason = child.output if child.status == FAILED else \
            f"Orchestrator function '{child.name}' was terminated: {child.output}"
        return event(EventType.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=task_id, Reason=str(reason),
                     Details="")
    return None
