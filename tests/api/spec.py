"""The app's OpenAPI document (routes/openapi.json) and a validator for live answers against it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, Reply

SPEC_PATH = ROOT / "routes" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (METHOD, path) the document declares."""
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (one level at a time) to the object it names."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented_response(spec: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The response object documented for `status`, or AssertionError naming the undocumented status."""
    responses = spec["paths"][path][method.lower()]["responses"]
    documented = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    if documented is None:
        raise AssertionError(f"{method} {path} answered {status}, which the document does not list "
                             f"(it lists {sorted(responses)})")
    return resolve(spec, documented)


def check_reply(method: str, path: str, reply: Reply, spec: dict[str, Any] | None = None) -> Any:
    """Assert that `reply` is documented for `method path`: status, media type and body schema; return the body."""
    spec = spec or load_spec()
    response = documented_response(spec, method, path, reply.status)
    content = response.get("content")
    if not content:
        assert not reply.body, f"{method} {path} {reply.status} should have no body, got {reply.body[:200]!r}"
        return None
    media_type = reply.headers.get("Content-Type", "").split(";")[0].strip()
    assert media_type in content, (
        f"{method} {path} {reply.status}: media type {media_type!r}, documented {list(content)}")
    if media_type != "application/json":
        return reply.body.decode()
    body = reply.json()
    schema = content[media_type]["schema"]
    draft = pytest.importorskip("jsonschema").Draft202012Validator
    validator = draft({**schema, "components": spec["components"]}, format_checker=draft.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path} {reply.status} breaks its schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in errors[:5])
    return body


def check_error_document(body: Any, spec: dict[str, Any] | None = None) -> None:
    """Assert that `body` is the API's one error document (schema ErrorDocument)."""
    spec = spec or load_spec()
    draft = pytest.importorskip("jsonschema").Draft202012Validator
    validator = draft({"$ref": "#/components/schemas/ErrorDocument", "components": spec["components"]})
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
              for e in validator.iter_errors(body)]
    assert not errors, f"not an ErrorDocument: {body!r}: {errors[:3]}"
