"""Human interaction: wait for the Approval event, or give up when the durable timer fires first."""

import json
from datetime import timedelta

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    timeout_s = context.get_input()["timeoutSeconds"]
    deadline = context.current_utc_datetime + timedelta(seconds=timeout_s)
    timer = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        data = approval.result
        # Raised by the Python client, the data arrives JSON-encoded once more (the extension's doing).
        if isinstance(data, str):
            data = json.loads(data)
        return {"outcome": "approved", "by": data["by"]}
    return {"outcome": "timed out"}


main = df.Orchestrator.create(orchestrator_function)
