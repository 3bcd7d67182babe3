"""A test app for the monitor: an entity that keeps any JSON it is given (so a test can store hostile text),
and an orchestration whose history holds every kind of step the timeline draws, failures and retries too."""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_calls: dict[str, int] = {}


@app.entity_trigger(context_name="context", entity_name="Notes")
def notes(context: df.DurableEntityContext) -> None:
    """`set` stores its input as the state; `get` returns it."""
    if context.operation_name == "set":
        context.set_state(context.get_input())
    context.set_result(context.get_state(lambda: None))


@app.activity_trigger(input_name="key")
def fails_once(key: str) -> str:
    """Fails the first call for `key`, then succeeds (a retried step)."""
    _calls[key] = _calls.get(key, 0) + 1
    if _calls[key] == 1:
        raise RuntimeError(f"first call for {key} fails")
    return f"ok after {_calls[key]} calls"


@app.activity_trigger(input_name="text")
def echo(text: str) -> str:
    return text


@app.orchestration_trigger(context_name="context")
def every_step(context: df.DurableOrchestrationContext):
    """An activity retried after a failure, a timer, an entity call and a sub-orchestration."""
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    first = yield context.call_activity_with_retry("fails_once", retry, context.instance_id)
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=100))
    note = yield context.call_entity(df.EntityId("Notes", "timeline"), "set", {"from": context.instance_id})
    echoed = yield context.call_sub_orchestrator("echo_once", first)
    return {"first": first, "note": note, "echoed": echoed}


@app.orchestration_trigger(context_name="context")
def echo_once(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("echo", context.get_input())
    return value


@app.orchestration_trigger(context_name="context")
def fails_with_input(context: df.DurableOrchestrationContext):
    """Fails with its input as the message (a failure reason the page must show as text)."""
    raise RuntimeError(str(context.get_input()))


@app.orchestration_trigger(context_name="context")
def status_from_input(context: df.DurableOrchestrationContext):
    """Reports its input as the stage of a half-done progress, then waits for the event `done`."""
    context.set_custom_status({"progress": 0.5, "stage": context.get_input(), "message": "waiting"})
    yield context.wait_for_external_event("done")
    return "finished"
