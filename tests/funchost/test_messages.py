"""The mailbox message type: constructors, the store row round trip, staleness, deletions, start events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from funchost.entity_batch import Operation
from funchost.history import EventType, event
from funchost.messages import Message, deletions, started_event, traceparent_of
from funchost.model import Instance, ParentRef
from funchost.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_messages_round_trip_through_the_store(tmp_path: Path) -> None:
    ev = event(EventType.EVENT_RAISED, NOW, Name="approval", Input='"yes"')
    timer = Message.for_orchestration(1, "inst", ev, "exec-1", visible_at=1_800_000_000.5)
    op = Operation(0, "add", "5", signal=True, enqueued_at=12.5, traceparent="00-ab-cd-01")
    signal = Message.for_entity(2, "@counter@k", op.to_json())
    store = Store(tmp_path / "s.sqlite3")
    with store.transaction():
        store.add_messages([timer.row(), signal.row()])
    assert store.all_messages() == [timer, signal]
    loaded = store.all_messages()[1]
    assert Operation.from_json(loaded.seq, loaded.body) == Operation(2, "add", "5", signal=True, enqueued_at=12.5,
                                                                     traceparent="00-ab-cd-01")
    store.close()


def test_orchestration_message_fields_and_staleness() -> None:
    ev = event(EventType.TASK_COMPLETED, NOW, TaskScheduledId=3, Result="1")
    message = Message.for_orchestration(5, "inst", ev, "exec-2")
    assert message.event is ev and message.execution_id == "exec-2" and message.visible_at == 0.0
    assert not message.is_stale_for("exec-2") and message.is_stale_for("exec-3")
    assert not Message.for_orchestration(6, "inst", ev, None).is_stale_for("exec-3")  # control: any execution
    assert Message.from_row(message.row()) == message


def test_deletions_split_message_rows_from_activity_rows() -> None:
    ev = event(EventType.TASK_COMPLETED, NOW)
    plain = [Message.for_orchestration(seq, "i", ev, "e") for seq in (9, 4)]
    completion = Message.for_orchestration(12, "i", ev, "e")
    completion.activity_seq = 7
    assert deletions([*plain, completion]) == ([4, 9], [7])


def test_started_event_carries_parent_and_trace_and_traceparent_of_reads_it_back() -> None:
    child = Instance("kid", "child", "exec-k", '"in"', parent=ParentRef("parent", "exec-p", 4))
    started = started_event(child, NOW, "00-trace-span-01")
    assert started["EventType"] == EventType.EXECUTION_STARTED and started["Input"] == '"in"'
    assert started["OrchestrationInstance"] == {"InstanceId": "kid", "ExecutionId": "exec-k"}
    assert started["ParentInstance"] == {"OrchestrationInstance": {"InstanceId": "parent", "ExecutionId": "exec-p"},
                                         "TaskScheduleId": 4}
    assert traceparent_of(child, [started]) == "00-trace-span-01"  # from the pending start
    child.history = [event(EventType.ORCHESTRATOR_STARTED, NOW), started]
    assert traceparent_of(child, []) == "00-trace-span-01"  # from history
    assert "ParentTraceContext" not in started_event(child, NOW)
    assert traceparent_of(Instance("x", "o", "e", None), []) is None
