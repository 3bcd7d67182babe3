"""The Durable HTTP API as the extension serves it: listing with input and pages of 100, raiseEvent order,
start and signal bodies taken as the extension takes them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess

APP = ROOT / "tests" / "conformance_app"
INPUTS_APP = ROOT / "tests" / "inputs_app"
BASE = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    proc = HostProcess(APP, Path(tmp_path_factory.mktemp("fidelity"))).start()
    yield proc
    proc.stop()


def test_listing_includes_input_and_pages_at_100(host: HostProcess) -> None:
    for i in range(105):
        assert host.request("POST", f"{BASE}/orchestrators/wait_event/page-{i:03d}", body={"n": i}).status == 202
    first = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-")
    assert first.status == 200
    page = first.json()
    assert len(page) == 100
    one = host.request("GET", f"{BASE}/instances/page-007").json()
    assert next(item for item in page if item["instanceId"] == "page-007")["input"] == one["input"]
    assert all(item["input"] == {"n": int(item["instanceId"][-3:])} for item in page)  # the value, as posted
    token = first.headers["x-ms-continuation-token"]
    second = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-",
                          headers={"x-ms-continuation-token": token})
    rest = second.json()
    assert len(rest) == 5 and "x-ms-continuation-token" not in second.headers
    assert {item["instanceId"] for item in page + rest} == {f"page-{i:03d}" for i in range(105)}
    hidden = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&showInput=false&top=3").json()
    assert len(hidden) == 3 and all("input" not in item or item["input"] is None for item in hidden)


def test_raise_event_checks_the_instance_before_the_body(host: HostProcess) -> None:
    missing = host.request("POST", f"{BASE}/instances/no-such-instance/raiseEvent/go", raw=b"not json",
                           headers={"Content-Type": "text/plain"})
    assert missing.status == 404 and "no-such-instance" in missing.json()["error"]
    assert host.request("POST", f"{BASE}/orchestrators/sequence/done-1", body=None).status == 202
    host.wait_status("done-1")
    gone = host.request("POST", f"{BASE}/instances/done-1/raiseEvent/go", raw=b"not json",
                        headers={"Content-Type": "text/plain"})
    assert gone.status == 410 and "can no longer receive events" in gone.json()["error"]
    assert host.request("POST", f"{BASE}/orchestrators/wait_event/live-1", body=None).status == 202
    bad = host.request("POST", f"{BASE}/instances/live-1/raiseEvent/go", raw=b"not json",
                       headers={"Content-Type": "application/json"})
    assert bad.status == 400


def test_waits_and_booleans_as_the_extension_reads_them(host: HostProcess) -> None:
    done = host.request("POST", f"{BASE}/orchestrators/sequence/w-1?timeout=20&pollingInterval=1", body=["Oslo"])
    assert done.status == 200 and done.json() == ["Hello Oslo!"]
    again = host.request("POST", f"{BASE}/instances/w-1/restart?restartWithNewInstanceId=false&timeout=20"
                                 "&pollingInterval=1")
    assert again.status == 200 and again.json() == ["Hello Oslo!"]  # restart waits the same way
    assert "historyEvents" in host.request("GET", f"{BASE}/instances/w-1?showHistory=TRUE").json()
    assert "historyEvents" not in host.request("GET", f"{BASE}/instances/w-1?showHistory=1").json()
    assert host.request("GET", f"{BASE}/instances/w-1?showInput=0").json()["input"] is not None  # default: true
    assert host.request("POST", f"{BASE}/instances/w-1/Terminate").status == 410  # operations ignore case
    assert host.request("GET", f"{BASE}/instances/w-1/terminate").status == 404
    assert host.request("PUT", f"{BASE}/instances/w-1").status == 404


def test_failed_start_with_wait_answers_200_with_the_status(host: HostProcess) -> None:
    reply = host.request("POST", f"{BASE}/orchestrators/activity_fails/w-2?timeout=20&pollingInterval=1")
    assert reply.status == 200  # not 500: the extension answers a Failed end with GET status's 200
    body = reply.json()
    assert body["runtimeStatus"] == "Failed" and "permanent failure for y" in body["output"]
    failed = host.request("POST", f"{BASE}/orchestrators/activity_fails/w-3?timeout=20&pollingInterval=1"
                                  "&showHistory=true")
    events = failed.json()["historyEvents"]  # the status as GET shows it, query flags included
    assert [e["EventType"] for e in events] == ["ExecutionStarted", "TaskFailed", "ExecutionCompleted"]
    assert events[1]["FunctionName"] == "always_fails" and "Result" not in events[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    proc = HostProcess(INPUTS_APP, Path(tmp_path_factory.mktemp("inputs"))).start()
    yield proc
    proc.stop()


# (client input, the status `input` the extension shows, what get_input() returns). The SDK client
# double-encodes: its body is a JSON string holding JSON text, which the extension keeps as a string.
SDK_STARTS = [({"a": 1}, '{"a": 1}', {"a": 1}), ("hi", '"hi"', "hi"), (5, "5", 5), (None, None, None)]


@pytest.mark.parametrize(("client_input", "shown", "received"), SDK_STARTS)
def test_sdk_client_start_shows_the_string_and_get_input_the_value(inputs: HostProcess, client_input: Any,
                                                                   shown: Any, received: Any) -> None:
    instance_id = f"sdk-{type(client_input).__name__}"
    assert inputs.request("POST", f"/api/start/{instance_id}", body=client_input).status == 202
    status = inputs.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["input"] == shown
    assert status["output"] == {"value": received, "type": type(received).__name__}


# (raw JSON body, the status `input`, the orchestrator's output or None when get_input() fails)
RAW_STARTS = [
    (b'{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}, {"value": {"a": 1, "b": [True, None]},
                                                                   "type": "dict"}),
    (b"[1, 2]", [1, 2], {"value": [1, 2], "type": "list"}),
    (b"7", 7, {"value": 7, "type": "int"}),
    (b'"{\\"a\\": 1}"', '{"a": 1}', {"value": {"a": 1}, "type": "dict"}),  # JSON text in a JSON string
    (b'"/tmp/x"', "/tmp/x", None),  # a string whose text is not JSON: the SDK's get_input() cannot parse it
]


@pytest.mark.parametrize(("raw", "shown", "output"), RAW_STARTS)
def test_raw_json_start_body_is_stored_as_its_value(inputs: HostProcess, raw: bytes, shown: Any,
                                                    output: Any) -> None:
    instance_id = f"raw-{[case[0] for case in RAW_STARTS].index(raw)}"
    assert inputs.request("POST", f"{BASE}/orchestrators/echo_input/{instance_id}", raw=raw,
                          headers={"Content-Type": "application/json"}).status == 202
    status = inputs.wait_status(instance_id)
    assert status["input"] == shown
    if output is None:
        assert status["runtimeStatus"] == "Failed" and "Expecting value" in status["output"], status
    else:
        assert status["runtimeStatus"] == "Completed" and status["output"] == output, status
    listed = inputs.request("GET", f"{BASE}/instances?instanceIdPrefix={instance_id}").json()
    assert [item["input"] for item in listed] == [shown]


def test_restart_keeps_a_raw_body_as_its_value(inputs: HostProcess) -> None:
    assert inputs.request("POST", f"{BASE}/orchestrators/echo_input/again", body={"k": [1]}).status == 202
    inputs.wait_status("again")
    restarted = inputs.request("POST", f"{BASE}/instances/again/restart?restartWithNewInstanceId=false"
                                       "&timeout=20&pollingInterval=1")
    assert restarted.status == 200 and restarted.json() == {"value": {"k": [1]}, "type": "dict"}
    assert inputs.request("GET", f"{BASE}/instances/again").json()["input"] == {"k": [1]}


def _box_state(host: HostProcess, key: str, timeout: float = 20.0) -> Any:
    """Box/{key}'s state once its `put` has run (signals are one-way: poll the entity)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = host.request("GET", f"{BASE}/entities/Box/{key}")
        if reply.status == 200:
            return reply.json()
        time.sleep(0.05)
    raise AssertionError(f"Box/{key} was never written")


@pytest.mark.parametrize("value", [{"a": [1, None]}, "/tmp/x", 5, [1, 2]])
def test_sdk_client_signal_reaches_get_input_as_the_value(inputs: HostProcess, value: Any) -> None:
    key = f"sdk-{type(value).__name__}"
    assert inputs.request("POST", f"/api/signal/{key}", body=value).status == 202
    assert _box_state(inputs, key) == {"value": value, "error": None}


# (content type, body, Box state): a JSON string value is parsed again by the SDK's get_input(), as on
# Azure; text bodies arrive as their text (so JSON sent as text/plain works, plain words do not).
RAW_SIGNALS = [
    ("application/json", b'"/tmp/x"', {"value": None, "error": "JSONDecodeError"}),
    ("application/json", b'"\\"/tmp/x\\""', {"value": "/tmp/x", "error": None}),
    ("application/json", b'"{\\"a\\": 1}"', {"value": {"a": 1}, "error": None}),
    ("Application/JSON", b'{"a": 1}', {"value": {"a": 1}, "error": None}),
    ("application/json", b"5", {"value": 5, "error": None}),
    ("text/plain", b'{"a": 1}', {"value": {"a": 1}, "error": None}),
    ("text/plain", b'"/tmp/x"', {"value": "/tmp/x", "error": None}),
    ("text/plain", b"/tmp/x", {"value": None, "error": "JSONDecodeError"}),
    ("text/plain", b"12", {"value": 12, "error": None}),
]


@pytest.mark.parametrize(("content_type", "raw", "state"), RAW_SIGNALS)
def test_raw_signal_bodies_reach_the_entity_as_the_extension_passes_them(
        inputs: HostProcess, content_type: str, raw: bytes, state: dict[str, Any]) -> None:
    key = f"raw-{RAW_SIGNALS.index((content_type, raw, state))}"
    reply = inputs.request("POST", f"{BASE}/entities/Box/{key}?op=put", raw=raw,
                           headers={"Content-Type": content_type})
    assert reply.status == 202
    assert _box_state(inputs, key) == state


def test_signal_with_invalid_json_is_refused_and_changes_nothing(inputs: HostProcess) -> None:
    reply = inputs.request("POST", f"{BASE}/entities/Box/bad?op=put", raw=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert reply.status == 400 and "Could not parse JSON content" in reply.json()["error"]
    assert inputs.request("POST", f"{BASE}/entities/Box/bad?op=put", raw=json.dumps("ok").encode(),
                          headers={"Content-Type": "text/plain"}).status == 202
    assert _box_state(inputs, "bad") == {"value": "ok", "error": None}  # only the later, valid signal ran


def test_inputs_azure_cannot_read_are_warned_about_once_per_function(inputs: HostProcess) -> None:
    for i in range(2):
        assert inputs.request("POST", f"{BASE}/orchestrators/echo_input/warn-{i}", body=[i]).status == 202
        assert inputs.request("POST", f"{BASE}/entities/Box/warn-{i}?op=put", body={"n": i}).status == 202
        inputs.wait_status(f"warn-{i}")
        _box_state(inputs, f"warn-{i}")
    assert inputs.request("POST", f"{BASE}/orchestrators/echo_input/warn-object", body={"n": 1}).status == 202
    log = inputs.log_path.read_text()
    assert log.count("orchestrator echo_input started with a raw JSON array body: on Azure the Python SDK's "
                     "get_input() raises TypeError") == 1
    assert log.count("entity Box signalled with a non-string JSON body (Content-Type: application/json)") == 1
    assert "raw JSON object" not in log  # an object reads the same on Azure
