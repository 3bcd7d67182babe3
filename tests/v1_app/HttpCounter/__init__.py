"""POST: signal the Counter entity `add` with the body's amount; GET: read its state (404 if none)."""

import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    entity = df.EntityId("Counter", req.route_params["key"])
    if req.method == "POST":
        await client.signal_entity(entity, "add", req.get_json()["amount"])
        return func.HttpResponse(status_code=202)
    state = await client.read_entity_state(entity)
    if not state.entity_exists:
        return func.HttpResponse('{"error": "no such counter"}', status_code=404, mimetype="application/json")
    return func.HttpResponse(json.dumps({"value": state.entity_state}), mimetype="application/json")
