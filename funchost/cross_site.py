"""Cross-site writes: one guard for every route (the app's, the management API, the admin API, the monitor).

A browser sends a cross-site `text/plain` or form POST without a CORS preflight, so CORS alone cannot stop
a page the operator visits from changing state, e.g. POSTing to
`http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/{id}/terminate`. A browser marks its requests
(`Sec-Fetch-Site`, `Origin`); clients that are not browsers (curl, the durable SDK, the `funchost` CLI) send
neither and are not affected. A state-changing request (any method but GET, HEAD and OPTIONS) from a browser
is refused with 403 when:

- `Sec-Fetch-Site` says it is not same-origin (or user-initiated, `none`), or
- its `Origin` is `null` or not the host's own origin (as the request named the host), or
- it goes to the management, RPC, admin or monitor paths without the `X-Funchost-Monitor` header, which a
  form cannot set and a cross-origin script can set only after a CORS preflight.

Origins listed in the host's CORS policy (`--cors`, `Host.CORS`) are trusted as the operator said: they pass
every check. A `*` policy opens the app's own routes to every origin, never the host's own APIs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from .rejections import rejected

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MONITOR_HEADER = "X-Funchost-Monitor"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The client RPC prefix too: it is open to loopback callers without a key, and a page in the operator's
# browser is a loopback caller.
GUARDED_PREFIXES = ("/runtime/webhooks/", "/durabletask/", "/admin/", "/_funchost/")
_TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def _origin_of(request: web.Request) -> str:
    """The host's own origin as the browser sees it (the Host header it sent)."""
    return _normalise(f"{request.scheme}://{request.host}")


class CrossSiteGuard:
    """One aiohttp middleware (`self.middleware`); immutable once built, safe on any task of the host's loop."""

    def __init__(self, cors_origins: Iterable[str] = ()) -> None:
        origins = list(cors_origins)
        self.any_origin = "*" in origins
        self.trusted = {_normalise(o.rstrip("/")) for o in origins if o != "*"}

    def refusal(self, request: web.Request) -> web.Response | None:
        """The 403 answer for a refused cross-site write, or None when the request may go on."""
        reason = self.check(request)
        if reason is None:
            return None
        rejected("refused a cross-site %s %s: %s", request.method, request.path[:200], reason)
        return web.json_response({"error": "cross-site request refused", "details": reason}, status=403)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.refusal(request)  # not `or`: a Response is a mapping, falsy while it holds no keys
        return refusal if refusal is not None else await handler(request)

    def check(self, request: web.Request) -> str | None:
        """Why `request` is refused, or None when it may go on."""
        if request.method in SAFE_METHODS:
            return None
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if site is None and origin is None:
            return None  # not a browser
        guarded = request.path.startswith(GUARDED_PREFIXES)
        if origin is not None and (_normalise(origin.rstrip("/")) in self.trusted or
                                   (self.any_origin and not guarded)):
            return None
        if site is not None and site.lower() not in _TRUSTED_FETCH_SITES:
            return f"Sec-Fetch-Site is {site[:40]!r}: state-changing requests must come from the host's own origin"
        if origin is not None and origin.lower() == "null":
            return "Origin is 'null' (a sandboxed or file page)"
        if origin is not None and _normalise(origin) != _origin_of(request):
            return (f"Origin {origin[:100]!r} is not this host ({_origin_of(request)}); allow the origin with "
                    "--cors or Host.CORS in local.settings.json")
        if guarded and MONITOR_HEADER.lower() not in (k.lower() for k in request.headers):
            return f"a browser's state-changing request needs the {MONITOR_HEADER} header (as the monitor sends)"
        return None


def _normalise(origin: str) -> str:
    """`scheme://host[:port]` lower-cased, with the default port dropped as browsers do."""
    parts = urlsplit(origin.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return origin.lower()
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host}{suffix}"
