"""The durable client objects HTTP functions receive: parsed once per binding, a fresh copy per invocation.

An HTTP function declared with `@bp.durable_client_input(client_name=...)` is wrapped by the SDK in
`df_client_middleware`, which builds a new `DurableOrchestrationClient` from the binding's JSON text
on every call (`DurableOrchestrationBindings.from_json`: a JSON parse and four objects, ~14 us, 3 %
of a record-performance request in the profile). The binding text is the same for every request that
reaches the host by the same address, so the host parses it once (`ClientFactory`, a bounded cache
per binding text) and gives each invocation a shallow copy of that client, with its own bindings
object and URL dictionaries, so one invocation that changed its client changes no other one. The
app still receives a real `DurableOrchestrationClient`, equal attribute by attribute to the one the
SDK would have built (tested).

`direct_call` recognises the SDK's wrapper (by the names it closes over) and returns the user's own
function with the client's parameter name; anything else (another SDK version, a hand-written
wrapper) is called as before, through its own wrapper.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.durable_functions import DurableOrchestrationClient

_SDK_WRAPPER = "df_client_middleware"


@dataclass(frozen=True)
class DirectCall:
    """The user's function behind the SDK's client wrapper, and the parameter that takes the client."""

    user_code: Callable[..., Any]
    parameter: str


def direct_call(wrapper: Callable[..., Any], client_params: tuple[str, ...]) -> DirectCall | None:
    """The function `wrapper` (the SDK's `df_client_middleware`) calls, or None when it is anything else."""
    code = getattr(wrapper, "__code__", None)  # functools.wraps renamed the wrapper, not its code
    if code is None or code.co_name != _SDK_WRAPPER or getattr(wrapper, "__closure__", None) is None:
        return None
    closed = dict(zip(code.co_freevars, (cell.cell_contents for cell in wrapper.__closure__ or ()), strict=True))
    user_code, parameter = closed.get("user_code"), closed.get("parameter_name")
    if closed.get("client_constructor") is not DurableOrchestrationClient or not isinstance(parameter, str):
        return None
    if parameter not in client_params or not inspect.iscoroutinefunction(user_code):
        return None
    return DirectCall(user_code, parameter)


T = TypeVar("T")


def _shallow_copy(value: T) -> T:
    """`copy.copy` of a plain object (its attributes in a new instance), without copy's protocol lookups."""
    fresh: T = object.__new__(type(value))
    fresh.__dict__.update(value.__dict__)
    return fresh


class ClientFactory:
    """`DurableOrchestrationClient`s by binding text; owned by the host's event loop (no locks)."""

    def __init__(self, max_bindings: int = 64) -> None:
        self._parsed = functools.lru_cache(maxsize=max_bindings)(DurableOrchestrationClient)

    def client(self, binding: str, invocation_id: str | None = None) -> DurableOrchestrationClient:
        """A client for `binding` as `DurableOrchestrationClient(binding, invocation_id)` builds it."""
        parsed = self._parsed(binding)
        fresh = _shallow_copy(parsed)
        bindings = _shallow_copy(parsed._orchestration_bindings)
        bindings._creation_urls = dict(bindings._creation_urls)
        bindings._management_urls = dict(bindings._management_urls)
        fresh._orchestration_bindings = bindings
        fresh._function_invocation_id = invocation_id
        return fresh


async def release_sdk_session() -> None:
    """Close the SDK's process-wide aiohttp session, or forget it when another event loop made it.

    The durable SDK's client keeps one `aiohttp.ClientSession` per process
    (`models.utils.http_utils._client_session`), bound to the loop that made it. A second host in the
    same process on another loop (tests, an embedding app that restarts its host) would get that dead
    session and fail every client call with "Event loop is closed". The host calls this when it
    starts and when it stops. Another SDK version without that module is left alone.
    """
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:  # pragma: no cover - an SDK version without the shared session
        return
    session = getattr(http_utils, "_client_session", None)
    if session is None or session.closed:
        return
    if getattr(session, "_loop", None) is asyncio.get_running_loop():
        await session.close()
    http_utils._client_session = None
    # The SDK's lock is an asyncio.Lock made at import; a new one binds to whichever loop uses it next.
    http_utils._session_lock = asyncio.Lock()
