"""Bench app: the smallest functions the benchmarks in bench/ drive through funchost's HTTP API."""

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    """A counter: `add` adds the input and returns the new value, `get` returns the value."""
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    context.set_result(value)


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.orchestration_trigger(context_name="context")
def five_activities(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Five sequential activity calls (the HelloSequence5 shape of the Netherite benchmarks)."""
    total = 0
    for i in range(5):
        total += yield context.call_activity("add_one", i)
    return total


@app.orchestration_trigger(context_name="context")
def call_entity_loop(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Call `Counter/loop-<instance id>` `add 1` N times in sequence (input N); returns the final value."""
    entity = df.EntityId("Counter", "loop-" + context.instance_id)
    value = 0
    for _ in range(context.get_input() or 1):
        value = yield context.call_entity(entity, "add", 1)
    return value


@app.entity_trigger(context_name="context", entity_name="Sleeper")
def sleeper(context: df.DurableEntityContext) -> None:
    """`sleep` blocks for its input in milliseconds (bench.entity_blocking: where entity code runs)."""
    import time

    time.sleep(float(context.get_input() or 0) / 1000.0)
    context.set_result(context.operation_name)
