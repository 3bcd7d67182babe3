"""The Durable HTTP API as the extension serves it: listing with input and pages of 100, raiseEvent order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostproc import ROOT, HostProcess

APP = ROOT / "tests" / "conformance_app"
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
    assert all(item["input"] is not None and f'"n": {int(item["instanceId"][-3:])}' in str(item["input"])
               for item in page)
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
