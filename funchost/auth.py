"""Function and host keys, enforced as Azure does when they are configured (Core Tools ignores them).

A function with auth level FUNCTION accepts a function key or the admin (master) key, ADMIN only
the admin key, ANONYMOUS anything. The management API and /metrics need the admin key when one
is configured. The client RPC prefix is served to loopback callers only. Keys are compared in
constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LOOPBACK = ("127.", "::1", "localhost")


def _presented(request: web.Request) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _matches(candidate: str | None, keys: list[str]) -> bool:
    if not candidate:
        return False
    return any(hmac.compare_digest(candidate.encode(), key.encode()) for key in keys)


def _unauthorized(message: str) -> web.Response:
    return web.json_response({"error": "unauthorized", "details": message}, status=401)


def make_auth_middleware(function_keys: list[str], admin_key: str | None,
                         levels: dict[str, str]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    admin = [admin_key] if admin_key else []
    any_key = function_keys + admin

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/durabletask/"):
            remote = request.remote or ""
            if not remote.startswith(_LOOPBACK):
                return web.json_response({"error": "forbidden", "details": "the RPC endpoint is loopback-only"},
                                         status=403)
            return await handler(request)
        if path.startswith("/runtime/webhooks/") or path == "/metrics" or path.startswith("/admin/"):
            if admin and not _matches(_presented(request), admin):
                return _unauthorized("this endpoint needs the admin key (x-functions-key header or code query)")
            return await handler(request)
        if any_key:
            resource = request.match_info.route.resource
            template = resource.canonical if resource is not None else path
            level = _level_for(template, levels)
            if level == "FUNCTION" and not _matches(_presented(request), any_key):
                return _unauthorized("this function needs a function key (x-functions-key header or code query)")
            if level == "ADMIN" and not _matches(_presented(request), admin):
                return _unauthorized("this function needs the admin key")
        return await handler(request)

    return auth


def _level_for(template: str, levels: dict[str, str]) -> str:
    normalized = template.rstrip("/")
    for route, level in levels.items():
        if _same_route(route, normalized):
            return level
    return "ANONYMOUS"


def _same_route(azure_route: str, aiohttp_template: str) -> bool:
    import re

    def shape(value: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", value.rstrip("/"))

    return shape(azure_route) == shape(aiohttp_template)
