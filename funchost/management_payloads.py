"""Status payloads of the management API (`StatusResponsePayload`, `HttpManagementPayload`)."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import quote

from .history import EventType, HistoryEvent, from_epoch, iso_seconds
from .model import input_value
from .store import InstanceRow

_EVENT_NAMES = {
    EventType.EXECUTION_STARTED: "ExecutionStarted",
    EventType.EXECUTION_COMPLETED: "ExecutionCompleted",
    EventType.EXECUTION_FAILED: "ExecutionFailed",
    EventType.EXECUTION_TERMINATED: "ExecutionTerminated",
    EventType.TASK_SCHEDULED: "TaskScheduled",
    EventType.TASK_COMPLETED: "TaskCompleted",
    EventType.TASK_FAILED: "TaskFailed",
    EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    EventType.TIMER_CREATED: "TimerCreated",
    EventType.TIMER_FIRED: "TimerFired",
    EventType.ORCHESTRATOR_STARTED: "OrchestratorStarted",
    EventType.ORCHESTRATOR_COMPLETED: "OrchestratorCompleted",
    EventType.EVENT_SENT: "EventSent",
    EventType.EVENT_RAISED: "EventRaised",
    EventType.CONTINUE_AS_NEW: "ContinueAsNew",
    EventType.GENERIC_EVENT: "GenericEvent",
    EventType.HISTORY_STATE: "HistoryState",
    EventType.EXECUTION_SUSPENDED: "ExecutionSuspended",
    EventType.EXECUTION_RESUMED: "ExecutionResumed",
}


def status_payload(row: InstanceRow, show_input: bool = True, show_history: bool = False,
                   show_history_output: bool = False) -> dict[str, Any]:
    """`StatusResponsePayload`: `historyEvents` only with showHistory, and never for a Pending instance
    (the extension reads no history before the first episode)."""
    inst = row.instance
    body: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.status,
        "input": input_value(inst) if show_input else None,
        "customStatus": inst.custom_status,
        "output": inst.output,
        "createdTime": iso_seconds(from_epoch(row.created)),
        "lastUpdatedTime": iso_seconds(from_epoch(row.updated)),
    }
    if show_history and inst.status != "Pending":
        body["historyEvents"] = public_history(inst.history, show_input, show_history_output)
    return body


# What the extension's DurableClient drops from each kind of event before it shows the history.
_DROPPED: dict[EventType, tuple[str, ...]] = {
    EventType.TASK_SCHEDULED: ("Version",),
    EventType.SUB_ORCHESTRATION_CREATED: ("Version",),
    EventType.TASK_COMPLETED: ("TaskScheduledId",),
    EventType.TASK_FAILED: ("TaskScheduledId",),
    EventType.SUB_ORCHESTRATION_COMPLETED: ("TaskScheduledId",),
    EventType.SUB_ORCHESTRATION_FAILED: ("TaskScheduledId",),
    EventType.EXECUTION_STARTED: ("Name", "OrchestrationInstance", "ParentInstance", "Version", "Tags"),
    EventType.TIMER_FIRED: ("TimerId",),
}
_SCHEDULED_BY = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
_WITH_RESULT = frozenset({EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED,
                          EventType.EXECUTION_COMPLETED})


def public_history(history: list[HistoryEvent], show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """History as `GET instances/{id}?showHistory=true` presents it (the extension's DurableClient):

    - `EventType` by name; no `EventId`, `IsPlayed`, OrchestratorStarted or OrchestratorCompleted;
    - a TaskScheduled (SubOrchestrationInstanceCreated) whose task has finished is folded into its
      TaskCompleted/TaskFailed (SubOrchestrationInstance...): `FunctionName`, `ScheduledTime` and, with
      showInput, its `Input`; an unfinished one stays as it is;
    - `Result` of completions and of ExecutionCompleted only with showHistoryOutput, as a JSON value;
    - ExecutionStarted shows `FunctionName`; TimerFired no `TimerId`; no `Input` without showInput.
    """
    scheduled: dict[tuple[EventType, int], int] = {}
    folded: set[int] = set()
    result: list[dict[str, Any] | None] = []
    for index, ev in enumerate(history):
        kind = EventType(ev["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            result.append(None)
            continue
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[(kind, ev.get("EventId", -1))] = index
        item: dict[str, Any] = {"EventType": _EVENT_NAMES[kind]}
        dropped = _DROPPED.get(kind, ())
        item.update((k, v) for k, v in ev.items() if k not in ("EventType", "EventId", "IsPlayed") and k not in dropped)
        if kind == EventType.EXECUTION_STARTED:
            item["FunctionName"] = ev.get("Name")
        source_kind = _SCHEDULED_BY.get(kind)
        source = scheduled.get((source_kind, ev.get("TaskScheduledId", -1))) if source_kind is not None else None
        if source is not None:
            origin = history[source]
            item["ScheduledTime"] = origin.get("Timestamp")
            item["FunctionName"] = origin.get("Name")
            if show_input:
                item["Input"] = origin.get("Input")
            folded.add(source)
        if kind in _WITH_RESULT:
            if show_output:
                item["Result"] = _json_value(item.get("Result"))
            else:
                item.pop("Result", None)
        if not show_input:
            item.pop("Input", None)
        result.append(item)
    return [item for index, item in enumerate(result) if item is not None and index not in folded]


def _json_value(text: Any) -> Any:
    """A result's JSON text as the value it holds (the extension's ParseToJToken); other text as is."""
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def management_urls(base: str, instance_id: str, task_hub: str, code: str | None) -> dict[str, str]:
    """The check-status payload: management links for one instance."""
    query = f"taskHub={quote(task_hub)}&connection=Storage" + (f"&code={quote(code)}" if code else "")
    root = f"{base}/instances/{quote(instance_id, safe='')}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{root}?{query}",
        "sendEventPostUri": f"{root}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{root}/terminate?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{root}?{query}",
        "restartPostUri": f"{root}/restart?{query}",
        "suspendPostUri": f"{root}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{root}/resume?reason={{text}}&{query}",
    }


@functools.lru_cache(maxsize=64)  # one per (host header, key presented): built once, not per request (issue 14)
def client_binding(base: str, rpc_base: str, task_hub: str, code: str | None,
                   link_code: str | None = None) -> str:
    """The `durableClient` binding JSON an HTTP function receives (DurableOrchestrationClientToString).

    `code` (the durable system key) goes into the creation URLs, which the app calls itself; the
    management URLs, which apps hand back to their callers, carry `link_code` only: the host passes the
    system key there only when the caller presented a function or admin key, so an anonymous caller
    never receives it.
    """
    code_q = f"&code={quote(code)}" if code else ""
    link_q = f"&code={quote(link_code)}" if link_code else ""
    query = f"taskHub={quote(task_hub)}&connection=Storage{link_q}"
    root = f"{base}/instances/INSTANCEID"
    return json.dumps({
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                                        + (f"?code={quote(code)}" if code else ""),
            "createAndWaitOnNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}{code_q}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{root}?{query}",
            "sendEventPostUri": f"{root}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{root}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{root}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{root}?{query}",
            "restartPostUri": f"{root}/restart?{query}",
            "suspendPostUri": f"{root}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{root}/resume?reason={{text}}&{query}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": f"code={code}" if code else "",
        "rpcBaseUrl": rpc_base,
        "httpBaseUrl": "",
        "connectionName": None,
        "maxGrpcMessageSizeInBytes": 4194304,
        "grpcHttpClientTimeout": "00:01:40",
    })
