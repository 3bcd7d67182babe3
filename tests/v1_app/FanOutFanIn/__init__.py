"""Fan-out/fan-in: square 1..n in parallel, then add the squares up."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    count = context.get_input()["count"]
    squares = yield context.task_all([context.call_activity("Square", i) for i in range(1, count + 1)])
    return {"squares": squares, "sum": sum(squares)}


main = df.Orchestrator.create(orchestrator_function)
