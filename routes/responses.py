"""JSON responses and the `{error, details}` error shape shared by every route."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

MAX_BODY_BYTES = 64 * 1024


class RequestError(Exception):
    """A client error: becomes a JSON `{error, details}` response with `status`."""

    def __init__(self, status: int, error: str, details: Any = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(status: int, error: str, details: Any = None) -> func.HttpResponse:
    return json_response({"error": error, "details": details}, status)


def from_request_error(exc: RequestError) -> func.HttpResponse:
    return error_response(exc.status, exc.error, exc.details)


def read_json_object(req: func.HttpRequest, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Parse the body as a JSON object or raise RequestError (413 when too large, 400 otherwise)."""
    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise RequestError(413, "request body too large", f"limit is {max_bytes} bytes, got {len(body)}")
    if not body.strip():
        raise RequestError(400, "request body is empty", "expected a JSON object")
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, "malformed JSON", str(exc)) from None
    if not isinstance(value, dict):
        raise RequestError(400, "request body must be a JSON object", f"got {type(value).__name__}")
    return value
