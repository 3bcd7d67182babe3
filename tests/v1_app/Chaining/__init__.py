"""Function chaining: three activities one after the other."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    result1 = yield context.call_activity("Hello", "Tokyo")
    result2 = yield context.call_activity("Hello", "Seattle")
    result3 = yield context.call_activity("Hello", "London")
    return [result1, result2, result3]


main = df.Orchestrator.create(orchestrator_function)
