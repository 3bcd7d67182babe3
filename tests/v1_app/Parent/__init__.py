"""Sub-orchestrations and an entity call: run Chaining and FanOutFanIn as children, then use the counter."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    greetings = yield context.call_sub_orchestrator("Chaining")
    fan = yield context.call_sub_orchestrator("FanOutFanIn", {"count": 4})
    counter = df.EntityId("Counter", context.get_input()["counter"])
    context.signal_entity(counter, "add", fan["sum"])
    total = yield context.call_entity(counter, "get")
    return {"greetings": greetings, "sum": fan["sum"], "counter": total}


main = df.Orchestrator.create(orchestrator_function)
