"""Greetings app (in the style of the Durable Functions quickstarts): HTTP functions, orchestrations that
greet cities, fail, wait for an approval or call a sub-orchestration, and a counter entity. Used by the
console tests and the management API golden tests."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="greeting", methods=["GET"])
def greeting(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Logs one line and answers with its own invocation id, so a test can match the console's Id."""
    logging.info("Greeting %s", req.params.get("name", "world"))
    return func.HttpResponse(context.invocation_id)


@app.route(route="quiet_greeting", methods=["GET"])
def quiet_greeting(req: func.HttpRequest) -> func.HttpResponse:
    """host.json sets Function.quiet_greeting to Warning: only its warning shows."""
    logging.info("quiet info line")
    logging.warning("quiet warning line")
    return func.HttpResponse("shh")


@app.route(route="chatty_greeting", methods=["GET"])
def chatty_greeting(req: func.HttpRequest) -> func.HttpResponse:
    """host.json sets Function.chatty_greeting.User to Debug: its debug record shows."""
    logging.debug("chatty debug line")
    return func.HttpResponse("hi")


@app.route(route="broken", methods=["GET"])
def broken(req: func.HttpRequest) -> func.HttpResponse:
    """Always raises; the URL it logs carries a key that must never reach the console."""
    logging.info("calling https://example.invalid/api/x?code=s3cret-code&name=ok")
    raise ValueError("the greeting service is down")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def greet_cities(context: df.DurableOrchestrationContext):
    results = []
    for city in ("Tokyo", "Lima"):
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def greet_badly(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("refuse", "Oslo"))


@app.orchestration_trigger(context_name="context")
def greet_family(context: df.DurableOrchestrationContext):
    """Greets through a sub-orchestration (with its own instance id) and then one more city."""
    cities = yield context.call_sub_orchestrator("greet_cities", None, f"{context.instance_id}-child")
    last = yield context.call_activity("say_hello", "Accra")
    return [*cities, last]


@app.orchestration_trigger(context_name="context")
def await_approval(context: df.DurableOrchestrationContext):
    """Waits for an `approve` event, then greets the approver."""
    context.set_custom_status({"waiting_for": "approve"})
    approver = yield context.wait_for_external_event("approve")
    context.set_custom_status(None)
    return (yield context.call_activity("say_hello", approver))


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    logging.info("Saying hello to %s", city)
    return f"Hello {city}!"


@app.activity_trigger(input_name="city")
def refuse(city: str) -> str:
    raise RuntimeError(f"no greetings for {city} today")


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "explode":
        raise ValueError("counter exploded")
    context.set_state(value)
