"""Routes of the monitor: the page and its assets under `/_funchost/`, and two read-only admin endpoints.

`GET /admin/functions` lists what the host serves (the page's Host tab and `funchost` CLI use it);
`GET /admin/store` gives the size of the SQLite store. Both sit under `/admin/`, so the host's auth
middleware asks for the admin key there as for every admin endpoint. The page itself holds no data:
it is served to anyone who can reach the host, and asks for the admin key when the API answers 401.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from ..discovery import FunctionSet

MONITOR_PATH = "/_funchost/"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The page loads only its own scripts and styles: an injected tag could not run even if a value ever
# reached the DOM as HTML (every value is set as text).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class _HasPath(Protocol):
    path: str


class MonitoredHost(Protocol):
    """What the monitor reads from the host: the functions it serves and where its store lives."""

    functions: FunctionSet

    @property
    def store(self) -> _HasPath: ...


def add_routes(app: web.Application, host: MonitoredHost) -> None:
    """Serve the monitor on `app` (call before start; `cross_site.CrossSiteGuard` guards its actions)."""
    app.router.add_get(MONITOR_PATH.rstrip("/"), _redirect)
    app.router.add_get(MONITOR_PATH, _index)
    app.router.add_get(MONITOR_PATH + "static/{file}", _asset)

    async def functions(request: web.Request) -> web.Response:
        return web.json_response({"functions": function_list(host.functions)})

    async def store(request: web.Request) -> web.Response:
        return web.json_response(store_size(host.store.path))

    app.router.add_get("/admin/functions", functions)
    app.router.add_get("/admin/store", store)


async def _redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(MONITOR_PATH)


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)


_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


async def _asset(request: web.Request) -> web.StreamResponse:
    """One file of `static/` by its bare name (no folders, so no path can leave it)."""
    name = request.match_info["file"]
    path = STATIC_DIR / name
    kind = _ASSET_TYPES.get(path.suffix)
    if "/" in name or "\\" in name or name.startswith(".") or kind is None or not path.is_file():
        return web.json_response({"error": "not found", "details": f"the monitor has no asset {name[:80]!r}"},
                                 status=404)
    return web.FileResponse(path, headers={**SECURITY_HEADERS, "Content-Type": kind})


def function_list(functions: FunctionSet) -> list[dict[str, Any]]:
    """Every function the host serves or knows of, sorted by name, with its trigger and trigger details."""
    items: list[dict[str, Any]] = []
    for fn in functions.http:
        items.append({"name": fn.name, "trigger": "httpTrigger", "route": fn.route,
                      "methods": list(fn.methods), "authLevel": fn.auth_level})
    for kind, names in (("orchestrationTrigger", [n for n, _ in functions.orchestrators.values()]),
                        ("activityTrigger", sorted({a.name for a in functions.activities.values()})),
                        ("entityTrigger", [n for n, _ in functions.entities.values()])):
        items.extend({"name": name, "trigger": kind} for name in names)
    for timer in functions.timers:
        items.append({"name": timer.name, "trigger": "timerTrigger", "schedule": timer.schedule.expression})
    for name, kind in functions.other:
        items.append({"name": name, "trigger": kind, "supported": False})
    return sorted(items, key=lambda item: (str(item["name"]).lower(), str(item["trigger"])))


def store_size(path: str) -> dict[str, int]:
    """Bytes on disk of the SQLite store: the database file and its write-ahead log (a missing file is 0)."""
    sizes = {}
    for field, suffix in (("databaseBytes", ""), ("walBytes", "-wal"), ("shmBytes", "-shm")):
        try:
            sizes[field] = os.stat(path + suffix).st_size
        except OSError:
            sizes[field] = 0
    sizes["totalBytes"] = sum(sizes.values())
    return sizes
