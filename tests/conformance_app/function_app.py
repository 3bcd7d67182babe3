"""Conformance app: exercises every Durable Functions SDK feature funchost must run."""

import asyncio
import json
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
from opentelemetry import metrics

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_flaky_calls: dict[str, int] = {}


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="client/{action}/{instance_id?}", methods=["GET", "POST"])
@app.durable_client_input(client_name="client")
async def http_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Drives the SDK client's RPC calls so tests can check each one end to end."""
    action = req.route_params["action"]
    instance_id = req.route_params.get("instance_id")
    args = json.loads(req.get_body() or b"{}")
    result: object = None
    if action == "status":
        status = await client.get_status(instance_id, show_history=bool(args.get("history")))
        result = status.to_json() if status else None
    elif action == "status_all":
        result = len(await client.get_status_all())
    elif action == "status_by":
        statuses = [df.OrchestrationRuntimeStatus(s) for s in args.get("statuses", [])]
        result = [s.instance_id for s in await client.get_status_by(runtime_status=statuses or None)]
    elif action == "raise":
        await client.raise_event(instance_id, args["name"], args.get("data"))
    elif action == "terminate":
        await client.terminate(instance_id, args.get("reason", "stop"))
    elif action == "suspend":
        await client.suspend(instance_id, "pause")
    elif action == "resume":
        await client.resume(instance_id, "go")
    elif action == "restart":
        result = await client.restart(instance_id, restart_with_new_instance_id=bool(args.get("new", True)))
    elif action == "purge":
        result = (await client.purge_instance_history(instance_id)).instances_deleted
    elif action == "signal":
        await client.signal_entity(df.EntityId(args["entity"], args["key"]), args["op"], args.get("input"))
    elif action == "read":
        state = await client.read_entity_state(df.EntityId(args["entity"], args["key"]))
        result = {"exists": state.entity_exists, "state": state.entity_state}
    elif action == "start":
        result = await client.start_new(args["name"], args.get("id"), args.get("input"))
    elif action == "wait":
        started = await client.start_new(args["name"], None, args.get("input"))
        return await client.wait_for_completion_or_create_check_status_response(
            req, started, timeout_in_milliseconds=10000, retry_interval_in_milliseconds=50)
    else:
        return func.HttpResponse(json.dumps({"error": f"unknown action {action}"}), status_code=400)
    return func.HttpResponse(json.dumps({"result": result}), mimetype="application/json")


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.params.get('name', 'world')}")


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in context.get_input() or ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def five_activities(context: df.DurableOrchestrationContext):
    total = 0
    for i in range(5):
        total += yield context.call_activity("add_one", i)
    return total


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = context.get_input() or 5
    tasks = [context.call_activity("add_one", i) for i in range(n)]
    values = yield context.task_all(tasks)
    return sum(values)


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    event = context.wait_for_external_event("approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return {"approved": None}


@app.orchestration_trigger(context_name="context")
def short_timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(milliseconds=300))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def wait_event(context: df.DurableOrchestrationContext):
    value = yield context.wait_for_external_event("go")
    return value


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    a = yield context.call_sub_orchestrator("sequence", ["A", "B"])
    b = yield context.call_sub_orchestrator("sequence", ["C"], "child-of-" + context.instance_id)
    return a + b


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    key = context.get_input()
    value = yield context.call_activity_with_retry("flaky", options, key)
    return value


@app.orchestration_trigger(context_name="context")
def retry_exhausted(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("always_fails", options, "x")
    except Exception as exc:
        return f"caught: {str(exc).splitlines()[0]}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def counter_orchestration(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input() or "k1")
    context.signal_entity(entity, "add", 5)
    value = yield context.call_entity(entity, "add", 1)
    current = yield context.call_entity(entity, "get")
    return {"after_add": value, "get": current}


@app.orchestration_trigger(context_name="context")
def entity_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_entity(df.EntityId("Counter", "err"), "boom")
    except Exception as exc:
        return f"caught: {exc}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def continue_counter(context: df.DurableOrchestrationContext):
    n = context.get_input() or 0
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return n


@app.orchestration_trigger(context_name="context")
def status_steps(context: df.DurableOrchestrationContext):
    for i in range(3):
        context.set_custom_status({"step": i})
        yield context.call_activity("add_one", i)
    context.set_custom_status({"step": "done"})
    return "ok"


@app.orchestration_trigger(context_name="context")
def big_status(context: df.DurableOrchestrationContext):
    context.set_custom_status("x" * 9000)
    yield context.call_activity("add_one", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):
    yield context.call_activity("add_one", 1)
    raise ValueError("orchestrator exploded")


@app.orchestration_trigger(context_name="context")
def activity_fails(context: df.DurableOrchestrationContext):
    yield context.call_activity("always_fails", "y")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def calls_missing(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def long_activity(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("cancellable_sleep", 20)
    return result


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    results = []
    for i in range(context.get_input() or 3):
        results.append((yield context.call_activity("slow_add", i)))
    return results


@app.orchestration_trigger(context_name="context")
def replay_safe_counter(context: df.DurableOrchestrationContext):
    """Counts side effects only when not replaying (the SDK's is_replaying flag)."""
    for _ in range(4):
        if not context.is_replaying:
            yield context.call_activity("record_live_step", context.instance_id)
        else:
            yield context.call_activity("record_live_step", context.instance_id)
    return "done"


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.activity_trigger(input_name="value")
async def slow_add(value: int) -> int:
    await asyncio.sleep(0.2)
    return value + 1


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    _flaky_calls[key] = _flaky_calls.get(key, 0) + 1
    if _flaky_calls[key] < 3:
        raise RuntimeError(f"transient failure {_flaky_calls[key]}")
    return f"ok after {_flaky_calls[key]}"


@app.activity_trigger(input_name="value")
def always_fails(value: str) -> str:
    raise RuntimeError(f"permanent failure for {value}")


@app.activity_trigger(input_name="seconds")
def cancellable_sleep(seconds: float) -> dict:
    try:
        from funchost.cancellation import current_token
    except ImportError:  # pragma: no cover - outside funchost
        current_token = lambda: None  # noqa: E731
    token = current_token()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if token is not None and token.cancelled:
            return {"cancelled": True}
        time.sleep(0.01)
    return {"cancelled": False}


@app.activity_trigger(input_name="instance")
def record_live_step(instance: str) -> int:
    return 1


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        value += context.get_input()
        context.set_result(value)
    elif op == "reset":
        value = 0
    elif op == "get":
        context.set_result(value)
    elif op == "boom":
        raise ValueError("counter cannot boom")
    elif op == "remove":
        context.destruct_on_exit()
        return
    context.set_state(value)


@app.orchestration_trigger(context_name="context")
def timer_then_activity(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1.5))
    value = yield context.call_activity("add_one", 41)
    return value


# -- observability (issue 5): app metrics through the OpenTelemetry API, recorded by the host ------
_meter = metrics.get_meter("conformance_app")
_metered_steps = _meter.create_counter(
    "conformance_metered_steps", unit="{step}", description="Orchestrator steps, counted only when not replaying")
_unguarded_steps = _meter.create_counter(
    "conformance_unguarded_steps", unit="{step}", description="Orchestrator steps, counted on every replay too")


@app.orchestration_trigger(context_name="context")
def metered_steps(context: df.DurableOrchestrationContext):
    """N activity steps; one guarded and one unguarded metric increment after each."""
    for i in range(context.get_input() or 3):
        yield context.call_activity("add_one", i)
        if not context.is_replaying:
            _metered_steps.add(1)
        _unguarded_steps.add(1)
    return "done"


@app.entity_trigger(context_name="context", entity_name="Slow")
def slow(context: df.DurableEntityContext) -> None:
    """Counts operations; `work` sleeps its input in milliseconds first (a mailbox that fills up)."""
    count = context.get_state(lambda: 0)
    if context.operation_name == "work":
        time.sleep((context.get_input() or 0) / 1000.0)
    context.set_state(count + 1)


# -- auth levels (issue 6): enforced once FUNCHOST_FUNCTION_KEYS / FUNCHOST_ADMIN_KEY are set ------------
@app.route(route="secure/function", methods=["GET", "POST"], auth_level=func.AuthLevel.FUNCTION)
def secure_function(req: func.HttpRequest) -> func.HttpResponse:
    """Needs a function key or the admin key once keys are configured."""
    return func.HttpResponse(json.dumps({"level": "function", "bytes": len(req.get_body())}),
                             mimetype="application/json")


@app.route(route="secure/admin", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def secure_admin(req: func.HttpRequest) -> func.HttpResponse:
    """Needs the admin key once keys are configured."""
    return func.HttpResponse(json.dumps({"level": "admin"}), mimetype="application/json")


@app.route(route="secure/items/{item?}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def secure_items(req: func.HttpRequest) -> func.HttpResponse:
    """A FUNCTION-level route with an optional parameter: the key is needed with or without it."""
    return func.HttpResponse(json.dumps({"item": req.route_params.get("item")}), mimetype="application/json")
