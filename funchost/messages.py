"""Mailbox messages and the history events that start an execution (shared by the dispatcher's steps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .history import EventType, HistoryEvent, event
from .replay import Instance


@dataclass
class Message:
    seq: int
    target: str
    body: dict[str, Any]
    visible_at: float
    # An activity's completion is not written as a message: its durable record is the activity row,
    # deleted in the same transaction as the episode that consumes the completion (a crash before
    # that re-runs the activity: at-least-once). `activity_seq` names that row.
    activity_seq: int | None = None


def deletions(messages: list[Message]) -> tuple[list[int], list[int]]:
    """(message rows, activity rows) that consuming these messages removes from the store."""
    rows = sorted(m.seq for m in messages if m.activity_seq is None)
    activities = sorted(m.activity_seq for m in messages if m.activity_seq is not None)
    return rows, activities


MessageRow = tuple[int, str, str, float]


def traceparent_of(inst: Instance, events: list[HistoryEvent]) -> str | None:
    """The W3C traceparent the execution was started under (kept in its ExecutionStarted event)."""
    for ev in (inst.history[1:2] if len(inst.history) > 1 else []) + events[:1]:
        if ev.get("EventType") == EventType.EXECUTION_STARTED:
            context = ev.get("ParentTraceContext") or {}
            return context.get("TraceParent")
    return None


def started_event(inst: Instance, now: datetime, traceparent: str | None = None) -> HistoryEvent:
    """The ExecutionStarted of `inst`, carrying the W3C `traceparent` it runs under (if any)."""
    fields: dict[str, Any] = {
        "Name": inst.name, "Version": "", "Input": inst.input,
        "OrchestrationInstance": {"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
    }
    if inst.parent is not None:
        fields["ParentInstance"] = {"OrchestrationInstance": {"InstanceId": inst.parent.instance_id,
                                                              "ExecutionId": inst.parent.execution_id},
                                    "TaskScheduleId": inst.parent.task_id}
    if traceparent:
        fields["ParentTraceContext"] = {"TraceParent": traceparent}
    return event(EventType.EXECUTION_STARTED, now, **fields)
