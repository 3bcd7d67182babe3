"""Episode planning: what an orchestration episode's outcome asks the host to write and do (a pure function).

`plan_episode` turns the engine's `Episode` into a `Plan`: the instance state to store, the
messages to add (timers, entity operations, sub-orchestration starts, the parent's completion
event, a continue-as-new restart), the activity rows to write and the child instances to create.
It reads no clock and does no I/O: the time, sequence numbers, execution ids and which instances
are live are passed in, so a test can plan an episode with fixed ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import datetime

from .entity_batch import Operation
from .history import EventType, event, from_epoch
from .messages import Message, started_event, traceparent_of
from .model import HTTP_ACTIVITY_NAME, PENDING, RUNNING, TERMINAL_STATUSES, Instance, ParentRef
from .replay import (
    CallHttp,
    Episode,
    ScheduleActivity,
    SendEntityMessage,
    StartSubOrchestration,
    StartTimer,
    Work,
    completion_event_for_parent,
)
from .store import StoredActivity


@dataclass
class Plan:
    """An episode's effects: the instance to store, and the messages, activity rows and children to add."""

    instance: Instance
    messages: list[Message] = field(default_factory=list)
    activities: list[StoredActivity] = field(default_factory=list)
    children: list[Instance] = field(default_factory=list)


@dataclass(frozen=True)
class Ids:
    """Where a plan takes its sequence numbers and new execution ids from."""

    next_seq: Callable[[], int]
    new_execution_id: Callable[[], str]


def split_stale(messages: list[Message], execution_id: str) -> tuple[list[Message], list[Message]]:
    """(live, stale): messages for the current execution (or any), and those for an earlier one."""
    stale = [m for m in messages if m.is_stale_for(execution_id)]
    live = [m for m in messages if m not in stale] if stale else list(messages)
    return live, stale


def plan_episode(episode: Episode, now_s: float, ids: Ids, live: Container[str]) -> Plan:
    """The plan of `episode`, run at `now_s` (epoch seconds); `live` holds the ids of unfinished instances."""
    now = from_epoch(now_s)
    new = episode.instance
    plan = Plan(new)
    if episode.continue_input is not None:
        new = plan.instance = _continue_as_new(new, episode.continue_input, now, ids, plan)
    for item in episode.work:
        _plan_work(new, item, now_s, now, ids, live, plan)
    if new.status in TERMINAL_STATUSES and new.parent is not None:
        completion = completion_event_for_parent(new, now)
        if completion is not None:
            plan.messages.append(Message.for_orchestration(ids.next_seq(), new.parent.instance_id, completion,
                                                           new.parent.execution_id))
    return plan


def _continue_as_new(inst: Instance, new_input: str | None, now: datetime, ids: Ids, plan: Plan) -> Instance:
    fresh = Instance(instance_id=inst.instance_id, name=inst.name, execution_id=ids.new_execution_id(),
                     input=new_input, status=RUNNING, custom_status=inst.custom_status, parent=inst.parent)
    started = started_event(fresh, now, traceparent_of(inst, []))
    plan.messages.append(Message.for_orchestration(ids.next_seq(), inst.instance_id, started, fresh.execution_id))
    return fresh


def _plan_work(inst: Instance, item: Work, now_s: float, now: datetime, ids: Ids, live: Container[str],
               plan: Plan) -> None:
    """Add one work item of the episode to the plan."""
    if isinstance(item, ScheduleActivity):
        plan.activities.append(StoredActivity(ids.next_seq(), inst.instance_id, inst.execution_id, item.task_id,
                                              item.name, item.input, "activity"))
    elif isinstance(item, CallHttp):
        plan.activities.append(StoredActivity(ids.next_seq(), inst.instance_id, inst.execution_id, item.task_id,
                                              HTTP_ACTIVITY_NAME, json.dumps(item.request), "http"))
    elif isinstance(item, StartTimer):
        fired = event(EventType.TIMER_FIRED, item.fire_at, TimerId=item.timer_id,
                      FireAt=item.fire_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        plan.messages.append(Message.for_orchestration(ids.next_seq(), inst.instance_id, fired, inst.execution_id,
                                                       item.fire_at.timestamp()))
    elif isinstance(item, SendEntityMessage):
        op = Operation(seq=0, name=item.operation, input=item.input, signal=item.signal,
                       request_id=item.request_id, parent=None if item.signal else inst.instance_id,
                       parent_execution=None if item.signal else inst.execution_id, enqueued_at=now_s,
                       traceparent=traceparent_of(inst, []))
        plan.messages.append(Message.for_entity(ids.next_seq(), item.entity_id, op.to_json()))
    elif isinstance(item, StartSubOrchestration):
        _plan_child(inst, item, now, ids, live, plan)
    else:  # pragma: no cover - run_episode only emits the kinds above
        raise ValueError(f"unknown work item {item!r}")


def _plan_child(parent: Instance, item: StartSubOrchestration, now: datetime, ids: Ids, live: Container[str],
                plan: Plan) -> None:
    """Start a sub-orchestration, or fail its task at once if an instance of that id is running."""
    if item.instance_id in live or any(c.instance_id == item.instance_id for c in plan.children):
        failed = event(EventType.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=item.task_id,
                       Reason=f"an orchestration instance with id '{item.instance_id}' is already running",
                       Details="")
        plan.messages.append(Message.for_orchestration(ids.next_seq(), parent.instance_id, failed,
                                                       parent.execution_id))
        return
    child = Instance(instance_id=item.instance_id, name=item.name, execution_id=ids.new_execution_id(),
                     input=item.input, status=PENDING,
                     parent=ParentRef(parent.instance_id, parent.execution_id, item.task_id))
    plan.children.append(child)
    child_started = started_event(child, now, traceparent_of(parent, []))
    plan.messages.append(Message.for_orchestration(ids.next_seq(), child.instance_id, child_started,
                                                   child.execution_id))
