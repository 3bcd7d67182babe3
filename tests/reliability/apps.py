"""Small function apps the reliability tests write to a temporary script root (some tests edit them)."""

from __future__ import annotations

import json
from pathlib import Path

HOST_JSON = {"version": "2.0", "extensions": {"http": {"routePrefix": "api"},
                                              "durableTask": {"hubName": "ReliabilityHub"}}}

HEADER = '''
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def quick(value: int) -> int:
    return value + 1


@app.orchestration_trigger(context_name="context")
def quick_chain(context: df.DurableOrchestrationContext):
    total = 0
    for i in range(3):
        total += yield context.call_activity("quick", i)
    return total


@app.activity_trigger(input_name="gate")
def wait_for_gate(gate: str) -> str:
    """Blocks until the file `gate` exists (at most 20 s), so a test decides when the activity ends."""
    deadline = time.monotonic() + 20
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released" if Path(gate).exists() else "gave up"
'''

POISON_AND_SLOW = HEADER + '''

@app.entity_trigger(context_name="context", entity_name="Tally")
def tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "poison":
        raise RuntimeError(f"poisoned operation on Tally@{context.entity_key}")
    if operation == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def poison_batch(context: df.DurableOrchestrationContext):
    """Queues good and poisoned operations together (committed at once), then calls a poisoned one and a read."""
    entity = df.EntityId("Tally", context.get_input()["key"])
    for _ in range(5):
        context.signal_entity(entity, "add", 1)
        context.signal_entity(entity, "poison")
    try:
        yield context.call_entity(entity, "poison")
        error = None
    except Exception as exc:
        error = str(exc)
    value = yield context.call_entity(entity, "get")
    return {"error": error, "value": value}


@app.orchestration_trigger(context_name="context")
def guarded(context: df.DurableOrchestrationContext):
    """Durable Functions has no activity timeout: race the activity against a durable timer."""
    args = context.get_input()
    limit = timedelta(seconds=args["timeout_s"])
    timer = context.create_timer(context.current_utc_datetime + limit)
    work = context.call_activity("wait_for_gate", args["gate"])
    winner = yield context.task_any([work, timer])
    if winner is timer:
        raise TimeoutError(f"activity 'wait_for_gate' timed out after {limit.total_seconds():g} s")
    timer.cancel()
    return work.result


@app.orchestration_trigger(context_name="context")
def replay_bomb(context: df.DurableOrchestrationContext):
    """Schedules one activity, then raises when it replays that history."""
    if context.is_replaying:
        raise RuntimeError(f"replay bomb went off in {context.instance_id}")
    yield context.call_activity("quick", 1)
    return "unreachable"
'''

SHUTDOWN = HEADER + '''

@app.orchestration_trigger(context_name="context")
def gated_chain(context: df.DurableOrchestrationContext):
    """Two gated activities in a row: the first is in flight when the host is told to stop."""
    args = context.get_input()
    first = yield context.call_activity("wait_for_gate", args["gate"])
    second = yield context.call_activity("wait_for_gate", args["gate"])
    return [args["n"], first, second]


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)
'''

VERSIONED_TEMPLATE = HEADER + '''

@app.activity_trigger(input_name="value")
def step_a(value: int) -> str:
    return f"a{value}"


@app.activity_trigger(input_name="value")
def step_b(value: object) -> str:
    return f"b{value}"


@app.activity_trigger(input_name="value")
def step_c(value: int) -> str:
    return f"c{value}"


@app.orchestration_trigger(context_name="context")
def flow(context: df.DurableOrchestrationContext):
    # version: FIRST_STEP
    first = yield context.call_activity("FIRST_STEP", 1)
    go = yield context.wait_for_external_event("go")
    second = yield context.call_activity("step_b", go)
    return [first, second]
'''


def write_app(root: Path, source: str) -> Path:
    """Write `source` as `root/function_app.py` with a host.json; return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "host.json").write_text(json.dumps(HOST_JSON))
    (root / "function_app.py").write_text(source)
    return root


def versioned_app(first_step: str) -> str:
    """The `flow` app whose orchestrator schedules `first_step` first (step_a in v1, step_c in v2)."""
    return VERSIONED_TEMPLATE.replace("FIRST_STEP", first_step)
