"""The OpenAPI document: a valid OpenAPI 3.1 file, served as is, listing exactly the app's routes."""

from __future__ import annotations

import json
import re

import pytest

from funchost.discovery import load_app
from tests.api.spec import SPEC_PATH, documented_response, load_spec, operations
from tests.hostproc import ROOT, HostProcess


def test_document_is_a_valid_openapi_3_1_document() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    validator.validate(spec, cls=validator.OpenAPIV31SpecValidator)


def test_served_document_is_the_checked_in_file(app_host: HostProcess) -> None:
    reply = app_host.request("GET", "/api/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"].split(";")[0] == "application/json"
    assert reply.body == SPEC_PATH.read_bytes()
    assert json.loads(reply.body) == load_spec()


def test_document_lists_exactly_the_routes_the_app_registers() -> None:
    prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    registered = set()
    for function in load_app(ROOT).http:
        # `{id:int}` and `{id?}` are route syntax; OpenAPI paths name the parameter only.
        route = re.sub(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}", r"{\1}", function.route.strip("/"))
        for method in function.methods:
            registered.add((method.upper(), f"/{prefix}/{route}"))
    assert set(operations(load_spec())) == registered


@pytest.mark.parametrize(("method", "path"), operations(load_spec()), ids=lambda v: str(v))
def test_every_error_response_has_the_error_shape(method: str, path: str) -> None:
    spec = load_spec()
    statuses = [int(s) for s in spec["paths"][path][method.lower()]["responses"]]
    assert any(200 <= s < 300 for s in statuses)
    for status in (s for s in statuses if s >= 400):
        content = documented_response(spec, method, path, status)["content"]
        assert list(content) == ["application/json"]
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorDocument"}


def test_the_documented_request_fields_are_the_ones_the_validators_read() -> None:
    """The routes reject every field the document does not list, so the list must be exactly what the
    validators read: a field the engine reads but the document omits could never be sent."""
    from harmony.tasks import _FIELDS  # the engine's own list (what `ignoredFields` is computed from)
    from routes.agents import REQUEST_SCHEMA_BY_TASK
    from routes.openapi import request_fields

    for task, schema in REQUEST_SCHEMA_BY_TASK.items():
        assert request_fields(schema) == frozenset(_FIELDS[task]), task
    assert request_fields("RecordPerformanceRequest") == {"playerId", "success", "timeMs", "attempts", "shapeId"}
    assert request_fields("UpdatePerformanceRequest") == {"playerId", "accuracy", "speed", "consistency", "context"}
