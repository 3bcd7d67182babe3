"""The conformance app through the real host over HTTP, with the real SDK client inside the app."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from tests.hostproc import HostProcess

API = "/runtime/webhooks/durabletask"


def start(host: HostProcess, name: str, body: Any = None) -> str:
    reply = host.request("POST", f"/api/orchestrators/{name}", body)
    assert reply.status == 202, reply.body
    assert reply.headers["Location"].endswith(reply.json()["statusQueryGetUri"].split("/runtime")[1])
    return str(reply.json()["id"])


def run(host: HostProcess, name: str, body: Any = None, timeout: float = 20.0) -> dict[str, Any]:
    return host.wait_status(start(host, name, body), timeout=timeout)


def client(host: HostProcess, action: str, instance_id: str = "", **args: Any) -> Any:
    path = f"/api/client/{action}" + (f"/{instance_id}" if instance_id else "")
    reply = host.request("POST", path, args)
    assert reply.status == 200, reply.body
    return reply.json()["result"]


def test_activity_sequence_returns_each_result_in_order(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "sequence", ["Tokyo", "Seattle"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!"]
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert kinds.count("TaskCompleted") == 2 and kinds[0] == "ExecutionStarted"
    assert status["historyEvents"][0]["FunctionName"] == "sequence"


def test_five_activities_and_fan_out(conformance_host: HostProcess) -> None:
    assert run(conformance_host, "five_activities")["output"] == 15
    assert run(conformance_host, "fan_out", 10)["output"] == sum(range(1, 11))


def test_external_event_wins_race_against_timer(conformance_host: HostProcess) -> None:
    instance_id = start(conformance_host, "race")
    conformance_host.wait_status(instance_id, ("Running",))
    reply = conformance_host.request("POST", f"{API}/instances/{instance_id}/raiseEvent/approval", {"by": "ana"})
    assert reply.status == 202
    status = conformance_host.wait_status(instance_id)
    assert status["output"] == {"approved": {"by": "ana"}}


def test_event_raised_through_sdk_client_arrives_as_sdk_sends_it(conformance_host: HostProcess) -> None:
    instance_id = start(conformance_host, "wait_event")
    conformance_host.wait_status(instance_id, ("Running",))
    client(conformance_host, "raise", instance_id, name="go", data={"n": 1})
    status = conformance_host.wait_status(instance_id)
    # The extension double-encodes events raised by the Python client (python issue #295).
    assert status["output"] in ({"n": 1}, '{"n": 1}')


def test_durable_timer_fires_after_its_due_time(conformance_host: HostProcess) -> None:
    began = time.monotonic()
    status = run(conformance_host, "short_timer")
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] >= 0.3
    assert time.monotonic() - began >= 0.3


def test_sub_orchestrations_with_generated_and_explicit_ids(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "parent")
    assert status["output"] == ["Hello A!", "Hello B!", "Hello C!"]
    child = conformance_host.request("GET", f"{API}/instances/child-of-{status['instanceId']}").json()
    assert child["runtimeStatus"] == "Completed"


def test_retry_succeeds_on_third_attempt(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "with_retry", "retry-key-1")
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "ok after 3"
    events = [e["EventType"] for e in status["historyEvents"]]
    assert events.count("TaskFailed") == 2 and events.count("TimerFired") == 2


def test_retry_exhausted_raises_into_orchestrator(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "retry_exhausted")
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"].startswith("caught: Activity function 'always_fails' failed: permanent failure")


def test_entity_signal_and_call_from_orchestration(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "counter_orchestration", "orch-k")
    assert status["output"] == {"after_add": 6, "get": 6}
    assert conformance_host.request("GET", f"{API}/entities/Counter/orch-k").json() == 6


def test_entity_operation_error_reaches_caller(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "entity_error")
    assert status["output"] == "caught: counter cannot boom"


def test_client_signal_then_read_entity_state(conformance_host: HostProcess) -> None:
    for _ in range(3):
        client(conformance_host, "signal", entity="Counter", key="client-k", op="add", input=2)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = client(conformance_host, "read", entity="Counter", key="client-k")
        if state["exists"] and state["state"] == 6:
            break
        time.sleep(0.02)
    assert state == {"exists": True, "state": 6}
    assert client(conformance_host, "read", entity="Counter", key="never")["exists"] is False


def test_entity_delete_and_listing(conformance_host: HostProcess) -> None:
    for key in ("list-a", "list-b"):
        conformance_host.request("POST", f"{API}/entities/Counter/{key}?op=add", 1)
    conformance_host.request("DELETE", f"{API}/entities/Counter/list-a")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if conformance_host.request("GET", f"{API}/entities/Counter/list-a").status == 404 and \
                conformance_host.request("GET", f"{API}/entities/Counter/list-b").status == 200:
            break
        time.sleep(0.02)
    assert conformance_host.request("GET", f"{API}/entities/Counter/list-a").status == 404
    listing = conformance_host.request("GET", f"{API}/entities/counter?fetchState=true").json()
    keys = {item["entityId"]["key"]: item.get("state") for item in listing}
    assert keys.get("list-b") == 1 and "list-a" not in keys


def test_continue_as_new_restarts_with_new_input(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "continue_counter", 0)
    assert status["runtimeStatus"] == "Completed" and status["output"] == 3


def test_custom_status_is_visible_and_oversized_status_fails(conformance_host: HostProcess) -> None:
    status = run(conformance_host, "status_steps")
    assert status["customStatus"] == {"step": "done"}
    big = run(conformance_host, "big_status")
    assert big["runtimeStatus"] == "Failed"
    assert "custom status is too large" in big["output"] and "16 KB" in big["output"]


def test_failures_carry_the_users_message(conformance_host: HostProcess) -> None:
    failed = run(conformance_host, "fails")
    assert failed["runtimeStatus"] == "Failed"
    assert failed["output"].startswith("Orchestrator function 'fails' failed: orchestrator exploded")
    activity = run(conformance_host, "activity_fails")
    assert "Activity function 'always_fails' failed: permanent failure for y" in activity["output"]
    missing = run(conformance_host, "calls_missing")
    assert "The function 'no_such_activity' doesn't exist" in missing["output"]


def test_terminate_cancels_the_running_activity(conformance_host: HostProcess) -> None:
    instance_id = start(conformance_host, "long_activity")
    conformance_host.wait_status(instance_id, ("Running",))
    time.sleep(0.2)
    began = time.monotonic()
    reply = conformance_host.request("POST", f"{API}/instances/{instance_id}/terminate?reason=enough")
    assert reply.status == 202
    status = conformance_host.request("GET", f"{API}/instances/{instance_id}").json()
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "enough"
    assert time.monotonic() - began < 2
    again = conformance_host.request("POST", f"{API}/instances/{instance_id}/terminate?reason=again")
    assert again.status == 410


def test_suspend_holds_events_until_resume(conformance_host: HostProcess) -> None:
    instance_id = start(conformance_host, "wait_event")
    conformance_host.wait_status(instance_id, ("Running",))
    client(conformance_host, "suspend", instance_id)
    conformance_host.wait_status(instance_id, ("Suspended",))
    conformance_host.request("POST", f"{API}/instances/{instance_id}/raiseEvent/go", 7)
    time.sleep(0.2)
    assert conformance_host.request("GET", f"{API}/instances/{instance_id}").json()["runtimeStatus"] == "Suspended"
    client(conformance_host, "resume", instance_id)
    assert conformance_host.wait_status(instance_id)["output"] == 7


def test_wait_for_completion_and_sdk_status(conformance_host: HostProcess) -> None:
    reply = conformance_host.request("POST", "/api/client/wait", {"name": "sequence", "input": ["Z"]})
    assert reply.status == 200 and reply.json() == ["Hello Z!"]
    instance_id = start(conformance_host, "sequence", ["Q"])
    conformance_host.wait_status(instance_id)
    status = client(conformance_host, "status", instance_id, history=True)
    assert status["runtimeStatus"] == "Completed" and status["output"] == ["Hello Q!"]


def test_restart_and_purge(conformance_host: HostProcess) -> None:
    instance_id = start(conformance_host, "sequence", ["R"])
    conformance_host.wait_status(instance_id)
    restarted = client(conformance_host, "restart", instance_id, new=True)
    new_id = restarted["id"] if isinstance(restarted, dict) else restarted
    assert new_id != instance_id
    assert conformance_host.wait_status(new_id)["output"] == ["Hello R!"]
    assert client(conformance_host, "purge", instance_id) == 1
    assert conformance_host.request("GET", f"{API}/instances/{instance_id}").status == 404
    assert client(conformance_host, "purge", instance_id) == 0


def test_instance_queries_filter_and_page(conformance_host: HostProcess) -> None:
    ids = [start(conformance_host, "sequence", ["P"]) for _ in range(3)]
    for instance_id in ids:
        conformance_host.wait_status(instance_id)
    completed = conformance_host.request("GET", f"{API}/instances?runtimeStatus=Completed").json()
    assert set(ids) <= {s["instanceId"] for s in completed}
    seen: list[str] = []
    token = None
    while True:
        headers: dict[str, str] = {"x-ms-continuation-token": token} if token else {}
        page = conformance_host.request("GET", f"{API}/instances?top=2", headers=headers)
        seen.extend(s["instanceId"] for s in page.json())
        token = page.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    prefix = ids[0][:6]
    by_prefix = conformance_host.request("GET", f"{API}/instances?instanceIdPrefix={prefix}").json()
    assert all(s["instanceId"].startswith(prefix) for s in by_prefix) and by_prefix
    assert ids[0] in client(conformance_host, "status_by", statuses=["Completed"])


def test_explicit_instance_id_cannot_be_reused_while_running(conformance_host: HostProcess) -> None:
    first = client(conformance_host, "start", name="wait_event", id="fixed-id-1")
    assert first == "fixed-id-1"
    reply = conformance_host.request("POST", f"{API}/orchestrators/wait_event/fixed-id-1")
    assert reply.status == 409 and "already exists" in reply.json()["Message"]
    conformance_host.request("POST", f"{API}/instances/fixed-id-1/raiseEvent/go", 1)
    conformance_host.wait_status("fixed-id-1")
    again = conformance_host.request("POST", f"{API}/orchestrators/wait_event/fixed-id-1")
    assert again.status == 202


def test_bad_inputs_get_clear_errors_and_change_nothing(conformance_host: HostProcess) -> None:
    before = conformance_host.request("GET", f"{API}/instances").json()
    cases = [
        ("POST", f"{API}/orchestrators/no_such_orchestrator", None, 400, "doesn't exist"),
        ("POST", f"{API}/orchestrators/sequence", b"{not json", 400, "not valid JSON"),
        ("POST", f"{API}/orchestrators/sequence/@bad", None, 400, "must not start with '@'"),
        ("GET", f"{API}/instances/unknown-instance", None, 404, "no orchestration instance"),
        ("POST", f"{API}/instances/unknown-instance/terminate", None, 404, "no orchestration instance"),
        ("POST", f"{API}/instances/unknown-instance/raiseEvent/x", b"1", 404, "no orchestration instance"),
        ("GET", f"{API}/instances?runtimeStatus=Sleeping", None, 400, "unknown runtimeStatus"),
        ("GET", f"{API}/instances?top=zero", None, 400, "positive integer"),
        ("DELETE", f"{API}/instances", None, 400, "createdTimeFrom is required"),
        ("POST", f"{API}/entities/Counter/a@b?op=add", b"1", 400, "must not contain '@'"),
        ("POST", f"{API}/entities/NoSuchEntity/k?op=add", b"1", 400, "doesn't exist"),
        ("POST", f"{API}/entities/Counter/k?op=add", b"{oops", 400, "not valid JSON"),
        ("POST", f"{API}/entities/Counter/k?op=add", b"9" * 5000, 400, "not valid JSON"),
        ("POST", f"{API}/entities/Counter/k?op=add", b" " + b"9" * 5000, 400, "not valid JSON"),
        ("POST", f"{API}/entities/Counter/k?op=add", b"[" * 1000 + b"]" * 1000, 400, "not valid JSON"),
        ("POST", f"{API}/entities/bad%20name/k?op=add", b"1", 400, "invalid entity name"),
        ("GET", f"{API}/entities/Counter/never-seen", None, 404, "does not exist"),
    ]
    for method, path, raw, status, message in cases:
        reply = conformance_host.request(method, path, raw=raw)
        assert reply.status == status, (path, reply.status, reply.body)
        body = reply.json()
        assert message in body["Message"], (path, body)
    running = client(conformance_host, "start", name="wait_event", id="bad-event-target")
    reply = conformance_host.request("POST", f"{API}/instances/{running}/raiseEvent/go", raw=b"{not json")
    assert reply.status == 400 and "not valid JSON" in reply.json()["Message"]
    reply = conformance_host.request("POST", f"{API}/instances/{running}/raiseEvent/go", raw=b"1",
                                     headers={"Content-Type": "text/plain"})
    assert reply.status == 400
    assert conformance_host.request("GET", f"{API}/instances/{running}").json()["runtimeStatus"] == "Running"
    conformance_host.request("POST", f"{API}/instances/{running}/terminate")
    after = conformance_host.request("GET", f"{API}/instances").json()
    assert {s["instanceId"] for s in after} - {s["instanceId"] for s in before} == {running}
    assert conformance_host.request("GET", f"{API}/entities/Counter/k").status == 404


def test_http_trigger_and_unknown_route(conformance_host: HostProcess) -> None:
    reply = conformance_host.request("GET", "/api/hello?name=" + urllib.parse.quote("ré"))
    assert reply.status == 200 and reply.body.decode() == "hello ré"
    assert conformance_host.request("GET", "/api/nothing-here").status == 404
    assert conformance_host.request("POST", "/api/hello").status == 405
