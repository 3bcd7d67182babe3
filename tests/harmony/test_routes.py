"""The agent routes' own logic: validation before any durable call, state mapping, 404/409, paging.

The HTTP contract end to end (real host, real durable backend) is covered by the host tests; here the
route functions run against a recording stand-in for the durable client that returns the SDK's real
`DurableOrchestrationStatus` objects.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from routes import agents


def route(name: str) -> Any:
    """The user function behind a registered route (inside the SDK's durable-client middleware)."""
    for builder in agents.bp._function_builders:
        function = builder._function
        if function.get_function_name() == name:
            return function.get_user_function().__wrapped__
    raise KeyError(name)


class RecordingClient:
    """Answers like the durable client from a dict of instance JSON; records starts and terminates."""

    def __init__(self, instances: dict[str, dict[str, Any]] | None = None, finish_on_terminate: str | None = None):
        self.instances = instances or {}
        self.started: list[tuple[str, Any]] = []
        self.terminated: list[str] = []
        self.finish_on_terminate = finish_on_terminate

    async def start_new(self, name: str, instance_id: str | None, client_input: Any) -> str:
        self.started.append((name, client_input))
        self.instances["new-1"] = {"name": name, "instanceId": "new-1", "createdTime": "2026-01-01T00:00:00Z",
                                   "runtimeStatus": "Pending"}
        return "new-1"

    def create_http_management_payload(self, instance_id: str) -> dict[str, str]:
        return {"id": instance_id, "statusQueryGetUri": f"http://host/runtime/instances/{instance_id}"}

    async def get_status(self, instance_id: str) -> DurableOrchestrationStatus:
        return DurableOrchestrationStatus.from_json(self.instances.get(instance_id, ""))

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append(instance_id)
        status = self.finish_on_terminate or "Terminated"
        self.instances[instance_id] = {**self.instances[instance_id], "runtimeStatus": status, "output": reason}

    async def get_status_by(self, runtime_status: Any = None, **_: Any) -> list[DurableOrchestrationStatus]:
        wanted = {status.value for status in runtime_status}
        return [DurableOrchestrationStatus.from_json(i) for i in self.instances.values()
                if i["runtimeStatus"] in wanted]


def request(method: str, url: str, body: Any = None, route_params: dict[str, str] | None = None,
            params: dict[str, str] | None = None) -> func.HttpRequest:
    data = json.dumps(body).encode() if body is not None else b""
    return func.HttpRequest(method, url, body=data, route_params=route_params or {}, params=params or {})


def instance(task_id: str, status: str, name: str = "agent_spice_up", created: str = "2026-01-01T00:00:00Z",
             **extra: Any) -> dict[str, Any]:
    return {"name": name, "instanceId": task_id, "createdTime": created, "lastUpdatedTime": created,
            "runtimeStatus": status, **extra}


async def test_invalid_request_creates_no_instance() -> None:
    client = RecordingClient()
    reply = await route("agents_spice_up")(
        request("POST", "http://h/api/agents/tasks/spice-up", {"progression": ["Dm7", "X9"], "style": "polka"}),
        client)
    assert reply.status_code == 400
    body = json.loads(reply.get_body())
    assert {d["field"] for d in body["details"]} == {"progression[1]", "style"}
    assert "'X9'" in body["error"]
    assert client.started == []


async def test_start_answers_202_with_links_and_location() -> None:
    client = RecordingClient()
    body = {"progression": "Dm7 G7 Cmaj7", "style": "jazz"}
    reply = await route("agents_spice_up")(request("POST", "http://h:7071/api/agents/tasks/spice-up", body), client)
    assert reply.status_code == 202
    payload = json.loads(reply.get_body())
    assert payload["taskId"] == "new-1" and payload["type"] == "spice-up"
    assert payload["statusUrl"] == "http://h:7071/api/agents/tasks/new-1/status"
    assert reply.headers["Location"] == payload["statusUrl"]
    assert payload["statusQueryGetUri"].endswith("/new-1")
    assert client.started == [("agent_spice_up", {"type": "spice-up", "request": body})]


async def test_malformed_and_oversized_bodies() -> None:
    client = RecordingClient()
    create = route("agents_create")
    bad = func.HttpRequest("POST", "http://h/api/agents/tasks/create", body=b"{nope", route_params={})
    assert (await create(bad, client)).status_code == 400
    huge = func.HttpRequest("POST", "http://h/api/agents/tasks/create", body=b" " * 70_000, route_params={})
    assert (await create(huge, client)).status_code == 413
    assert client.started == []


@pytest.mark.parametrize(("runtime", "state"), [
    ("Pending", "Pending"), ("Running", "Running"), ("ContinuedAsNew", "Running"), ("Suspended", "Running"),
    ("Completed", "Completed"), ("Failed", "Failed"), ("Terminated", "Cancelled"), ("Canceled", "Cancelled"),
])
async def test_status_maps_runtime_states(runtime: str, state: str) -> None:
    custom = {"type": "spice-up", "stage": "searching", "progress": 0.4, "message": "search 30% done"}
    output = {"progression": ["Dm9"]} if runtime == "Completed" else "agent task timed out after 32 s"
    client = RecordingClient({"t1": instance("t1", runtime, customStatus=custom, output=output)})
    reply = await route("agents_task_status")(request("GET", "http://h/x", route_params={"taskId": "t1"}), client)
    view = json.loads(reply.get_body())
    assert reply.status_code == 200 and view["state"] == state and view["type"] == "spice-up"
    assert set(view) == {"taskId", "type", "state", "progress", "stage", "statusMessage", "result", "errorMessage",
                         "createdTime", "lastUpdatedTime"}
    if state == "Completed":
        assert view["progress"] == 1.0 and view["result"] == output and view["errorMessage"] is None
    elif state == "Failed":
        assert "timed out" in view["errorMessage"] and view["result"] is None
    else:
        assert view["progress"] == 0.4 and view["result"] is None


async def test_unknown_foreign_and_invalid_ids() -> None:
    client = RecordingClient({"other": instance("other", "Running", name="entity_call")})
    status = route("agents_task_status")
    assert (await status(request("GET", "http://h/x", route_params={"taskId": "nope"}), client)).status_code == 404
    assert (await status(request("GET", "http://h/x", route_params={"taskId": "other"}), client)).status_code == 404
    assert (await status(request("GET", "http://h/x", route_params={"taskId": "bad id!"}), client)).status_code == 400
    assert (await status(request("GET", "http://h/x", route_params={"taskId": "x" * 129}), client)).status_code == 400


async def test_cancel_running_task() -> None:
    client = RecordingClient({"t1": instance("t1", "Running")})
    reply = await route("agents_cancel_task")(request("POST", "http://h/x", route_params={"taskId": "t1"}), client)
    assert reply.status_code == 202 and json.loads(reply.get_body()) == {"taskId": "t1", "state": "Cancelled"}
    assert client.terminated == ["t1"]
    view = await route("agents_task_status")(request("GET", "http://h/x", route_params={"taskId": "t1"}), client)
    assert json.loads(view.get_body())["state"] == "Cancelled"


@pytest.mark.parametrize("runtime", ["Completed", "Failed", "Terminated"])
async def test_cancel_finished_task_is_409(runtime: str) -> None:
    client = RecordingClient({"t1": instance("t1", runtime)})
    reply = await route("agents_cancel_task")(request("POST", "http://h/x", route_params={"taskId": "t1"}), client)
    assert reply.status_code == 409 and client.terminated == []


async def test_task_finishing_during_cancel_stays_completed() -> None:
    client = RecordingClient({"t1": instance("t1", "Running")}, finish_on_terminate="Completed")
    reply = await route("agents_cancel_task")(request("POST", "http://h/x", route_params={"taskId": "t1"}), client)
    assert reply.status_code == 409
    assert json.loads(reply.get_body())["details"]["state"] == "Completed"


async def test_cancel_unknown_is_404() -> None:
    reply = await route("agents_cancel_task")(request("POST", "http://h/x", route_params={"taskId": "t9"}),
                                              RecordingClient())
    assert reply.status_code == 404


async def test_active_tasks_are_paged_in_created_order() -> None:
    client = RecordingClient({
        "b": instance("b", "Running", created="2026-01-01T00:00:02Z", customStatus={"progress": 0.5}),
        "a": instance("a", "Pending", name="agent_create", created="2026-01-01T00:00:01Z"),
        "c": instance("c", "Running", name="agent_reharmonize", created="2026-01-01T00:00:02Z"),
        "done": instance("done", "Completed"),
        "foreign": instance("foreign", "Running", name="entity_call"),
    })
    active = route("agents_active_tasks")
    first = json.loads((await active(request("GET", "http://h/x", params={"top": "2"}), client)).get_body())
    assert [t["taskId"] for t in first["tasks"]] == ["a", "b"]
    assert first["tasks"][0] == {"taskId": "a", "type": "create", "state": "Pending", "progress": 0.0,
                                 "createdTime": "2026-01-01T00:00:01+00:00"}
    assert first["tasks"][1]["progress"] == 0.5
    token = first["continuationToken"]
    second = json.loads((await active(request("GET", "http://h/x", params={"top": "2", "continuationToken": token}),
                                      client)).get_body())
    assert [t["taskId"] for t in second["tasks"]] == ["c"] and second["continuationToken"] is None
    for params in ({"top": "0"}, {"top": "101"}, {"top": "x"}, {"continuationToken": "%%%"}):
        assert (await active(request("GET", "http://h/x", params=params), client)).status_code == 400
