"""The mailbox message: one type in memory and in the store, its constructors and its row mapping.

Also the activity row (`StoredActivity`), the other kind of queued durable work.

A message goes to one target: an orchestration instance id (its body carries a history event
and the execution it is for) or an entity id `@name@key` (its body is an `Operation`'s JSON).
This module is the only place that knows the body's shape (`{"e": event, "x": execution}`) and
the `messages` row layout `(seq, target, body JSON, visible_at)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import fastjson
from .history import EventType, HistoryEvent, event
from .model import Instance

MessageRow = tuple[int, str, str, float]  # (seq, target, body JSON, visible_at) as the store keeps it


@dataclass
class Message:
    """One mailbox message. Owned by the dispatcher's loop; `visible_at` is cleared when its timer fires."""

    seq: int
    target: str
    body: dict[str, Any]
    visible_at: float = 0.0
    # An activity's completion is not written as a message: its durable record is the activity row,
    # deleted in the same transaction as the episode that consumes the completion (a crash before
    # that re-runs the activity: at-least-once). `activity_seq` names that row.
    activity_seq: int | None = None

    @classmethod
    def for_orchestration(cls, seq: int, target: str, ev: HistoryEvent, execution_id: str | None,
                          visible_at: float = 0.0) -> Message:
        """A history event for orchestration `target`; `execution_id` None means any execution."""
        return cls(seq, target, {"e": ev, "x": execution_id}, visible_at)

    @classmethod
    def for_entity(cls, seq: int, target: str, operation: dict[str, Any]) -> Message:
        """An entity operation (an `Operation.to_json()` body) for entity `target`."""
        return cls(seq, target, operation)

    @classmethod
    def from_row(cls, row: tuple[int, str, str, float]) -> Message:
        """The message a `messages` row holds."""
        seq, target, body, visible_at = row
        return cls(seq, target, json.loads(body), visible_at)

    def row(self) -> MessageRow:
        """The `messages` row of this message (an entity operation's body, the host's own, through orjson)."""
        body = self.body
        text = fastjson.dumps(body) if self.target.startswith("@") else json.dumps(body)
        return (self.seq, self.target, text, self.visible_at)

    @property
    def event(self) -> HistoryEvent:
        """The history event an orchestration message carries."""
        ev: HistoryEvent = self.body["e"]
        return ev

    @property
    def execution_id(self) -> str | None:
        """The execution an orchestration message is for (None: whichever is current)."""
        return self.body.get("x")

    def is_stale_for(self, execution_id: str) -> bool:
        """True for a message addressed to another (an earlier) execution of its instance."""
        addressed = self.body.get("x")
        return bool(addressed) and addressed != execution_id


@dataclass(frozen=True)
class StoredActivity:
    """An activity to run (an `activities` row): written with the episode that scheduled it, deleted with
    the episode that consumes its result. `kind` is "activity" or "http" (the built-in HTTP activity)."""

    seq: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None
    kind: str


def deletions(messages: list[Message]) -> tuple[list[int], list[int]]:
    """(message rows, activity rows) that consuming these messages removes from the store."""
    rows = sorted(m.seq for m in messages if m.activity_seq is None)
    activities = sorted(m.activity_seq for m in messages if m.activity_seq is not None)
    return rows, activities


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
