"""Function, admin and system keys, enforced as Azure does when they are configured (Core Tools ignores them).

A function with auth level FUNCTION accepts a function key or the admin (master) key, ADMIN only
the admin key, ANONYMOUS anything. The durable management API (`/runtime/webhooks/durabletask/*`)
accepts the admin key or the durable *system* key, the one embedded in the check-status links an
app hands out (as the Durable extension's system key in Azure): that key opens nothing else.
`/metrics` and `/admin/*` need the admin key whenever any key is configured. The client RPC prefix is
served to loopback callers (and the host's own bound address) only. Keys are compared in constant
time and never logged or echoed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from .http_functions import error_document
from .rejections import rejected

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
Gate = Callable[[web.Request], web.Response | None]

MAX_PARSED_HOSTS = 64  # the names a host is called by are few; past this many, every request parses again
KNOWN_ENCODINGS = frozenset({"identity", "gzip", "deflate"})
DURABLE_PUBLIC = "/runtime/webhooks/"
RPC_PREFIX = "/durabletask/"


def is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def _presented(request: web.Request) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _matches(candidate: str | None, keys: list[str]) -> bool:
    if not candidate:
        return False
    # surrogatepass: a header byte that is not UTF-8 (e.g. 0xFF) arrives as a lone surrogate; it simply
    # does not match instead of raising.
    given = candidate.encode("utf-8", "surrogatepass")
    return any(hmac.compare_digest(given, key.encode()) for key in keys)


def presented_a_key(request: web.Request, function_keys: list[str], admin_key: str | None) -> bool:
    """Whether the caller presented a valid function or admin key (who may receive durable links with a key)."""
    return _matches(_presented(request), function_keys + ([admin_key] if admin_key else []))


def _unauthorized(message: str) -> web.Response:
    return web.json_response(error_document("unauthorized", message, "x-functions-key"), status=401)


def make_auth_gate(function_keys: list[str], admin_key: str | None, system_key: str | None,
                   levels: dict[str, str], self_address: str | None = None) -> Gate:
    """The key check as a gate: `gate(request)` is the refusal to answer, or None when the request may go on.

    `levels` maps each registered aiohttp path template of an HTTP function to its auth level.
    `self_address` is the address the host is bound to: its own calls to the RPC prefix come from there
    when it is bound to one specific address, and count as local.
    """
    admin = [admin_key] if admin_key else []
    durable = admin + ([system_key] if system_key else [])
    any_key = function_keys + admin

    parsed_hosts: set[tuple[str, str]] = set()  # (scheme, Host) pairs whose URL built: parsed once each

    def auth(request: web.Request) -> web.Response | None:
        path = request.path
        origin = (request.scheme, request.host)
        if origin not in parsed_hosts:
            try:
                request.url  # noqa: B018 (parses the Host header; a bad port raised later as a 500)
            except ValueError as exc:
                rejected("rejected a request with an invalid Host header: %s", exc)
                return web.json_response(error_document("invalid Host header", str(exc), "Host"), status=400)
            if len(parsed_hosts) < MAX_PARSED_HOSTS:
                parsed_hosts.add(origin)
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in KNOWN_ENCODINGS:
            rejected("rejected a request with Content-Encoding %r", encoding[:40])
            return web.json_response(error_document("unsupported Content-Encoding", f"{encoding[:40]!r}; accepted: "
                                                    f"{', '.join(sorted(KNOWN_ENCODINGS))}", "Content-Encoding"),
                                     status=415)
        if path.startswith(RPC_PREFIX):
            if not is_loopback(request.remote) and not (self_address and request.remote == self_address):
                return web.json_response({"error": "forbidden", "details": "the RPC endpoint is loopback-only"},
                                         status=403)
            return None
        if path.startswith(DURABLE_PUBLIC):
            if durable and not _matches(_presented(request), durable):
                return _unauthorized("the management API needs the admin or durable system key "
                                     "(x-functions-key header or code query)")
            return None
        if path == "/metrics" or path.startswith("/admin/"):
            # Whenever any key is configured: function keys alone must not leave these open.
            if any_key and not _matches(_presented(request), admin):
                return _unauthorized("this endpoint needs the admin key (x-functions-key header or code query)"
                                     + ("" if admin else "; set FUNCHOST_ADMIN_KEY to use it"))
            return None
        if any_key:
            resource = request.match_info.route.resource
            level = levels.get(resource.canonical, "ANONYMOUS") if resource is not None else "ANONYMOUS"
            if level == "FUNCTION" and not _matches(_presented(request), any_key):
                return _unauthorized("this function needs a function key (x-functions-key header or code query)")
            if level == "ADMIN" and not _matches(_presented(request), admin):
                return _unauthorized("this function needs the admin key")
        return None

    return auth


def make_auth_middleware(function_keys: list[str], admin_key: str | None, system_key: str | None,
                         levels: dict[str, str], self_address: str | None = None) -> Middleware:
    """`make_auth_gate` as an aiohttp middleware (the host runs the gate inside `gates.GateMiddleware`)."""
    gate = make_auth_gate(function_keys, admin_key, system_key, levels, self_address)

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = gate(request)
        return refusal if refusal is not None else await handler(request)

    return auth


def json_error_response(exc: web.HTTPException) -> web.Response | None:
    """aiohttp's own error (404 no route, 405, 413 body too large) as `{error, details}` JSON; None to re-raise."""
    if exc.status < 400 or exc.content_type == "application/json":
        return None
    body = error_document(exc.reason, exc.text or exc.reason)
    if exc.status == 413:
        body = error_document("request body too large", exc.text or exc.reason, "(body)")
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
    return web.json_response(body, status=exc.status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`json_error_response` as a middleware (the HTTP metrics middleware does the same when telemetry is on)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        response = json_error_response(exc)
        if response is None:
            raise
        return response
