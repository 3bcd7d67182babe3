"""A small app for the end-to-end alert test: a Worker entity whose operations are as slow as asked,
and an orchestration that signals it many times at once."""

import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context", entity_name="Worker")
def worker(context: df.DurableEntityContext) -> None:
    """Counts operations; `work` sleeps its input in milliseconds first."""
    if context.operation_name == "work":
        time.sleep(float(context.get_input() or 0) / 1000.0)
    context.set_state(context.get_state(lambda: 0) + 1)


@app.orchestration_trigger(context_name="context")
def burst(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Signals `work` to Worker `key` `count` times in one episode: the host commits and enqueues the
    signals together, so they all wait in one mailbox at once."""
    request = context.get_input()
    target = df.EntityId("Worker", request["key"])
    for _ in range(int(request["count"])):
        context.signal_entity(target, "work", 0)
    return request["count"]
    yield  # a generator, as the SDK expects of an orchestrator
