"""The one table from the host's errors to HTTP responses of the Durable management API.

Handlers raise `FunchostError`s; `answering_errors` (applied to every management route when it is
registered) turns each into its response: the status, the `ExceptionType` the extension names, the
body `{Message, ExceptionMessage, ExceptionType, error}` with the error's own message, and headers such
as `Retry-After`. An error class missing from the table is looked up by its base classes; a
`FunchostError` that no row covers is a host bug and propagates (the outer JSON error middleware answers it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import (
    BadRequest,
    EntityNotFound,
    FunchostError,
    HostShuttingDown,
    InstanceAlreadyExists,
    InstanceFinished,
    InstanceNotFound,
    InvalidIdError,
    NoInstancesMatched,
    NotServed,
    NotSupported,
    StoreUnavailable,
    UnknownFunction,
)

Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


@dataclass(frozen=True)
class ErrorResponse:
    """How one error class answers: status, the .NET exception type the extension reports, and whether
    the answer carries `Retry-After` (the error's `retry_after_s`)."""

    status: int
    exception_type: str
    retry_after: bool = False


ERROR_RESPONSES: dict[type[FunchostError], ErrorResponse] = {
    BadRequest: ErrorResponse(400, "ArgumentException"),
    InvalidIdError: ErrorResponse(400, "ArgumentException"),
    UnknownFunction: ErrorResponse(400, "ArgumentException"),
    InstanceNotFound: ErrorResponse(404, "InstanceNotFound"),
    NoInstancesMatched: ErrorResponse(404, "InstanceNotFound"),
    EntityNotFound: ErrorResponse(404, "EntityNotFound"),
    NotServed: ErrorResponse(404, "NotFound"),
    InstanceAlreadyExists: ErrorResponse(409, "InvalidOperationException"),
    InstanceFinished: ErrorResponse(410, "InvalidOperationException"),
    NotSupported: ErrorResponse(501, "NotImplementedException"),
    HostShuttingDown: ErrorResponse(503, "HostShuttingDown"),
    StoreUnavailable: ErrorResponse(503, "StoreUnavailable", retry_after=True),
}


def management_error(status: int, message: str, exception_type: str) -> web.Response:
    """The management API's error body, as the extension's fields plus funchost's `error`."""
    body = {"Message": message, "ExceptionMessage": message, "ExceptionType": exception_type, "error": message}
    return web.json_response(body, status=status)


def lookup(error_class: type[BaseException]) -> ErrorResponse | None:
    """The table row of `error_class` or of its nearest base class that has one."""
    for cls in error_class.__mro__:
        row = ERROR_RESPONSES.get(cls)  # type: ignore[call-overload]
        if row is not None:
            return row
    return None


def error_response(exc: FunchostError) -> web.Response | None:
    """The response for `exc`, or None when the table has no row for it."""
    row = lookup(type(exc))
    if row is None:
        return None
    response = management_error(row.status, str(exc), row.exception_type)
    if row.retry_after:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after_s", 1))
    return response


def answering_errors(handler: Handler) -> Handler:
    """`handler` with every host error in the table answered as its row says."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except FunchostError as exc:
            response = error_response(exc)
            if response is None:
                raise
            return response

    return handle
