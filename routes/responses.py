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


MAX_JSON_DEPTH = 64


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_json_object(req: func.HttpRequest, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Parse the body as a JSON object or raise RequestError (413 when too large, 400 otherwise)."""
    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise RequestError(413, "request body too large", f"limit is {max_bytes} bytes, got {len(body)}")
    if not body.strip():
        raise RequestError(400, "request body is empty", "expected a JSON object")
    depth = _nesting_depth(body.decode("utf-8", "replace"))
    if depth > MAX_JSON_DEPTH:
        raise RequestError(400, "JSON nested too deep", f"nested {depth} levels; the limit is {MAX_JSON_DEPTH}")
    try:
        value = json.loads(body)
    except RecursionError:
        raise RequestError(400, "JSON nested too deep", f"the limit is {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers over 4,300 digits
        raise RequestError(400, "malformed JSON", str(exc)) from None
    if not isinstance(value, dict):
        raise RequestError(400, "request body must be a JSON object", f"got {type(value).__name__}")
    return value
