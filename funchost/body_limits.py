"""Request bodies bounded while they arrive: a per-route byte limit and a time limit on reading the body.

aiohttp's own limit (`client_max_size`) is one number for the whole app and only applies once a
handler reads. This middleware, the innermost one (after the key check, so no unauthenticated
caller makes the host buffer anything it would refuse), picks the limit for the matched route:
`function_bytes` for HTTP function routes (the app's limit, e.g. 64 KB), `host_bytes` for the
management API and the rest (Azure's 100 MB). A `Content-Length` over the limit is answered 413
before one byte of the body is read; a chunked or compressed body is read in chunks and refused
as soon as its *decompressed* size passes the limit, so a gzip bomb never inflates past it. A body
that does not arrive within `body_timeout_s` gets 408, one whose chunk framing breaks 400. All close
the connection, so the rest of the body is never kept (aiohttp still reads and drops it for up to 10 s,
its lingering close, before closing). Owned by the host's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .protocol_errors import describe
from .rejections import rejected

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refusal(status: int, error: str, details: str) -> web.Response:
    """A JSON refusal that closes the connection (the unread rest of the body is dropped, never kept)."""
    document = {"error": error, "details": [{"field": "(body)", "message": details}]}  # the app's ErrorDocument
    response = web.json_response(document, status=status)
    response.force_close()
    return response


@dataclass(frozen=True)
class BodyLimits:
    """The limits for one host; `function_routes` holds the aiohttp path templates of HTTP functions."""

    host_bytes: int
    function_bytes: int
    body_timeout_s: float
    function_routes: Mapping[str, object]

    def limit_for(self, request: web.Request) -> int:
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in self.function_routes:
            return min(self.function_bytes, self.host_bytes)
        return self.host_bytes

    async def admit(self, request: web.Request) -> web.Request | web.Response:
        """Read the body within the route's limits: the request to hand on (holding the body), or the
        refusal to answer instead."""
        if not request.body_exists:
            return request
        length = request.content_length
        if length is not None and length <= self.function_bytes and length <= self.host_bytes \
                and request.client_max_size >= self.host_bytes and "Content-Encoding" not in request.headers:
            # Within every route's limit, plain (no encoding) and of a known length: it cannot grow past
            # the limit, whichever route matched (the usual small body: no route lookup, no bounded copy).
            bounded = request
            limit = self.host_bytes
        else:
            limit = self.limit_for(request)
            if length is not None and length > limit:
                rejected("refused a %d-byte body for %s: the limit is %d bytes", length, request.path[:200], limit)
                return _refusal(413, "request body too large",
                                f"Content-Length is {length} bytes; the limit for this route is {limit} bytes")
            # A plain body of a known length within the limit cannot grow past it: no bounded copy to build.
            plain = length is not None and \
                request.headers.get("Content-Encoding", "identity").strip().lower() == "identity"
            bounded = request if plain and request.client_max_size >= limit else request.clone(client_max_size=limit)
        try:
            if request.content.is_eof():  # arrived whole (most small bodies, with the headers): no timer
                await bounded.read()  # cached: the handler's read() returns these bytes
            else:
                async with asyncio.timeout(self.body_timeout_s):
                    await bounded.read()
        except web.HTTPRequestEntityTooLarge:
            rejected("refused a body over %d bytes (decompressed) for %s", limit, request.path[:200])
            return _refusal(413, "request body too large",
                            f"the body (decompressed) passes the limit for this route, {limit} bytes")
        except HttpProcessingError as exc:  # broken chunk framing, failed by protocol_errors' handler
            # Not logged here: aiohttp answers (and logs, as one line) its queued copy of this error next.
            return _refusal(400, "malformed request", describe(exc))
        except ConnectionResetError:  # the caller left before its body arrived: nobody to answer
            rejected("a caller closed the connection before its body arrived for %s", request.path[:200])
            return _refusal(400, "request body incomplete", "the connection closed before the body arrived")
        except TimeoutError:
            rejected("refused a body that took over %.0f s to arrive for %s", self.body_timeout_s,
                     request.path[:200])
            return _refusal(408, "request body timeout", f"the body did not arrive within {self.body_timeout_s:g} s")
        return bounded

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """`admit`, then the handler with the request holding the body (the host runs `admit` as a gate)."""
        admitted = await self.admit(request)
        return admitted if isinstance(admitted, web.Response) else await handler(admitted)
