"""In-process entity calls for app code running inside this host (a host extra, like cancellation).

Azure's durable client for Python can only signal entities; an HTTP function that needs an
entity's answer runs a one-step orchestration. Inside funchost the app can instead ask the entity
directly through its optional adapter (`hostext.call_entity`): the operation is committed to the
entity's mailbox as usual and the answer comes back as soon as the batch commits, without an
orchestration or a loopback HTTP round trip. Elsewhere the adapter reports "unavailable".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azure.functions._durable_functions import df_dumps, df_loads

from . import fastjson
from .errors import EntityOperationError, NoDispatcher
from .ids import entity_id

__all__ = ["EntityOperationError", "available", "call_entity", "install", "wait_for_change"]

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

_dispatcher: Dispatcher | None = None


def install(dispatcher: Dispatcher | None) -> None:
    """Called by the host when it starts (and with None when it stops)."""
    global _dispatcher
    _dispatcher = dispatcher


def available() -> bool:
    return _dispatcher is not None and not _dispatcher.closing


async def call_entity(name: str, key: str, operation: str, operation_input: Any = None,
                      timeout_s: float = 30.0) -> Any:
    """Run `operation` on entity `name@key` and return its result; raise EntityOperationError if it raised."""
    if _dispatcher is None:
        raise NoDispatcher()
    traceparent = _dispatcher.telemetry.current_traceparent()
    target = entity_id(name, key)
    # Only the input's value reaches the entity (it parses the text): the codec's value, faster (fastjson).
    text = fastjson.dumps_equal(operation_input, df_dumps)
    result = await _dispatcher.call_entity(target, operation, text, timeout_s, traceparent)
    value = df_loads(result.result) if result.result is not None else None
    if result.is_error:
        raise EntityOperationError(target, operation, str(value))
    return value


async def wait_for_change(instance_id: str, timeout_s: float) -> bool:
    """Wait until the instance's status, custom status or output changes; False on timeout."""
    if _dispatcher is None:
        raise NoDispatcher()
    import asyncio

    changed = asyncio.get_running_loop().create_future()

    def on_change(_row: object) -> None:
        if not changed.done():
            changed.set_result(True)

    remove = _dispatcher.add_listener(instance_id, on_change)
    try:
        await asyncio.wait_for(changed, timeout_s)
        return True
    except TimeoutError:
        return False
    finally:
        remove()
