"""Timer: every two seconds (and at start-up), add 1 to the `heartbeat` counter through the durable client."""

import azure.durable_functions as df
import azure.functions as func


async def main(mytimer: func.TimerRequest, starter: str) -> None:
    client = df.DurableOrchestrationClient(starter)
    await client.signal_entity(df.EntityId("Counter", "heartbeat"), "add", 1)
