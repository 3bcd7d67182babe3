"""Raise the Approval event on an instance (the older orchestrationClient binding, a named http output)."""

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, client: str, res: func.Out[func.HttpResponse]) -> None:
    durable = df.DurableOrchestrationClient(client)
    await durable.raise_event(req.route_params["instanceId"], "Approval", req.get_json())
    res.set(func.HttpResponse(status_code=202, body='{"raised": "Approval"}', mimetype="application/json"))
