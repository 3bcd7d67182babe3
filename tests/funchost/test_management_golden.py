"""Every response shape of the Durable HTTP management API, through the real host, against golden JSON.

Each case is one request; its status, the headers a client reads and the JSON body, with the values
that change from run to run (times, generated ids, the port, traceparents, tracebacks) replaced by
placeholders, must equal `tests/funchost/golden/management/<case>.json`. The goldens were written from
the extension's documented API and its HttpApiHandler/DurableClient code (folded TaskScheduled, Result
as a JSON value, ExecutionCompleted's Result only with showHistoryOutput, ...). To rewrite them after a
deliberate change: `FUNCHOST_UPDATE_GOLDEN=1 pytest tests/funchost/test_management_golden.py`, then read
the diff.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess, Reply

APP = ROOT / "tests" / "greetings_app"
GOLDEN = Path(__file__).parent / "golden" / "management"
BASE = "/runtime/webhooks/durabletask"
HEADERS = ("Location", "Retry-After", "x-ms-continuation-token", "Content-Type")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """A host with one instance in each state the cases read."""
    proc = HostProcess(APP, Path(tmp_path_factory.mktemp("golden"))).start()
    for instance_id, name in (("g-cities", "greet_cities"), ("g-badly", "greet_badly"),
                              ("g-family", "greet_family"), ("g-approval", "await_approval"),
                              ("g-stop", "await_approval"), ("g-purge", "greet_cities")):
        assert proc.request("POST", f"{BASE}/orchestrators/{name}/{instance_id}", body={"from": "golden"}).status \
            == 202
    for instance_id in ("g-cities", "g-badly", "g-family", "g-purge"):
        proc.wait_status(instance_id)
    proc.wait_status("g-approval", ("Running",))
    for value in (2, 3):
        assert proc.request("POST", f"{BASE}/entities/Counter/golden?op=add", body=value).status == 202
    yield proc
    proc.stop()


def normalise(value: Any, port: int) -> Any:
    """`value` with run-dependent parts replaced by placeholders (see the module docstring)."""
    if isinstance(value, dict):
        return {k: normalise(v, port) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, port) for v in value]
    if not isinstance(value, str):
        return value
    if _TIME.match(value):
        return "<time>"
    if _TRACEPARENT.match(value):
        return "<traceparent>"
    text = value.replace(f"127.0.0.1:{port}", "<host>")
    if "Traceback (most recent call last)" in text:
        text = text.split("Traceback (most recent call last)", 1)[0].rstrip() + " <traceback>"
    return _HEX_ID.sub("<generated-id>", text)


def record(reply: Reply, port: int) -> dict[str, Any]:
    headers = {name: normalise(reply.headers[name], port) for name in HEADERS if name in reply.headers}
    if "x-ms-continuation-token" in headers:  # opaque; what matters is that the page says there is more
        headers["x-ms-continuation-token"] = "<token>"
    if "Content-Type" in headers:
        headers["Content-Type"] = headers["Content-Type"].split(";")[0]
    body: Any = reply.json() if reply.body and "json" in reply.headers.get("Content-Type", "") else \
        reply.body.decode()
    return {"status": reply.status, "headers": headers, "body": normalise(body, port)}


# (golden name, method, path, JSON body or None)
CASES: list[tuple[str, str, str, Any]] = [
    ("start_check_status", "POST", "/orchestrators/greet_cities/g-new", None),
    ("start_wait_completed", "POST", "/orchestrators/greet_cities/g-wait-ok?timeout=20&pollingInterval=1", None),
    ("start_wait_failed", "POST", "/orchestrators/greet_badly/g-wait-bad?timeout=20&pollingInterval=1", None),
    # greet_cities ends in milliseconds: a 202 (not its output) shows the start did not wait
    ("start_timeout_without_interval", "POST", "/orchestrators/greet_cities/g-no-wait?timeout=20", None),
    ("start_wait_interval_too_long", "POST", "/orchestrators/greet_cities/g-never?timeout=1&pollingInterval=5",
     None),
    ("start_unknown_orchestrator", "POST", "/orchestrators/no_such_orchestrator", None),
    ("start_route_get", "GET", "/orchestrators/greet_cities", None),
    ("status_running", "GET", "/instances/g-approval", None),
    ("status_completed", "GET", "/instances/g-cities", None),
    ("status_completed_history", "GET", "/instances/g-cities?showHistory=true", None),
    ("status_completed_history_output", "GET", "/instances/g-cities?showHistory=true&showHistoryOutput=true",
     None),
    ("status_history_without_input", "GET",
     "/instances/g-cities?showHistory=true&showHistoryOutput=true&showInput=false", None),
    ("status_history_not_a_boolean", "GET", "/instances/g-cities?showHistory=yes", None),
    ("status_failed_history", "GET", "/instances/g-badly?showHistory=true&showHistoryOutput=true", None),
    ("status_failed_as_500", "GET", "/instances/g-badly?returnInternalServerErrorOnFailure=true", None),
    ("status_sub_orchestration_history", "GET",
     "/instances/g-family?showHistory=true&showHistoryOutput=true", None),
    ("status_running_history", "GET", "/instances/g-approval?showHistory=true", None),
    ("status_unknown", "GET", "/instances/g-nobody", None),
    ("list_page", "GET", "/instances?instanceIdPrefix=g-&runtimeStatus=Completed,Failed&top=2", None),
    ("list_without_input", "GET", "/instances?instanceIdPrefix=g-cities&showInput=false", None),
    ("raise_event_unknown", "POST", "/instances/g-nobody/raiseEvent/approve", "Ann"),
    ("raise_event_finished", "POST", "/instances/g-cities/raiseEvent/approve", "Ann"),
    ("raise_event", "POST", "/instances/g-approval/raiseEvent/approve", "Ann"),
    ("terminate", "POST", "/instances/g-stop/terminate?reason=not%20needed", None),
    ("status_terminated", "GET", "/instances/g-stop?showHistory=true", None),
    ("terminate_finished", "POST", "/instances/g-cities/terminate?reason=late", None),
    ("suspend_unknown", "POST", "/instances/g-nobody/suspend", None),
    ("rewind_completed", "POST", "/instances/g-cities/rewind?reason=again", None),
    ("rewind_failed", "POST", "/instances/g-badly/rewind?reason=again", None),
    ("restart", "POST", "/instances/g-cities/restart", None),
    ("restart_unknown", "POST", "/instances/g-nobody/restart", None),
    ("unknown_operation", "POST", "/instances/g-cities/explode", None),
    ("purge", "DELETE", "/instances/g-purge", None),
    ("purge_unknown", "DELETE", "/instances/g-purge", None),
    ("purge_many_without_from", "DELETE", "/instances", None),
    ("entity_signal", "POST", "/entities/Counter/golden?op=add", 5),
    ("entity_signal_without_op", "POST", "/entities/Counter/no-op", None),
    ("entity_read", "GET", "/entities/Counter/golden", None),
    ("entity_read_unknown", "GET", "/entities/Counter/nobody", None),
    ("entity_list", "GET", "/entities/Counter?fetchState=true&top=1", None),
]


@pytest.mark.parametrize(("name", "method", "path", "body"), CASES, ids=[c[0] for c in CASES])
def test_response_shape_matches_golden(host: HostProcess, name: str, method: str, path: str, body: Any) -> None:
    reply = host.request(method, BASE + path, body=body)
    if name == "entity_read":  # three signals: 2, 3 and the entity_signal case's 5
        for _ in range(500):
            if reply.json() == 10:
                break
            time.sleep(0.02)
            reply = host.request(method, BASE + path, body=body)
    got = record(reply, host.port)
    path_of = GOLDEN / f"{name}.json"
    if os.environ.get("FUNCHOST_UPDATE_GOLDEN") == "1":
        path_of.parent.mkdir(parents=True, exist_ok=True)
        path_of.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(path_of.read_text()), f"{name}: {json.dumps(got, indent=2)}"
