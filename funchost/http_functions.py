"""HTTP triggers: route templates, request conversion and invocation of the app's HTTP functions."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import azure.functions as func
from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute, UrlDispatcher, UrlMappingMatchInfo
from yarl import URL

from . import console
from .discovery import HttpFunction
from .durable_clients import ClientFactory, direct_call
from .errors import StoreUnavailable

log = logging.getLogger("funchost.http")

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([^}?]+))?(\?)?\}")
_CONSTRAINTS = {
    "int": r"-?\d+", "long": r"-?\d+", "alpha": r"[A-Za-z]+", "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?", "float": r"-?\d+(?:\.\d+)?", "decimal": r"-?\d+(?:\.\d+)?",
}


def error_document(error: str, message: str, field: str = "(request)") -> dict[str, Any]:
    """The app's error document `{error, details: [{field, message}]}`, for the host's own answers on app routes."""
    return {"error": error, "details": [{"field": field, "message": message}]}


def route_paths(prefix: str, template: str) -> list[str]:
    """aiohttp paths for an Azure route template (`{id}`, `{id:int}`, `{id?}`, `{*rest}`)."""
    template = template.strip("/")
    optional = [m.group(2) for m in _PARAM.finditer(template) if m.group(4)]

    def convert(match: re.Match[str]) -> str:
        star, name, constraint, _ = match.groups()
        if star:
            return "{%s:.*}" % name
        if constraint:
            pattern = _CONSTRAINTS.get(constraint.lower())
            return "{%s:%s}" % (name, pattern) if pattern else "{%s}" % name
        return "{%s}" % name

    full = "/" + "/".join(p for p in (prefix.strip("/"), _PARAM.sub(convert, template)) if p)
    paths = [full]
    if optional:
        shortened = template
        for name in optional:
            shortened = re.sub(r"/?\{" + name + r"(?::[^}?]+)?\?\}", "", shortened)
        paths.append("/" + "/".join(p for p in (prefix.strip("/"), _PARAM.sub(convert, shortened)) if p))
    return paths


FUNCTION_MARK = "funchost_function"


class AzureRouteFallback(AbstractResource):
    """Matches function routes the way ASP.NET Core routing (the Functions host) does, for what aiohttp missed.

    Azure Functions routes are case-insensitive (`/api/Adaptive-AI/...` reaches `adaptive-ai/...`;
    the host issue Azure/azure-functions-host#7918 asks for an option to make them case-sensitive) and
    a single trailing slash is ignored (`.../status/` reaches `.../status`; #969 and #9000 rely on it).
    Exact-case requests are matched by the function's own aiohttp resource as before; this one resource,
    registered after every other and indexed under `/`, only sees requests nothing else matched.

    A match answers with the *function's own* route, so `match_info.route.resource.canonical` (what
    telemetry labels spans and `http.route` with, and what the key check looks levels up by) stays the
    declared route template; this resource's own canonical never reaches a label.
    """

    def __init__(self, router: UrlDispatcher) -> None:
        super().__init__()
        self._candidates: list[tuple[re.Pattern[str], AbstractResource]] = []
        for resource in router.resources():
            if any(getattr(route.handler, FUNCTION_MARK, None) is not None for route in resource):
                info = resource.get_info()
                pattern = info["pattern"].pattern if "pattern" in info else re.escape(info["path"])
                self._candidates.append((re.compile(pattern, re.IGNORECASE), resource))

    @property
    def canonical(self) -> str:
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        raise NotImplementedError("the route fallback has no URL of its own")

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("the route fallback is not mounted in sub-applications")

    def get_info(self) -> dict[str, Any]:  # type: ignore[override]
        return {"fallback": "case-insensitive function routes, one trailing slash ignored"}

    def raw_match(self, path: str) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return iter(())

    async def resolve(self, request: web.Request) -> tuple[UrlMappingMatchInfo | None, set[str]]:
        path = request.rel_url.path_safe
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        for pattern, resource in self._candidates:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            route = _route_for(resource, request.method)
            if route is not None:
                params = {key: unquote(value) for key, value in match.groupdict().items()}
                return UrlMappingMatchInfo(params, route), set()
        return None, set()


def _route_for(resource: AbstractResource, method: str) -> AbstractRoute | None:
    for route in resource:
        if route.method in (method, hdrs.METH_ANY):
            return route
    return None


def route_sort_key(fn: HttpFunction) -> tuple[int, int]:
    """Literal segments win over parameters, as in ASP.NET routing."""
    segments = fn.route.strip("/").split("/")
    params = sum(1 for s in segments if "{" in s)
    return (params, -len(segments))


class _Context:
    """The `context` argument Azure passes to functions that declare it."""

    def __init__(self, function_name: str, directory: str, invocation_id: str | None = None) -> None:
        self.invocation_id = invocation_id or str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = directory
        self.trace_context = None
        self.retry_context = None
        self.thread_local_storage = None


class HttpInvoker:
    """Invokes one HTTP function per request; sync functions run in a bounded thread pool."""

    def __init__(self, script_root: str, client_binding: Callable[[web.Request], str],
                 threads: int = 16) -> None:
        self.script_root = script_root
        self.client_binding = client_binding
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="funchost-http")
        self._clients = ClientFactory()

    def handler(self, fn: HttpFunction) -> Callable[[web.Request], Any]:
        # The SDK's client wrapper is skipped for the same client built once per binding (durable_clients).
        direct = direct_call(fn.callable, fn.client_params) if fn.is_async else None
        target = direct.user_code if direct is not None else fn.callable

        async def handle(request: web.Request) -> web.StreamResponse:
            if fn.methods and request.method not in fn.methods and request.method != "HEAD":
                return web.json_response(error_document("method not allowed", f"{fn.route} accepts "
                                                        f"{', '.join(fn.methods)}", "(method)"), status=405)
            body = await request.read()
            req: Any
            if fn.asgi_request:
                req = asgi_request(request, body)
            else:
                req = func.HttpRequest(
                    method=request.method, url=str(request.url), headers=dict(request.headers),
                    params=dict(request.query), route_params=dict(request.match_info), body=body)
            kwargs: dict[str, Any] = {fn.trigger_param: req}
            invocation_id = console.new_invocation_id()  # GUID-shaped and unique, without uuid4's cost
            if fn.wants_context:
                kwargs["context"] = _Context(fn.name, self.script_root, invocation_id)
            if fn.client_params:
                binding = self.client_binding(request)
                for name in fn.client_params:
                    kwargs[name] = binding
                if direct is not None:  # as the SDK's wrapper: the context's invocation id, if declared
                    kwargs[direct.parameter] = self._clients.client(binding, invocation_id if fn.wants_context
                                                                    else None)

            async def call(_: console.Invocation) -> Any:
                if fn.is_async:
                    return await target(**kwargs)
                bound = console.active().in_context(lambda: fn.callable(**kwargs))
                return await asyncio.get_running_loop().run_in_executor(self._threads, bound)

            try:
                result = await console.active().invoke_async(fn.name, console.HTTP_REASON, call, invocation_id)
            except StoreUnavailable as exc:  # a host call the function made could not be committed
                log.warning("HTTP function %s: %s", fn.name, exc)
                return web.json_response({"error": "store unavailable", "details": str(exc)}, status=503,
                                         headers={"Retry-After": str(exc.retry_after_s)})
            except Exception as exc:  # the console printed the failure; the traceback only at DEBUG
                log.debug("HTTP function %s failed", fn.name, exc_info=True)
                return web.json_response(error_document("the function failed", f"{fn.name}: {type(exc).__name__}: "
                                                        f"{exc}", "(backend)"), status=500)
            if fn.asgi_request:
                return await from_asgi_response(request, result)
            return to_response(result)

        setattr(handle, FUNCTION_MARK, fn)
        return handle

    async def run_sync(self, call: Callable[[], Any]) -> Any:
        """Run a sync function call in the host's function thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def context(self, function_name: str) -> _Context:
        return _Context(function_name, self.script_root)

    def shutdown(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def to_response(result: Any) -> web.StreamResponse:
    """The aiohttp response for what an HTTP function returned (an HttpResponse, None, text, bytes or JSON)."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-length"}
        if not any(k.lower() == "content-type" for k in headers):
            headers[hdrs.CONTENT_TYPE] = _content_type(result.mimetype or "text/plain", result.charset)
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(text=result, content_type="text/plain")
    if isinstance(result, bytes):
        return web.Response(body=result)
    return web.Response(text=json.dumps(result), content_type="application/json")


def _content_type(mimetype: str, charset: str | None) -> str:
    """The Content-Type of an HttpResponse without one: its mimetype, and its charset for text and JSON."""
    if (charset and mimetype.startswith("text/")) or mimetype == "application/json":
        return f"{mimetype}; charset={charset or 'utf-8'}"
    return mimetype


def asgi_request(request: web.Request, body: bytes) -> Any:
    """A Starlette request for HTTP-streams functions (azurefunctions-extensions-http-fastapi)."""
    from starlette.requests import Request

    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    scope = {
        "type": "http", "http_version": "1.1", "method": request.method, "scheme": request.scheme,
        "path": request.path, "raw_path": request.raw_path.encode(), "root_path": "",
        "query_string": request.query_string.encode(),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()],
        "client": (request.remote or "", 0), "server": tuple(sockname[:2]) if sockname else None,
        "path_params": dict(request.match_info),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def from_asgi_response(request: web.Request, result: Any) -> web.StreamResponse:
    """Send a Starlette response; a StreamingResponse is streamed chunk by chunk as it is produced."""
    from starlette.responses import Response, StreamingResponse

    if isinstance(result, StreamingResponse):
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in result.raw_headers
                   if k.lower() != b"content-length"]
        response = web.StreamResponse(status=result.status_code)
        for key, value in headers:
            response.headers.add(key, value)
        await response.prepare(request)
        iterator = result.body_iterator
        try:
            async for chunk in iterator:
                await response.write(chunk if isinstance(chunk, bytes) else str(chunk).encode())
        except (ConnectionResetError, RuntimeError):
            log.info("client left a streaming response of %s", request.path)
        finally:
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()
        await response.write_eof()
        return response
    if isinstance(result, Response):
        plain = web.Response(status=result.status_code, body=result.body)
        for raw_key, raw_value in result.raw_headers:
            if raw_key.lower() != b"content-length":
                plain.headers.add(raw_key.decode("latin-1"), raw_value.decode("latin-1"))
        return plain
    return to_response(result)
