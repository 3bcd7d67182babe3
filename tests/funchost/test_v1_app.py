"""Apps in the v1 programming model (function.json folders), driven over HTTP through the real host."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess

V1_APP = ROOT / "tests" / "v1_app"
FUNCTION_KEY = "v1-function-key"
ADMIN = {"x-functions-key": "v1-admin-key"}  # with keys configured, the management API needs one


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    base = tmp_path_factory.mktemp("v1")
    app = base / "app"
    shutil.copytree(V1_APP, app)
    # local.settings.json is git-ignored, so the test writes it: its Values become app settings.
    (app / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "python", "GREETING": "Hello"}}))
    process = HostProcess(app, base / "data", env={"FUNCHOST_FUNCTION_KEYS": FUNCTION_KEY,
                                                       "FUNCHOST_ADMIN_KEY": ADMIN["x-functions-key"]})
    process.start()
    yield process
    process.stop()


def start(host: HostProcess, orchestrator: str, body: Any = None) -> dict[str, Any]:
    reply = host.request("POST", f"/api/orchestrators/{orchestrator}", body)
    assert reply.status == 202, reply.body[:300]
    payload: dict[str, Any] = reply.json()
    assert reply.headers["Location"] == payload["statusQueryGetUri"]
    return payload


def status_of(host: HostProcess, instance_id: str) -> dict[str, Any]:
    reply = host.request("GET", f"/runtime/webhooks/durabletask/instances/{instance_id}", headers=ADMIN)
    assert reply.status in (200, 202), reply.body[:300]
    status: dict[str, Any] = reply.json()
    return status


def finished(host: HostProcess, instance_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    status = status_of(host, instance_id)
    while status["runtimeStatus"] in ("Pending", "Running") and time.monotonic() < deadline:
        time.sleep(0.05)
        status = status_of(host, instance_id)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    return status


def test_listing_shows_every_v1_function(host: HostProcess) -> None:
    log = host.log_path.read_text()
    for line in ("HttpStart: [POST] http://127.0.0.1:", "/api/orchestrators/{functionName}",
                 "HttpCounter: [GET,POST]", "Chaining: orchestrationTrigger", "Hello: activityTrigger",
                 "Square: activityTrigger", "Counter: entityTrigger",
                 "Heartbeat: timerTrigger (*/2 * * * * *), next occurrence"):
        assert line in log, line
    for name, trigger in (("QueueWorker", "queueTrigger"), ("BlobWatcher", "blobTrigger"),
                          ("BusListener", "serviceBusTrigger"), ("HubReader", "eventHubTrigger"),
                          ("CosmosFeed", "cosmosDBTrigger")):
        assert f"{name}: {trigger}, not supported by funchost: runs on Azure" in log, name
    assert "DurableFunctionsCompatibilityWarning" not in log  # requirements.txt pins the SDK below 2


def test_a_trigger_funchost_does_not_serve_is_refused_by_the_admin_api(host: HostProcess) -> None:
    reply = host.request("POST", "/admin/functions/QueueWorker", {"input": "hello"}, headers=ADMIN)
    assert reply.status == 404 and "runs on Azure" in reply.json()["details"]
    assert host.request("POST", "/admin/functions/Heartbeat", {"input": ""}, headers=ADMIN).status == 202


def test_chaining_with_shared_code_and_local_settings(host: HostProcess) -> None:
    started = start(host, "Chaining")
    assert finished(host, started["id"])["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_fan_out_fan_in_with_a_custom_script_file_and_entry_point(host: HostProcess) -> None:
    started = start(host, "FanOutFanIn", {"count": 6})
    assert finished(host, started["id"])["output"] == {"squares": [1, 4, 9, 16, 25, 36], "sum": 91}


def test_human_interaction_approved_by_an_external_event(host: HostProcess) -> None:
    started = start(host, "Approval", {"timeoutSeconds": 300})
    instance_id = started["id"]
    refused = host.request("POST", f"/api/approvals/{instance_id}", {"by": "ana"})
    assert refused.status == 401  # authLevel "function" in function.json, and keys are configured
    deadline = time.monotonic() + 30
    while status_of(host, instance_id)["runtimeStatus"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    raised = host.request("POST", f"/api/approvals/{instance_id}", {"by": "ana"},
                          headers={"x-functions-key": FUNCTION_KEY})
    assert raised.status == 202 and raised.json() == {"raised": "Approval"}  # the named http output
    assert finished(host, instance_id)["output"] == {"outcome": "approved", "by": "ana"}


def test_human_interaction_times_out_on_the_durable_timer(host: HostProcess) -> None:
    started = start(host, "Approval", {"timeoutSeconds": 1})
    assert finished(host, started["id"])["output"] == {"outcome": "timed out"}


def test_counter_entity_through_the_durable_client(host: HostProcess) -> None:
    assert host.request("GET", "/api/counters/c1").status == 404
    for amount in (2, 3, 5):
        assert host.request("POST", "/api/counters/c1", {"amount": amount}).status == 202
    deadline = time.monotonic() + 30
    value = None
    while time.monotonic() < deadline:
        reply = host.request("GET", "/api/counters/c1")
        value = reply.json()["value"] if reply.status == 200 else None
        if value == 10:
            break
        time.sleep(0.05)
    assert value == 10


def test_sub_orchestrations_and_an_entity_call(host: HostProcess) -> None:
    started = start(host, "Parent", {"counter": "parent-counter"})
    output = finished(host, started["id"])["output"]
    assert output == {"greetings": ["Hello Tokyo!", "Hello Seattle!", "Hello London!"], "sum": 30, "counter": 30}
    history = host.request("GET", f"/runtime/webhooks/durabletask/instances/{started['id']}?showHistory=true",
                           headers=ADMIN).json()["historyEvents"]
    # As the extension shows it: each finished sub-orchestration's creation folded into its completion.
    children = [e for e in history if e["EventType"] == "SubOrchestrationInstanceCompleted"]
    assert sorted(e["FunctionName"] for e in children) == ["Chaining", "FanOutFanIn"]
    assert not [e for e in history if e["EventType"] == "SubOrchestrationInstanceCreated"]


def test_timer_function_signals_the_entity_through_its_durable_client(host: HostProcess) -> None:
    deadline = time.monotonic() + 30
    value = 0
    while time.monotonic() < deadline and value < 2:  # the start-up run, then the schedule
        reply = host.request("GET", "/api/counters/heartbeat")
        value = reply.json()["value"] if reply.status == 200 else 0
        time.sleep(0.1)
    assert value >= 2
    console = host.log_path.read_text()
    assert "Executed 'Functions.Heartbeat' (Succeeded" in console and "'Functions.Heartbeat' (Failed" not in console


def run_start(script_root: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "funchost", "start", "--script-root", str(script_root),
                           "--port", "0", "--data", str(data)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, cwd=str(ROOT))


def write_function(root: Path, name: str, function_json: Any, code: str = "def main(req):\n    return 'ok'\n") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(function_json if isinstance(function_json, str)
                                          else json.dumps(function_json))
    (folder / "__init__.py").write_text(code)


HTTP_BINDINGS = {"bindings": [{"name": "req", "type": "httpTrigger", "direction": "in"},
                              {"name": "$return", "type": "http", "direction": "out"}]}


@pytest.mark.parametrize(("case", "words"), [
    ("mixed", "the app mixes both Python programming models: function_app.py (v2) and folders with a "
              "function.json (v1: Hello)"),
    ("neither", "no function_app.py (v2 programming model) and no folder with a function.json "
                "(v1 programming model) in the script root"),
    ("bad json", "function Hello: function.json is not valid JSON"),
    ("no trigger", "function Hello: a function needs exactly one trigger binding; function.json has none"),
    ("no main", "cannot load function Hello: function main() is not present in Hello/__init__.py"),
    ("extra param", "cannot load the Hello function: the following parameters are declared in Python but not in "
                    "function.json: {'other'}"),
    ("import error", "function Hello: importing Hello/__init__.py failed: ModuleNotFoundError"),
])
def test_an_app_that_cannot_load_gets_one_error_line(tmp_path: Path, case: str, words: str) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "host.json").write_text('{"version": "2.0"}')
    (root / "requirements.txt").write_text("azure-functions-durable<2\n")
    if case == "mixed":
        (root / "function_app.py").write_text("import azure.functions as func\napp = func.FunctionApp()\n")
        write_function(root, "Hello", HTTP_BINDINGS)
    elif case == "bad json":
        write_function(root, "Hello", '{"bindings": [')
    elif case == "no trigger":
        write_function(root, "Hello", {"bindings": [{"name": "$return", "type": "http", "direction": "out"}]})
    elif case == "no main":
        write_function(root, "Hello", HTTP_BINDINGS, "def handler(req):\n    return 'ok'\n")
    elif case == "extra param":
        write_function(root, "Hello", HTTP_BINDINGS, "def main(req, other):\n    return 'ok'\n")
    elif case == "import error":
        write_function(root, "Hello", HTTP_BINDINGS, "import not_a_module_anywhere\n")
    result = run_start(root, tmp_path / "data")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"funchost: error: cannot load the function app in {root}: ") and words in lines[0], \
        lines[0]
