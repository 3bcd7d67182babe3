"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) and the client RPC endpoints.

The same handlers serve the public management API and the RPC base URL that the Python durable
client calls, as the extension's HttpApiHandler does. Every bad input gets a JSON error naming
the problem and changes nothing.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from aiohttp import web

from . import safejson
from .dispatcher import Dispatcher
from .errors import (
    BadRequest,
    EntityNotFound,
    FunchostError,
    InstanceFinished,
    InstanceNotFound,
    NoInstancesMatched,
    NotServed,
    NotSupported,
)
from .history import from_epoch, iso_seconds, parse_iso
from .http_errors import error_response
from .ids import entity_id, validate_entity_name, validate_instance_id
from .management_payloads import management_urls, status_payload
from .model import ACTIVE_STATUSES, COMPLETED, FAILED, TERMINAL_STATUSES
from .store import InstanceQuery, InstanceRow
from .telemetry import DROPPED_TRACE

log = logging.getLogger("funchost.management")
CONTINUATION_HEADER = "x-ms-continuation-token"
_RUNTIME_STATUSES = {"Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated",
                     "Suspended"}


def _flag(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query parameter as the extension reads it (.NET `bool.TryParse`): `true` or `false` in
    any case; anything else (`yes`, `1`, empty) leaves the default."""
    value = (request.query.get(name) or "").strip().lower()
    return True if value == "true" else False if value == "false" else default


def _seconds(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds <= 3600:
        raise BadRequest(f"query parameter {name!r} must be between 0 and 3600 seconds, got {value!r}")
    return seconds


def _wait_parameters(request: web.Request) -> tuple[float, float] | None:
    """(timeout, pollingInterval) when the caller asked to wait: the extension waits only when both are
    given, and refuses an interval longer than the timeout."""
    timeout, interval = _seconds(request, "timeout"), _seconds(request, "pollingInterval")
    if timeout is None or interval is None:
        return None
    if interval > timeout:
        raise BadRequest(f"Total timeout {timeout:g} should be bigger than retry timeout {interval:g}")
    return timeout, interval


def _time(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_iso(value).timestamp()
    except ValueError:
        raise BadRequest(f"query parameter {name!r} is not an ISO-8601 time: {value!r}") from None


DEFAULT_PAGE_SIZE = 100  # the extension pages instance queries at 100 when `top` is not given


def _top(request: web.Request, default: int | None = None) -> int | None:
    value = request.query.get("top")
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < 1:  # "²".isdigit() is True
        raise BadRequest(f"query parameter 'top' must be a positive integer, got {value!r}")
    return min(int(value), 10000)


def start_input(body: Any) -> tuple[str | None, bool]:
    """(input text, input_is_value) for a start body, as the extension stores the body's JSON value.

    The Python client double-encodes (its body is a JSON string holding JSON text): the value is that
    string, which the status shows as a string and the SDK's `get_input()` parses. Any other value
    (a raw object, array, number or boolean) is kept as its JSON text and shown as the value itself."""
    if body is None:
        return None, False
    if isinstance(body, str):
        return body, False
    return json.dumps(body), True


async def _json_body(request: web.Request, required: bool) -> Any:
    raw = await request.read()
    if not raw.strip():
        if required:
            raise BadRequest("the request body must be JSON")
        return None
    try:
        return safejson.loads(raw)
    except safejson.UnsafeJson as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def _operation(request: web.Request) -> str:
    """The `op` query parameter of a signal; as the extension, none signals the operation "".

    `?op=<name>` alone, with a plain name, is read from the query string as is (what parsing the query
    gives for it, without building the query's multidict on every signal); anything else is parsed."""
    text = request.query_string  # percent-decoded: an escaped `&`, `=` or `+` is no longer alphanumeric
    if text.startswith("op=") and text.isascii() and text[3:].isalnum():
        return text[3:]
    return request.query.get("op") or ""


def _mime_type(request: web.Request) -> str:
    """`request.content_type` (the media type of Content-Type, without parameters), read as is when the
    header is exactly `application/json` in any case (what every signal sender sends), else parsed."""
    raw = request.headers.get("Content-Type")
    if raw is not None and len(raw) == 16 and raw.lower() == "application/json":
        return "application/json"
    return request.content_type


def _json_kind(value: Any) -> str:
    return "array" if isinstance(value, list) else "boolean" if isinstance(value, bool) else "number"


_SHORT_INTEGER_DIGITS = 18  # far below Python's 4,300-digit limit, which a longer body meets in the parser


def signal_input(content_type: str | None, raw: bytes) -> tuple[str | None, bool]:
    """The operation input of a signal body, as the extension's HandlePostEntityOperationRequestAsync
    takes it: no body, no input; `application/json` (exactly, any case), the body's JSON value; any
    other type, the body's text as a string. The entity's `get_input()` then parses a string value's
    text as JSON (so the SDK client's double encoding, and JSON text sent as text/plain, arrive as
    values, and a string that is not JSON text fails in `get_input()` as it does on Azure). funchost
    keeps a non-string JSON value as its text, which `get_input()` reads back; the extension hands it
    over as the value, which the SDK cannot read (see docs/funchost.md). The flag says so."""
    if len(raw) <= _SHORT_INTEGER_DIGITS and raw.isdigit() and (raw[0] != 48 or len(raw) == 1):
        # A short ASCII integer without a leading zero (the usual counter signal): read as below (an int
        # for JSON, its text kept; the text itself otherwise) without the parser.
        return raw.decode(), (content_type or "").lower() == "application/json"
    if not raw.strip():
        return None, False
    if (content_type or "").lower() != "application/json":
        return raw.decode("utf-8", errors="replace"), False
    try:  # decoded as json.loads(bytes) decodes (ASCII without NUL as is), then parsed within safejson's limits
        text = raw.decode("ascii") if raw.isascii() and b"\x00" not in raw else \
            raw.decode(json.detect_encoding(raw), "surrogatepass")
        value = safejson.loads(text)
    except (UnicodeDecodeError, safejson.UnsafeJson) as exc:
        raise BadRequest(f"Could not parse JSON content: the request body is not valid JSON: {exc}") from None
    return (value, False) if isinstance(value, str) else (raw.decode().strip(), True)


def _encode_token(created: float, instance_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created, instance_id]).encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created, instance_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(created), str(instance_id)
    except Exception:
        raise BadRequest(f"invalid continuation token {token[:40]!r}") from None


def _by_method(path: str, handlers: dict[str, Any]) -> Any:
    """One route for every method of `path`; the host's errors answered through the `http_errors` table
    (as `answering_errors` does, in the same coroutine: this runs once per management request)."""
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            handler = handlers.get(request.method)
            if handler is None:
                raise NotServed(f"{request.method} is not served on {path} (use {', '.join(handlers)})")
            result: web.StreamResponse = await handler(request)
            return result
        except FunchostError as exc:
            response = error_response(exc)
            if response is None:
                raise
            return response

    return handle


class ManagementApi:
    """Handlers bound to one dispatcher; `base_url(request)` gives the public API root for links."""

    def __init__(self, dispatcher: Dispatcher, task_hub: str, system_key: str | None) -> None:
        self.dispatcher = dispatcher
        self.task_hub = task_hub
        self.system_key = system_key
        self._warned: set[tuple[str, str]] = set()

    def _warn_once(self, kind: str, name: str, what: str) -> None:
        """Log, once per function, an input funchost reads where Azure's SDK would fail (see
        docs/funchost.md, differences), so the difference shows before deploying."""
        if (kind, name) in self._warned:  # as given, first: the signal path asks for every signal
            return
        if (kind, name.lower()) not in self._warned:
            self._warned.add((kind, name.lower()))
            log.warning("%s %s %s", kind, name, what)
        if len(self._warned) < 1024:  # names are validated, not known to exist: bounded
            self._warned.add((kind, name))

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """Every path with all methods: a method the extension does not serve there answers 404, as
        the extension's HttpApiHandler does (not aiohttp's 405)."""
        p = prefix.rstrip("/")
        table: dict[str, dict[str, Any]] = {
            "/orchestrators/{name}": {"POST": self.start},
            "/orchestrators/{name}/{instance_id}": {"POST": self.start},
            "/instances": {"GET": self.list_instances, "DELETE": self.purge_many},
            "/instances/": {"GET": self.list_instances, "DELETE": self.purge_many},
            "/instances/{instance_id}": {"GET": self.get_status, "DELETE": self.purge},
            "/instances/{instance_id}/raiseEvent/{event}": {"POST": self.raise_event},
            "/instances/{instance_id}/{operation}": {"POST": self.operation},
            # First of the entity routes (no two of them match the same path): aiohttp tries the routes under
            # one prefix in order, and a signal is the management API's busiest request.
            "/entities/{name}/{key}": {"GET": self.read_entity, "POST": self.signal_entity,
                                       "DELETE": self.delete_entity},
            "/entities/{name}": {"GET": self.list_entities},
            "/entities": {"GET": self.list_entities},
            "/entities/": {"GET": self.list_entities},
        }
        return [web.route("*", p + path, _by_method(path, handlers)) for path, handlers in table.items()]

    @staticmethod
    def base_url(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}/runtime/webhooks/durabletask"

    def check_status(self, request: web.Request, instance_id: str) -> web.Response:
        links = management_urls(self.base_url(request), instance_id, self.task_hub, self.system_key)
        return web.json_response(links, status=202, headers={"Location": links["statusQueryGetUri"],
                                                             "Retry-After": "10"})

    # -- orchestrations -------------------------------------------------------------------------
    async def start(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id")
        if instance_id is not None:
            validate_instance_id(instance_id)
        body = await _json_body(request, required=False)
        input_text, input_is_value = start_input(body)
        if input_is_value and not isinstance(body, dict):
            self._warn_once("orchestrator", name, f"started with a raw JSON {_json_kind(body)} body: on "
                            "Azure the Python SDK's get_input() raises TypeError for anything but an object "
                            "(post an object, or start it through the durable client)")
        wait = _wait_parameters(request)  # checked before anything starts
        traceparent = self.dispatcher.telemetry.request_traceparent(self._dropped_trace(request),
                                                                   request.headers.get("traceparent"))
        new_id = await self.dispatcher.start_orchestration(name, instance_id, input_text, traceparent,
                                                           input_is_value=input_is_value)
        return await self._answer_started(request, new_id, wait)

    async def _answer_started(self, request: web.Request, instance_id: str,
                              wait: tuple[float, float] | None) -> web.StreamResponse:
        """The extension's WaitForCompletionOrCreateCheckStatusResponse: without a wait, or while the
        instance runs, the 202 check-status payload; Completed: 200 with the output; Failed, Terminated
        or Canceled: 200 with the status, as GET instances/{id} shows it. funchost waits for the end
        itself, so the polling interval only bounds the request, as with poll-free providers."""
        if wait is None:
            return self.check_status(request, instance_id)
        row = await self.dispatcher.wait_for_completion(instance_id, wait[0])
        if row is None or row.instance.status not in TERMINAL_STATUSES:
            return self.check_status(request, instance_id)
        if row.instance.status == COMPLETED:
            return web.json_response(row.instance.output, status=200)
        return self._status_response(request, row, fail_500=False)

    async def get_status(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        show_input = _flag(request, "showInput", True)
        show_history = _flag(request, "showHistory", False)
        show_output = _flag(request, "showHistoryOutput", False)
        fail_500 = _flag(request, "returnInternalServerErrorOnFailure", False)
        row = self.dispatcher.get_instance(instance_id)
        if row is None:
            raise InstanceNotFound(instance_id)
        return self._status_response(request, row, fail_500, show_input, show_history, show_output)

    @staticmethod
    def _status_response(request: web.Request, row: InstanceRow, fail_500: bool, show_input: bool | None = None,
                         show_history: bool | None = None, show_output: bool | None = None) -> web.Response:
        """202 with Location and Retry-After while active; 200 when done (500 for Failed only if asked)."""
        body = status_payload(row, _flag(request, "showInput", True) if show_input is None else show_input,
                              _flag(request, "showHistory", False) if show_history is None else show_history,
                              _flag(request, "showHistoryOutput", False) if show_output is None else show_output)
        status = row.instance.status
        if status in ACTIVE_STATUSES:
            return web.json_response(body, status=202, headers={"Location": str(request.url), "Retry-After": "5"})
        return web.json_response(body, status=500 if status == FAILED and fail_500 else 200)

    def _query(self, request: web.Request, purge: bool) -> InstanceQuery:
        statuses: tuple[str, ...] = ()
        raw = request.query.get("runtimeStatus")
        if raw:
            statuses = tuple(s.strip() for s in raw.split(",") if s.strip())
            unknown = [s for s in statuses if s not in _RUNTIME_STATUSES]
            if unknown:
                raise BadRequest(f"unknown runtimeStatus {unknown[0]!r}; use {sorted(_RUNTIME_STATUSES)}")
        created_from = _time(request, "createdTimeFrom")
        if purge and created_from is None:
            raise BadRequest("createdTimeFrom is required to purge instances")
        token = request.headers.get(CONTINUATION_HEADER)
        return InstanceQuery(
            created_from=created_from, created_to=_time(request, "createdTimeTo"), statuses=statuses,
            prefix=request.query.get("instanceIdPrefix") or None,
            top=None if purge else _top(request, DEFAULT_PAGE_SIZE),
            after=_decode_token(token) if token else None)

    async def list_instances(self, request: web.Request) -> web.StreamResponse:
        query = self._query(request, purge=False)
        show_input = _flag(request, "showInput", True)  # the extension includes input unless told not to
        rows = self.dispatcher.query(query)
        headers = {}
        if query.top and len(rows) == query.top:
            headers[CONTINUATION_HEADER] = _encode_token(rows[-1].created, rows[-1].instance.instance_id)
        return web.json_response([status_payload(r, show_input) for r in rows], headers=headers)

    async def purge(self, request: web.Request) -> web.StreamResponse:
        deleted = await self.dispatcher.purge(request.match_info["instance_id"])
        if not deleted:
            raise InstanceNotFound(request.match_info["instance_id"])
        return web.json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.StreamResponse:
        deleted = await self.dispatcher.purge_many(self._query(request, purge=True))
        if not deleted:
            raise NoInstancesMatched()
        return web.json_response({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        row = self.dispatcher.get_instance(instance_id)  # as the extension: 404/410 before the body
        if row is None:
            raise InstanceNotFound(instance_id)
        if row.instance.status in TERMINAL_STATUSES:
            raise InstanceFinished(instance_id, row.instance.status, "it can no longer receive events")
        if "json" not in (request.content_type or ""):
            raise BadRequest("raiseEvent needs Content-Type: application/json")
        body = await _json_body(request, required=True)
        await self.dispatcher.raise_event(instance_id, request.match_info["event"], json.dumps(body))
        return web.Response(status=202)

    async def operation(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        operation = request.match_info["operation"].lower()  # the extension matches case-insensitively
        reason = request.query.get("reason")
        if operation == "terminate":
            await self.dispatcher.terminate(instance_id, reason)
        elif operation == "suspend":
            await self.dispatcher.suspend(instance_id, reason)
        elif operation == "resume":
            await self.dispatcher.resume(instance_id, reason)
        elif operation == "restart":
            new_id = _flag(request, "restartWithNewInstanceId", True)
            wait = _wait_parameters(request)
            if self.dispatcher.get_instance(instance_id) is None:
                raise BadRequest(f"no orchestration instance with id {instance_id!r} to restart")
            started = await self.dispatcher.restart(instance_id, new_id)
            return await self._answer_started(request, started, wait)
        elif operation == "rewind":  # 404 and 410 as the extension answers them, then funchost's 501
            row = self.dispatcher.get_instance(instance_id)
            if row is None:
                raise InstanceNotFound(instance_id)
            if row.instance.status in ("Completed", "Terminated", "Canceled"):
                raise InstanceFinished(instance_id, row.instance.status, "only a failed instance can be rewound")
            raise NotSupported("rewind")
        else:
            raise NotServed(f"unknown instance operation {operation!r}")
        return web.Response(status=202)

    # -- entities -------------------------------------------------------------------------------
    def _entity(self, request: web.Request) -> str:
        key = request.match_info["key"]
        return entity_id(request.match_info["name"], "" if key == "$" else key)  # validates both

    async def read_entity(self, request: web.Request) -> web.StreamResponse:
        target = self._entity(request)
        exists, state = self.dispatcher.read_entity(target)
        if not exists:
            raise EntityNotFound(target)
        return web.Response(text=state if state is not None else "null", content_type="application/json")

    async def signal_entity(self, request: web.Request) -> web.StreamResponse:
        target = self._entity(request)
        operation = _operation(request)
        input_text, unreadable_on_azure = signal_input(_mime_type(request), await request.read())
        if unreadable_on_azure:
            self._warn_once("entity", request.match_info["name"], "signalled with a non-string JSON body "
                            "(Content-Type: application/json): on Azure the Python SDK's get_input() raises "
                            "TypeError for it (send it as text/plain, or signal through the durable client)")
        await self.dispatcher.signal_entity(target, operation, input_text,
                                            traceparent=self.dispatcher.telemetry.operation_traceparent(
                                                self._dropped_trace(request), request.headers.get("traceparent")))
        return web.Response(status=202)

    def _dropped_trace(self, request: web.Request) -> Any:
        """The request's `DROPPED_TRACE` (looked up only when tracing: a missing key costs an exception)."""
        return request.get(DROPPED_TRACE) if self.dispatcher.telemetry.tracing.enabled else None

    async def delete_entity(self, request: web.Request) -> web.StreamResponse:
        await self.dispatcher.signal_entity(self._entity(request), "delete", None, builtin_delete=True)
        return web.Response(status=202)

    async def list_entities(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name")
        if name is not None:
            name = validate_entity_name(name).lower()
        fetch_state = _flag(request, "fetchState", False)
        top = _top(request)
        token = request.headers.get(CONTINUATION_HEADER)
        after = None
        if token:
            try:
                raw_after = json.loads(base64.urlsafe_b64decode(token.encode()))
                after = (str(raw_after[0]), str(raw_after[1]))
            except Exception:
                raise BadRequest(f"invalid continuation token {token[:40]!r}") from None
        rows = self.dispatcher.store.list_entities(name, after, top, _time(request, "lastOperationTimeFrom"),
                                                   _time(request, "lastOperationTimeTo"))
        result = []
        for row in rows:
            item: dict[str, Any] = {"entityId": {"name": row.name, "key": row.key},
                                    "lastOperationTime": iso_seconds(from_epoch(row.last_op))}
            if fetch_state:
                item["state"] = json.loads(row.state) if row.state else None
            result.append(item)
        headers = {}
        if top and len(rows) == top:
            headers[CONTINUATION_HEADER] = base64.urlsafe_b64encode(
                json.dumps([rows[-1].name, rows[-1].key]).encode()).decode()
        return web.json_response(result, headers=headers)
