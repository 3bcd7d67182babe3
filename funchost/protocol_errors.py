"""aiohttp's own rejections of malformed requests (bad request line, URL, header, chunk framing) as JSON.

These never reach the app or its middlewares: aiohttp answers them from its request handler with a plain
text body and logs an ERROR traceback. `JsonErrorRunner` serves with a handler that answers the app's
error document `{error, details: [{field, message}]}` instead, and `OneLineProtocolErrors` makes the
log record one rate-limited WARNING line.
Neither the answer nor the log repeats the offending bytes (they may carry a key).
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .rejections import REJECTIONS

# Most specific first: each aiohttp error class and what the caller did wrong, without echoing input.
_DETAILS: tuple[tuple[type[HttpProcessingError], str], ...] = (
    (LineTooLong, "the request line or a header is too long (8190 bytes at most)"),
    (BadStatusLine, "the request line is malformed (expected METHOD /path HTTP/1.1)"),
    (InvalidURLError, "the request target is not a valid URL"),
    (InvalidHeader, "a header name or value is malformed"),
    (PayloadEncodingError, "the body does not match its Content-Length, Transfer-Encoding or Content-Encoding"),
    (BadHttpMessage, "the request is not valid HTTP/1.1"),
)


def describe(exc: BaseException | None) -> str:
    """What was wrong with a malformed request, in words that do not repeat the request's bytes."""
    for kind, details in _DETAILS:
        if isinstance(exc, kind):
            return details
    return "the request could not be parsed"


class _JsonErrorHandler(RequestHandler):
    """aiohttp's request handler with its error page as `{error, details}` JSON."""

    def data_received(self, data: bytes) -> None:
        """As aiohttp's, but broken framing in a body a handler is reading fails that read at once.

        aiohttp queues the parse error as a message of its own, answered after the current handler
        returns, while that handler's read waits for body bytes that never come: a chunk size of `zz`
        sent after the head held the request until the body timeout. Runs on the event loop.
        """
        queued = len(self._messages)
        super().data_received(data)
        request = self._current_request
        if request is None or len(self._messages) <= queued:
            return
        error = getattr(self._messages[-1][0], "exc", None)  # aiohttp's _ErrInfo for a parse error
        if isinstance(error, HttpProcessingError):
            request._cancel(error)  # aiohttp's own way of failing the request's pending body read

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs (one line, see the filter)
        if isinstance(exc, HttpProcessingError):
            error, details = "malformed request" if plain.status == 400 else str(plain.reason), describe(exc)
        else:  # a host bug escaped a handler: the log has the traceback
            error, details = "internal error", "the host failed while answering this request; see its log"
        # The app's error document (routes/openapi.json ErrorDocument): details is a list of {field, message}.
        response = web.json_response({"error": error, "details": [{"field": "(request)", "message": details}]},
                                     status=plain.status)
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """An AppRunner whose connections answer protocol-level errors as JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer  # same state, only the handler class differs
        return server


class OneLineProtocolErrors(logging.Filter):
    """aiohttp logs each malformed request as an ERROR traceback; make it one rate-limited WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        if not REJECTIONS.allow():
            return False
        record.msg, record.args = "rejected a malformed request (%s %s): %s", (exc.code, type(exc).__name__,
                                                                              describe(exc))
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def install_protocol_error_filter() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineProtocolErrors) for f in logger.filters):
        logger.addFilter(OneLineProtocolErrors())
