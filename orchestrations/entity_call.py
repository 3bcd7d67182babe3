"""A one-step orchestration that calls an entity operation and returns its result (read-your-writes for HTTP)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()

ENTITY_CALL_ORCHESTRATOR = "entity_call"


@bp.orchestration_trigger(context_name="context", orchestration=ENTITY_CALL_ORCHESTRATOR)
def entity_call(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    request = context.get_input()
    entity = df.EntityId(request["entity"], request["key"])
    result = yield context.call_entity(entity, request["operation"], request.get("input"))
    return result
