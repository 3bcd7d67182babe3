"""Request gates: the host's checks before a handler (Host allowlist, cross-site writes, keys, body limits)
run as one aiohttp middleware layer.

Each check is a gate: `gate(request)` returns the refusal to answer, or None to let the request go on;
the body limits' `admit(request)` returns the request holding its body, or the refusal. As separate
middlewares they cost a coroutine and a handler partial each per request; run in one layer, in the
same order, they answer exactly as the chain of middlewares did. Immutable once built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Gate = Callable[[web.Request], web.Response | None]
Admit = Callable[[web.Request], Awaitable[web.Request | web.Response]]


class GateMiddleware:
    """`gates` in order, then `admit` (if any), then the handler: one new-style aiohttp middleware."""

    __middleware_version__ = 1

    def __init__(self, gates: Sequence[Gate], admit: Admit | None = None) -> None:
        self._gates = tuple(gates)
        self._admit = admit

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        for gate in self._gates:
            refusal = gate(request)
            if refusal is not None:
                return refusal
        if self._admit is not None:
            admitted = await self._admit(request)
            if isinstance(admitted, web.Response):
                return admitted
            request = admitted
        return await handler(request)
