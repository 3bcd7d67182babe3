"""The replay engine as a pure function over recorded histories (golden JSON files).

Each golden file holds the full history an orchestration of the conformance app produced when
driven to completion by `drive` below (a deterministic in-memory stand-in for the dispatcher,
with a fixed clock). Set UPDATE_GOLDEN=1 to rewrite them after an intended change.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from funchost import replay
from funchost.activities import decode_input, encode_result
from funchost.discovery import FunctionSet, load_app
from funchost.entity_batch import Operation, response_event, run_batch
from funchost.history import EventType, event
from funchost.replay import Instance, run_episode

GOLDEN = Path(__file__).parent / "golden"
APP = Path(__file__).resolve().parents[1] / "conformance_app"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def functions() -> FunctionSet:
    return load_app(APP)


def started(name: str, input_text: str | None, instance_id: str = "golden") -> tuple[Instance, dict[str, Any]]:
    inst = Instance(instance_id=instance_id, name=name, execution_id="exec-1", input=input_text)
    ev = event(EventType.EXECUTION_STARTED, T0, Name=name, Version="", Input=input_text,
               OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": "exec-1"})
    return inst, ev


def drive(functions: FunctionSet, name: str, input_text: str | None, max_episodes: int = 50) -> Instance:
    """Run an orchestration to its end with activities and entities executed in-process, in order."""
    inst, first = started(name, input_text)
    pending: list[dict[str, Any]] = [first]
    entity_state: dict[str, str | None] = {}
    clock = T0
    for _ in range(max_episodes):
        clock += timedelta(seconds=1)
        episode = run_episode(inst, pending, functions.orchestrator(name), functions.registry(), clock)
        pending = [e for i, e in enumerate(pending) if i not in set(episode.consumed)]
        inst = episode.instance
        if inst.status in replay.TERMINAL_STATUSES:
            return inst
        for work in episode.work:
            if isinstance(work, replay.ScheduleActivity):
                activity = functions.activities[work.name.lower()]
                try:
                    value = activity.callable(**{activity.input_param: decode_input(work.input)})
                    pending.append(event(EventType.TASK_COMPLETED, clock, TaskScheduledId=work.task_id,
                                         Result=encode_result(value)))
                except Exception as exc:
                    pending.append(event(EventType.TASK_FAILED, clock, TaskScheduledId=work.task_id,
                                         Reason=f"Activity function '{work.name}' failed: {exc}", Details=""))
            elif isinstance(work, replay.StartTimer):
                pending.append(event(EventType.TIMER_FIRED, work.fire_at, TimerId=work.timer_id,
                                     FireAt=work.fire_at.isoformat()))
            elif isinstance(work, replay.SendEntityMessage):
                entity_name = work.entity_id.split("@")[1]
                op = Operation(0, work.operation, work.input, work.signal, work.request_id, inst.instance_id,
                               inst.execution_id)
                state = entity_state.get(work.entity_id)
                outcome = run_batch(functions.entity(entity_name), work.entity_id, state, state is not None, [op])
                entity_state[work.entity_id] = outcome.state if outcome.exists else None
                if not work.signal:
                    pending.append(response_event(op, outcome.results[0], clock))
    raise AssertionError(f"{name} did not finish in {max_episodes} episodes")


def shape(history: list[dict[str, Any]]) -> list[list[Any]]:
    """What a golden file pins down: event kinds, sequence ids and names (not timestamps)."""
    out = []
    for e in history:
        key = e.get("EventId") if e["EventId"] >= 0 else e.get("TaskScheduledId", e.get("TimerId"))
        out.append([EventType(e["EventType"]).name, key, e.get("Name") or e.get("InstanceId")])
    return out


CASES = {
    "sequence": '["Tokyo", "Seattle"]',
    "fan_out": "3",
    "counter_orchestration": '"golden-k"',
    "retry_exhausted": None,
    "continue_counter": "3",
    "short_timer": None,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_history_matches_golden_file(functions: FunctionSet, name: str) -> None:
    inst = drive(functions, name, CASES[name])
    path = GOLDEN / f"{name}.json"
    recorded = {"status": inst.status, "output": inst.output, "history": inst.history}
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no golden history {path.name}: run with UPDATE_GOLDEN=1 to record it, then review it"
    golden = json.loads(path.read_text())
    assert inst.status == golden["status"]
    assert inst.output == golden["output"]
    assert shape(inst.history) == shape(golden["history"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_replaying_a_golden_history_is_deterministic(functions: FunctionSet, name: str) -> None:
    """Replaying the whole recorded history yields the same output and schedules nothing new."""
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    if golden["status"] != "Completed" or name == "continue_counter":
        pytest.skip("only single-execution completed histories replay to the same output")
    history = [e for e in golden["history"] if e["EventType"] != EventType.EXECUTION_COMPLETED]
    context = {"history": history, "input": CASES[name], "instanceId": "golden", "isReplaying": True,
               "parentInstanceId": None, "upperSchemaVersion": 1, "upperSchemaVersionNew": 2}
    state = json.loads(functions.orchestrator(name)(json.dumps(context)))  # type: ignore[misc]
    assert state["isDone"] is True
    assert state["output"] == golden["output"]


def test_changed_code_is_reported_as_non_deterministic(functions: FunctionSet) -> None:
    golden = json.loads((GOLDEN / "sequence.json").read_text())
    history = [e for e in golden["history"]
               if e["EventType"] not in (EventType.EXECUTION_COMPLETED,)][:4]  # started + first scheduled
    inst = Instance("golden", "five_activities", "exec-1", '["Tokyo", "Seattle"]', status=replay.RUNNING,
                    history=history, meta=replay.ReplayMeta(action_ids=[0], next_id=1))
    done = event(EventType.TASK_COMPLETED, T0, TaskScheduledId=0, Result='"Hello Tokyo!"')
    episode = run_episode(inst, [done], functions.orchestrator("five_activities"), functions.registry(), T0)
    assert episode.status == replay.FAILED
    message = episode.instance.output
    assert "Non-deterministic workflow detected" in message
    assert "activity 'say_hello' with sequence ID 0" in message
    assert "activity 'add_one'" in message and "code changed" in message


def test_missing_action_names_what_history_had(functions: FunctionSet) -> None:
    inst = drive(functions, "sequence", '["A", "B"]')
    history = [e for e in inst.history if e["EventType"] != EventType.EXECUTION_COMPLETED][:4]
    stale = Instance("golden", "wait_event", "exec-1", None, status=replay.RUNNING, history=history,
                     meta=replay.ReplayMeta(action_ids=[0], next_id=1))
    episode = run_episode(stale, [event(EventType.EVENT_RAISED, T0, Name="other", Input="1")],
                          functions.orchestrator("wait_event"), functions.registry(), T0)
    assert episode.status == replay.FAILED
    assert "hasn't (yet?) scheduled this task" in episode.instance.output
    assert "activity 'say_hello' with sequence ID 0" in episode.instance.output


def test_engine_does_not_start_before_execution_started(functions: FunctionSet) -> None:
    inst = Instance("x", "wait_event", "exec-1", None)
    raised = event(EventType.EVENT_RAISED, T0, Name="go", Input="1")
    episode = run_episode(inst, [raised], functions.orchestrator("wait_event"), functions.registry(), T0)
    assert episode.consumed == [] and not episode.invoked and episode.instance.history == []


def test_suspended_instance_holds_events_and_terminate_wins(functions: FunctionSet) -> None:
    inst, first = started("wait_event", None)
    running = run_episode(inst, [first], functions.orchestrator("wait_event"), functions.registry(), T0).instance
    suspend = event(EventType.EXECUTION_SUSPENDED, T0, Reason="pause")
    raised = event(EventType.EVENT_RAISED, T0, Name="go", Input="5")
    held = run_episode(running, [suspend, raised], functions.orchestrator("wait_event"), functions.registry(), T0)
    assert held.status == replay.SUSPENDED and held.consumed == [0] and not held.invoked
    resume = event(EventType.EXECUTION_RESUMED, T0, Reason="go")
    done = run_episode(held.instance, [raised, resume], functions.orchestrator("wait_event"),
                       functions.registry(), T0)
    assert done.status == replay.COMPLETED and done.instance.output == 5 and done.consumed == [0, 1]
    terminate = event(EventType.EXECUTION_TERMINATED, T0, Input="bye")
    ended = run_episode(running, [raised, terminate], functions.orchestrator("wait_event"), functions.registry(), T0)
    assert ended.status == replay.TERMINATED and ended.instance.output == "bye" and ended.consumed == [0, 1]


def test_retry_delivers_one_completion_per_episode(functions: FunctionSet) -> None:
    inst, first = started("with_retry", '"golden-retry"')
    ep = run_episode(inst, [first], functions.orchestrator("with_retry"), functions.registry(), T0)
    assert [type(w).__name__ for w in ep.work] == ["ScheduleActivity"]
    failed = event(EventType.TASK_FAILED, T0, TaskScheduledId=0, Reason="boom", Details="")
    extra = event(EventType.EVENT_RAISED, T0, Name="unrelated", Input="1")
    ep2 = run_episode(ep.instance, [failed, extra], functions.orchestrator("with_retry"), functions.registry(), T0)
    assert ep2.consumed == [0]
    timers = [w for w in ep2.work if isinstance(w, replay.StartTimer)]
    assert len(timers) == 1 and timers[0].timer_id == 1


def test_unknown_action_kind_is_an_engine_error() -> None:
    inst = Instance("x", "o", "e", None, status=replay.RUNNING)
    with pytest.raises(ValueError, match="unknown action type 42"):
        replay._schedule(inst, {"actionType": 42}, 0, T0, [], [])


def test_incremental_history_encoding_matches_a_full_encoding(functions: FunctionSet) -> None:
    inst = drive(functions, "fan_out", "3")
    assert inst.history_json is not None and 0 < inst.history_json_len < len(inst.history)  # a cached prefix
    assert json.loads(replay.encode_history(inst)) == inst.history
    assert inst.history_json_len == len(inst.history)
    fresh = Instance("x", "o", "e", None, history=list(inst.history))
    assert json.loads(replay.encode_history(fresh)) == inst.history


def test_flatten_actions_takes_atomic_actions_depth_first_from_v1_lists_and_v2_compounds() -> None:
    a, b, c, d = ({"actionType": 0, "functionName": n} for n in "abcd")
    v2 = [a, {"actionType": 12, "compoundActions": [b, {"actionType": 11, "compoundActions": [c]}]}, d]
    assert replay.flatten_actions(v2) == [a, b, c, d]
    assert replay.flatten_actions([[a], [b, c], [], [d]]) == [a, b, c, d]  # V1: one list per episode
    assert replay.flatten_actions({"actionType": 12, "compoundActions": [a, b]}) == [a, b]
    assert replay.flatten_actions(None) == [] and replay.flatten_actions([None, "x", a]) == [a]
