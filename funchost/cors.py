"""CORS for the app's routes as Core Tools applies `Host.CORS` / `--cors` (ASP.NET Core's CORS policy).

Origins are `*` or an exact list. A preflight (`OPTIONS` with `Origin` and
`Access-Control-Request-Method`) is answered here with 204 and never reaches a function or the key
check; an allowed origin gets `Access-Control-Allow-Origin` on every answer (added as the answer is prepared,
so streamed answers and errors carry it too). With credentials the origin
is echoed (a `*` policy may not be combined with credentials by browsers). A disallowed origin gets no
CORS headers, so the browser blocks the answer. Without a policy nothing is added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CorsMiddleware:
    def __init__(self, origins: list[str], credentials: bool) -> None:
        self.any_origin = "*" in origins
        self.origins = {origin.lower() for origin in origins if origin != "*"}
        self.credentials = credentials

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._handle(request, handler)

        self.middleware = middleware

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/").lower() in self.origins

    def _headers(self, origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": "*" if self.any_origin and not self.credentials else origin}
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if headers["Access-Control-Allow-Origin"] != "*":
            headers["Vary"] = "Origin"
        return headers

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        wanted = request.headers.get("Access-Control-Request-Method")
        if request.method == "OPTIONS" and wanted is not None:
            headers: dict[str, str] = {}
            if self.allows(origin):
                headers = self._headers(origin)
                headers["Access-Control-Allow-Methods"] = wanted.upper()
                if request.headers.get("Access-Control-Request-Headers"):
                    headers["Access-Control-Allow-Headers"] = request.headers["Access-Control-Request-Headers"]
            return web.Response(status=204, headers=headers)
        return await handler(request)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Headers for every answer to an allowed origin, streamed ones and errors included."""
        origin = request.headers.get("Origin")
        if origin is not None and self.allows(origin) and "Access-Control-Allow-Origin" not in response.headers:
            response.headers.update(self._headers(origin))

    def install(self, app: web.Application) -> None:
        app.on_response_prepare.append(self.on_prepare)
