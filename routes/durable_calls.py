"""Call an entity operation from an HTTP function and wait for its result.

The durable client of azure-functions-durable 1.x can only signal entities. To answer with the
entity's state *after* the caller's own operation (read-your-writes), a route starts the one-step
`entity_call` orchestration through the documented create-and-wait management URL
(`POST .../orchestrators/{name}?timeout=S&pollingInterval=S`), which the Azure host and funchost both
serve; it answers 200 with the orchestration output once it completes (and 200 with the status if it
failed), so no status polling is needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from typing import Any

import aiohttp
import azure.durable_functions as df
from opentelemetry import propagate

import hostext
from orchestrations.entity_call import ENTITY_CALL_ORCHESTRATOR

_session: aiohttp.ClientSession | None = None
_purges: set[asyncio.Task[Any]] = set()
log = logging.getLogger(__name__)


class EntityCallError(Exception):
    """The entity operation raised, or the call did not finish in time."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def _client_session() -> aiohttp.ClientSession:
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    return _session


def _create_and_wait_url(client: df.DurableOrchestrationClient, instance_id: str, timeout_s: int) -> str:
    template: str = client._orchestration_bindings.creation_urls["createAndWaitOnNewInstancePostUri"]
    return (
        template.replace("{functionName}", ENTITY_CALL_ORCHESTRATOR)
        .replace("[/{instanceId}]", f"/{instance_id}")
        .replace("/{instanceId?}", f"/{instance_id}")
        .replace("{timeoutInSeconds}", str(timeout_s))
        .replace("{intervalInSeconds}", "1")
    )


async def call_entity(
    client: df.DurableOrchestrationClient,
    entity: str,
    key: str,
    operation: str,
    operation_input: Any = None,
    timeout_s: int = 30,
) -> Any:
    """Run `operation` on entity `entity@key` and return its result; raise EntityCallError on failure.

    On funchost the host's in-process call is used (no orchestration, no loopback HTTP); elsewhere,
    or with FUNCHOST_DIRECT_ENTITY_CALLS=0, the portable one-step orchestration.
    """
    if os.environ.get("FUNCHOST_DIRECT_ENTITY_CALLS", "1") != "0":
        try:
            return await hostext.call_entity(entity, key, operation, operation_input, timeout_s)
        except hostext.DirectCallUnavailable:
            pass
        except hostext.DirectCallFailed as exc:
            raise EntityCallError(str(exc)) from exc
        except TimeoutError as exc:
            raise EntityCallError(f"entity {entity}@{key} did not answer within {timeout_s} s",
                                  timed_out=True) from exc
    body = {"entity": entity, "key": key, "operation": operation, "input": operation_input}
    instance_id = f"entity-call-{uuid.uuid4().hex}"
    url = _create_and_wait_url(client, instance_id, timeout_s)
    headers = {"Content-Type": "application/json"}
    propagate.inject(headers)  # the orchestration joins the caller's trace
    async with _client_session().post(url, data=json.dumps(body), headers=headers) as resp:
        text = await resp.text()
        if resp.status == 200:
            result: Any = json.loads(text) if text else None
            if _ended_badly(result, instance_id):  # the extension answers a failed end with 200 and the status
                raise EntityCallError(str(result.get("output")))
            _purge_later(client, instance_id)
            return result
        if resp.status == 202:
            raise EntityCallError(f"entity {entity}@{key} did not answer within {timeout_s} s", timed_out=True)
        try:
            status = json.loads(text)
            message = status.get("output") or status.get("Message") or text
        except (json.JSONDecodeError, AttributeError):
            message = text
        raise EntityCallError(str(message))


def _ended_badly(body: Any, instance_id: str) -> bool:
    """Whether a 200 from create-and-wait is the status of a Failed/Terminated/Canceled end (which the
    Durable extension answers with 200 and the status payload) rather than the orchestration's output."""
    return (isinstance(body, dict) and body.get("instanceId") == instance_id
            and body.get("runtimeStatus") in ("Failed", "Terminated", "Canceled"))


def _purge_later(client: df.DurableOrchestrationClient, instance_id: str) -> None:
    """Drop the finished one-step orchestration's history in the background (it has served its purpose)."""

    async def purge() -> None:
        try:
            await client.purge_instance_history(instance_id)
        except Exception as exc:  # best effort: a leftover history is harmless
            log.debug("purge of %s failed: %s", instance_id, exc)

    task = asyncio.get_running_loop().create_task(purge())
    _purges.add(task)
    task.add_done_callback(_purges.discard)
