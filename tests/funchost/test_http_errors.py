"""The error -> response table of the management API (funchost/http_errors.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from funchost import errors
from funchost.http_errors import ERROR_RESPONSES, answering_errors, error_response, lookup


def _body(response: web.Response) -> dict[str, str]:
    assert response.body is not None
    return dict(json.loads(bytes(response.body)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("exc", "status", "kind"), [
    (errors.BadRequest("query parameter 'top' must be a positive integer, got '0'"), 400, "ArgumentException"),
    (errors.InvalidIdError("instance id", "a/b", "no slashes"), 400, "ArgumentException"),
    (errors.UnknownFunction("orchestrator", "nope"), 400, "ArgumentException"),
    (errors.InstanceNotFound("i-1"), 404, "InstanceNotFound"),
    (errors.NoInstancesMatched(), 404, "InstanceNotFound"),
    (errors.EntityNotFound("@counter@k"), 404, "EntityNotFound"),
    (errors.NotServed("unknown instance operation 'explode'"), 404, "NotFound"),
    (errors.InstanceAlreadyExists("i-1", "Running"), 409, "InvalidOperationException"),
    (errors.InstanceFinished("i-1", "Completed"), 410, "InvalidOperationException"),
    (errors.NotSupported("rewind"), 501, "NotImplementedException"),
    (errors.HostShuttingDown(), 503, "HostShuttingDown"),
])
def test_each_error_answers_its_status_with_its_own_message(exc: errors.FunchostError, status: int,
                                                             kind: str) -> None:
    response = error_response(exc)
    assert response is not None and response.status == status
    assert _body(response) == {"Message": str(exc), "ExceptionMessage": str(exc), "ExceptionType": kind,
                               "error": str(exc)}
    assert "Retry-After" not in response.headers


def test_store_unavailable_tells_the_client_when_to_retry() -> None:
    response = error_response(errors.StoreUnavailable("database is locked"))
    assert response is not None and response.status == 503
    assert response.headers["Retry-After"] == str(errors.StoreUnavailable.retry_after_s)
    assert "database is locked" in _body(response)["error"]


def test_every_row_is_a_distinct_host_error_and_subclasses_use_their_base_row() -> None:
    assert all(issubclass(cls, errors.FunchostError) for cls in ERROR_RESPONSES)

    class Narrower(errors.InstanceNotFound):
        pass

    assert lookup(Narrower) is ERROR_RESPONSES[errors.InstanceNotFound]
    assert lookup(errors.DataFolderInUse) is None  # a start-up error: never an HTTP answer


def test_one_builder_per_message_kind() -> None:
    assert str(errors.InstanceFinished("i", "Completed")) == "orchestration instance 'i' is already Completed"
    assert str(errors.InstanceFinished("i", "Failed", "it can no longer receive events")) == \
        "instance 'i' is Failed: it can no longer receive events"
    assert str(errors.UnknownFunction("entity", "x")) == errors.not_a_function_message("entity", "x")


def test_the_wrapper_answers_table_errors_and_lets_others_through() -> None:
    async def gone(_request: web.Request) -> web.StreamResponse:
        raise errors.InstanceFinished("i", "Terminated")

    async def startup_only(_request: web.Request) -> web.StreamResponse:
        raise errors.DataFolderInUse("/tmp/x")

    request = make_mocked_request("GET", "/runtime/webhooks/durabletask/instances/i")
    response = asyncio.run(answering_errors(gone)(request))
    assert response.status == 410
    with pytest.raises(errors.DataFolderInUse):
        asyncio.run(answering_errors(startup_only)(request))
