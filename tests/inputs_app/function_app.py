"""Inputs app: starts and signals through the Python SDK client, an orchestrator and an entity that
hand back what `get_input()` returned, so tests can compare both paths with raw HTTP bodies."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_with_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start `echo_input` with the request's JSON value as the client input (the SDK encodes it)."""
    body = req.get_body()
    await client.start_new("echo_input", req.route_params["instance_id"], json.loads(body) if body else None)
    return func.HttpResponse(status_code=202)


@app.route(route="signal/{key}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_with_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Signal Box/{key} `put` with the request's JSON value through the SDK client."""
    await client.signal_entity(df.EntityId("Box", req.route_params["key"]), "put", json.loads(req.get_body()))
    return func.HttpResponse(status_code=202)


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    """Return what the orchestrator received, with its Python type."""
    value = context.get_input()
    return {"value": value, "type": type(value).__name__}


@app.entity_trigger(context_name="context", entity_name="Box")
def box(context: df.DurableEntityContext) -> None:
    """`put` keeps the operation's input as the state; a failing `get_input()` records its error instead."""
    try:
        context.set_state({"value": context.get_input(), "error": None})
    except Exception as exc:  # the test reads which inputs the SDK cannot parse
        context.set_state({"value": None, "error": type(exc).__name__})
