"""The host's durable clients (funchost/durable_clients.py) against the SDK's own `df_client_middleware`."""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.durable_clients import ClientFactory, direct_call
from funchost.management_payloads import client_binding

BINDING = client_binding("http://127.0.0.1:7071/runtime/webhooks/durabletask", "http://127.0.0.1:7071/durabletask/",
                         "TestHub", "system-key", None)


def _state(value: Any, depth: int = 0) -> Any:
    """Every attribute of an SDK object, recursively, as plain values (bound functions by their name)."""
    if depth > 4 or isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, dict):
        return {k: _state(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_state(v, depth + 1) for v in value]
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return {"__type__": type(value).__qualname__, **{k: _state(v, depth + 1) for k, v in vars(value).items()}}


def _wrapped_function(with_context: bool) -> tuple[Any, list[Any]]:
    """The SDK's wrapper of one HTTP function with a durable client, and the list its calls append to."""
    bp = df.Blueprint()
    seen: list[Any] = []

    if with_context:
        @bp.route(route="with-context")
        @bp.durable_client_input(client_name="starter")
        async def with_ctx(req: func.HttpRequest, starter: df.DurableOrchestrationClient,
                           context: func.Context) -> str:
            seen.append(starter)
            return "ok"
    else:
        @bp.route(route="plain")
        @bp.durable_client_input(client_name="starter")
        async def plain(req: func.HttpRequest, starter: df.DurableOrchestrationClient) -> str:
            seen.append(starter)
            return "ok"

    app = df.DFApp()
    app.register_functions(bp)
    (function,) = app.get_functions()
    return function.get_user_function(), seen


class _Context:
    invocation_id = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize("with_context", [False, True])
def test_the_direct_call_gives_the_function_the_client_the_sdk_builds(with_context: bool) -> None:
    wrapper, seen = _wrapped_function(with_context)
    extra = {"context": _Context()} if with_context else {}
    asyncio.run(wrapper(req=None, starter=BINDING, **extra))  # the SDK's own path
    direct = direct_call(wrapper, ("starter",))
    assert direct is not None and direct.parameter == "starter"
    client = ClientFactory().client(BINDING, _Context.invocation_id if with_context else None)
    asyncio.run(direct.user_code(req=None, starter=client, **extra))
    sdk_client, host_client = seen
    assert type(host_client) is df.DurableOrchestrationClient
    assert _state(host_client) == _state(sdk_client)
    assert host_client._function_invocation_id == (_Context.invocation_id if with_context else None)


def test_each_invocation_gets_its_own_client_objects() -> None:
    factory = ClientFactory()
    first, second = factory.client(BINDING), factory.client(BINDING)
    assert first is not second
    assert first._orchestration_bindings is not second._orchestration_bindings
    first._orchestration_bindings.creation_urls["createNewInstancePostUri"] = "changed by one invocation"
    assert second._orchestration_bindings.creation_urls["createNewInstancePostUri"] != "changed by one invocation"
    assert factory.client(BINDING)._orchestration_bindings.creation_urls == \
        df.DurableOrchestrationClient(BINDING)._orchestration_bindings.creation_urls


def test_other_wrappers_are_called_as_they_are() -> None:
    async def df_client_middleware(**kwargs: Any) -> None:  # same name, not the SDK's closure
        return None

    wrapper, _ = _wrapped_function(False)
    assert direct_call(df_client_middleware, ("starter",)) is None
    assert direct_call(wrapper, ("other",)) is None  # the binding the host knows is not the wrapper's
    assert direct_call(wrapper.client_function, ("starter",)) is None
