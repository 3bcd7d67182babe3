"""JSON responses and the one error document every route answers with.

Every 4xx/5xx answer of the app is

    {"error": "<one line saying what is wrong>",
     "details": [{"field": "<name>", "message": "<why>", "allowed": [...]?}, ...]}

`details` is always an array (possibly empty); `field` names the request field as the client spelled
it (`progression[3]`, `playerId`, `top`), or a placeholder in parentheses for what is not a field:
`(body)` for the request body as a whole, `(backend)` for a server-side problem. `allowed` is present
only where the valid values are a short list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import azure.functions as func

from routes import json_text

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64
BODY = "(body)"
BACKEND = "(backend)"


def field_error(field: str, message: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
    """One entry of an error document's `details`."""
    detail: dict[str, Any] = {"field": field, "message": message}
    if allowed is not None:
        detail["allowed"] = list(allowed)
    return detail


class RequestError(Exception):
    """A client error: becomes the error document with `status`."""

    def __init__(self, status: int, error: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = list(details or [])

    @classmethod
    def about(cls, status: int, error: str, field: str, message: str) -> RequestError:
        """An error about one field (or `(body)`)."""
        return cls(status, error, [field_error(field, message)])


def invalid_request(details: list[dict[str, Any]]) -> RequestError:
    """400 `invalid request: <field>: <message>; ...` listing every invalid or unknown field."""
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return RequestError(400, f"invalid request: {summary}", details)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """`body` as a JSON answer (compact UTF-8 text for plain data, see routes.json_text)."""
    return func.HttpResponse(
        json_text.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(status: int, error: str, details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> func.HttpResponse:
    """The error document `{error, details}` with `status`."""
    return json_response({"error": error, "details": list(details or [])}, status, headers)


def backend_error(status: int, error: str, exc: BaseException | str) -> func.HttpResponse:
    """A server-side failure: the error document with one `(backend)` detail."""
    return error_response(status, error, [field_error(BACKEND, str(exc)[:500] or type(exc).__name__)])


def not_found(error: str, field: str, value: str) -> func.HttpResponse:
    """404 naming the route parameter whose value names nothing."""
    return error_response(404, error, [field_error(field, f"no such {field.removesuffix('Id')}: {value!r}")])


def from_request_error(exc: RequestError) -> func.HttpResponse:
    return error_response(exc.status, exc.error, exc.details)


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
        raise RequestError.about(413, "request body too large", BODY, f"limit is {max_bytes} bytes, got {len(body)}")
    if not body.strip():
        raise RequestError.about(400, "request body is empty", BODY, "expected a JSON object")
    # Nesting can go no deeper than the brackets in the body: most bodies need no scan at all.
    brackets = body.count(b"[") + body.count(b"{")
    depth = _nesting_depth(body.decode("utf-8", "replace")) if brackets > MAX_JSON_DEPTH else 0
    if depth > MAX_JSON_DEPTH:
        raise RequestError.about(400, "JSON nested too deep", BODY,
                                 f"nested {depth} levels; the limit is {MAX_JSON_DEPTH}")
    try:
        value = json.loads(body)
    except RecursionError:
        raise RequestError.about(400, "JSON nested too deep", BODY, f"the limit is {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers over 4,300 digits
        raise RequestError.about(400, "malformed JSON", BODY, str(exc)) from None
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
            type(value), "null")
        raise RequestError.about(400, "request body must be a JSON object", BODY, f"got {kind}")
    return value
