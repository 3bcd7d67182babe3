"""Episode planning as a pure function: fixed ids in, the exact messages, rows and children out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from funchost.discovery import FunctionSet, load_app
from funchost.entity_batch import Operation
from funchost.episode_plan import Ids, plan_episode, split_stale
from funchost.history import EventType, event
from funchost.messages import Message
from funchost.model import COMPLETED, FAILED, PENDING, RUNNING, Instance, ParentRef
from funchost.replay import (
    CallHttp,
    Episode,
    ScheduleActivity,
    SendEntityMessage,
    StartSubOrchestration,
    StartTimer,
    Work,
    run_episode,
)

APP = Path(__file__).resolve().parents[1] / "conformance_app"
NOW_S = 1_800_000_000.0
NOW = datetime.fromtimestamp(NOW_S, UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def fixed_ids() -> Ids:
    seq = itertools.count(100)
    executions = (f"exec-new-{n}" for n in itertools.count(1))
    return Ids(lambda: next(seq), lambda: next(executions))


def running(instance_id: str = "parent", **fields: object) -> Instance:
    started = event(EventType.EXECUTION_STARTED, NOW, Name="o", ParentTraceContext={"TraceParent": TRACEPARENT})
    inst = Instance(instance_id, "o", "exec-1", None, status=RUNNING,
                    history=[event(EventType.ORCHESTRATOR_STARTED, NOW), started])
    for name, value in fields.items():
        setattr(inst, name, value)
    return inst


def test_each_work_kind_becomes_its_row_or_message_in_order() -> None:
    fire_at = NOW + timedelta(seconds=30)
    work: list[Work] = [ScheduleActivity(0, "say_hello", '"Tokyo"'), CallHttp(1, {"method": "GET", "uri": "http://x"}),
            StartTimer(2, fire_at), SendEntityMessage("@counter@k", "add", "1", False, "req-1"),
            StartSubOrchestration(4, "child", "kid-1", '"in"')]
    plan = plan_episode(Episode(running(), [0], work, invoked=True), NOW_S, fixed_ids(), set())
    assert [(a.seq, a.task_id, a.name, a.kind) for a in plan.activities] == [
        (100, 0, "say_hello", "activity"), (101, 1, "BuiltIn::HttpActivity", "http")]
    assert plan.activities[1].input == '{"method": "GET", "uri": "http://x"}'
    timer, call, child_start = plan.messages
    assert (timer.seq, timer.target, timer.visible_at, timer.execution_id) == (102, "parent", fire_at.timestamp(),
                                                                              "exec-1")
    assert timer.event["EventType"] == EventType.TIMER_FIRED and timer.event["TimerId"] == 2
    op = Operation.from_json(call.seq, call.body)
    assert (call.seq, call.target, op.name, op.request_id, op.parent, op.parent_execution, op.traceparent) == (
        103, "@counter@k", "add", "req-1", "parent", "exec-1", TRACEPARENT)
    [child] = plan.children
    assert (child.instance_id, child.execution_id, child.status, child.parent) == (
        "kid-1", "exec-new-1", PENDING, ParentRef("parent", "exec-1", 4))
    assert (child_start.seq, child_start.target, child_start.execution_id) == (104, "kid-1", "exec-new-1")
    assert child_start.event["ParentTraceContext"] == {"TraceParent": TRACEPARENT}
    assert plan.instance.status == RUNNING


def test_a_sub_orchestration_whose_id_is_live_fails_its_task_at_once() -> None:
    work: list[Work] = [StartSubOrchestration(0, "child", "busy", None),
                        StartSubOrchestration(1, "child", "twice", None),
                        StartSubOrchestration(2, "child", "twice", None)]
    plan = plan_episode(Episode(running(), [0], work, invoked=True), NOW_S, fixed_ids(), {"busy"})
    assert [c.instance_id for c in plan.children] == ["twice"]
    failures = [m for m in plan.messages if m.event["EventType"] == EventType.SUB_ORCHESTRATION_FAILED]
    assert [(m.target, m.event["TaskScheduledId"]) for m in failures] == [("parent", 0), ("parent", 2)]
    assert "'busy' is already running" in failures[0].event["Reason"]


def test_continue_as_new_starts_a_fresh_execution_with_the_new_input() -> None:
    old = running(custom_status={"stage": 2})
    plan = plan_episode(Episode(old, [0], [], invoked=True, continue_input="7"), NOW_S, fixed_ids(), set())
    fresh = plan.instance
    assert (fresh.execution_id, fresh.input, fresh.status, fresh.custom_status, fresh.history) == (
        "exec-new-1", "7", RUNNING, {"stage": 2}, [])
    [started] = plan.messages
    assert started.execution_id == "exec-new-1" and started.event["EventType"] == EventType.EXECUTION_STARTED
    assert started.event["Input"] == "7" and started.event["ParentTraceContext"] == {"TraceParent": TRACEPARENT}


@pytest.mark.parametrize(("status", "output", "kind"), [
    (COMPLETED, 5, EventType.SUB_ORCHESTRATION_COMPLETED), (FAILED, "boom", EventType.SUB_ORCHESTRATION_FAILED)])
def test_a_finished_child_tells_its_parent(status: str, output: object, kind: EventType) -> None:
    child = running("kid", status=status, output=output, parent=ParentRef("parent", "exec-p", 3))
    plan = plan_episode(Episode(child, [0], [], invoked=True), NOW_S, fixed_ids(), set())
    [message] = plan.messages
    assert (message.target, message.execution_id, message.event["EventType"]) == ("parent", "exec-p", kind)
    assert message.event["TaskScheduledId"] == 3


def test_a_real_episode_plans_the_activity_it_scheduled() -> None:
    functions: FunctionSet = load_app(APP)
    inst = Instance("seq-1", "sequence", "exec-1", '["Tokyo"]')
    started = event(EventType.EXECUTION_STARTED, NOW, Name="sequence", Version="", Input='["Tokyo"]',
                    OrchestrationInstance={"InstanceId": "seq-1", "ExecutionId": "exec-1"})
    episode = run_episode(inst, [started], functions.orchestrator("sequence"), functions.registry(), NOW)
    plan = plan_episode(episode, NOW_S, fixed_ids(), set())
    assert [(a.name, a.input, a.instance_id, a.execution_id) for a in plan.activities] == [
        ("say_hello", '"Tokyo"', "seq-1", "exec-1")]
    assert plan.messages == [] and plan.children == []


def test_split_stale_separates_messages_for_an_earlier_execution() -> None:
    ev = event(EventType.EVENT_RAISED, NOW, Name="x")
    current = Message.for_orchestration(1, "i", ev, "exec-2")
    anyone = Message.for_orchestration(2, "i", ev, None)
    old = Message.for_orchestration(3, "i", ev, "exec-1")
    assert split_stale([current, anyone, old], "exec-2") == ([current, anyone], [old])
    assert split_stale([current], "exec-2") == ([current], [])
