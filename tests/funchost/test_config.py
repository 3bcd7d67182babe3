"""The host's one configuration (funchost/config.py): precedence, host.json read once and honoured
(`maxConcurrentActivityFunctions`, `functions`), and `AzureWebJobs.<name>.Disabled`, through real hosts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from funchost.config import HostConfig, build, build_for_start, read_host_json
from funchost.errors import SettingsError
from tests.hostproc import ROOT, HostProcess

BASE = "/runtime/webhooks/durabletask"

# Each activity waits (up to 1.5 s) until three activities run at once, and returns the most it saw
# running together: with two slots it can never see three.
CONCURRENCY_APP = '''
import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_lock = threading.Condition()
_running = 0
_peak = 0


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    peaks = yield context.task_all([context.call_activity("overlap", i) for i in range(4)])
    return max(peaks)


@app.activity_trigger(input_name="n")
def overlap(n: int) -> int:
    global _running, _peak
    with _lock:
        _running += 1
        _peak = max(_peak, _running)
        _lock.notify_all()
        _lock.wait_for(lambda: _running >= 3, timeout=1.5)
        seen = _peak
        _running -= 1
    return seen


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello")


@app.route(route="bye", methods=["GET"])
def bye(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("bye")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def tick(timer: func.TimerRequest) -> None:
    import logging

    logging.warning("tick ran")
'''


def _app(root: Path, host_json: dict[str, object], settings: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(CONCURRENCY_APP)
    (root / "host.json").write_text(json.dumps({"version": "2.0", **host_json}))
    if settings is not None:
        (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": settings}))
    return root


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[HostProcess]]:
    hosts: list[HostProcess] = []
    yield hosts
    for host in hosts:
        host.stop()


def _peak(host: HostProcess, instance_id: str) -> int:
    assert host.request("POST", f"{BASE}/orchestrators/fan_out/{instance_id}").status == 202
    status = host.wait_status(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    return int(status["output"])


def test_host_json_max_concurrent_activities_bounds_the_activities_running_at_once(
        tmp_path: Path, started: list[HostProcess]) -> None:
    limited = _app(tmp_path / "limited", {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 2}}})
    host = HostProcess(limited, tmp_path / "data-limited").start()
    started.append(host)
    assert _peak(host, "limited") == 2
    # The same app without the setting runs the four at once (so the bound above is the setting's doing).
    free = _app(tmp_path / "free", {})
    other = HostProcess(free, tmp_path / "data-free").start()
    started.append(other)
    assert _peak(other, "free") >= 3


def test_an_app_setting_overrides_host_json_as_in_azure(tmp_path: Path, started: list[HostProcess]) -> None:
    root = _app(tmp_path / "app", {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 8}}},
                {"AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "2"})
    host = HostProcess(root, tmp_path / "data").start()
    started.append(host)
    assert _peak(host, "override") == 2


def test_only_the_functions_host_json_lists_are_loaded(tmp_path: Path, started: list[HostProcess]) -> None:
    root = _app(tmp_path / "app", {"functions": ["hello", "fan_out", "overlap"]})
    host = HostProcess(root, tmp_path / "data").start()
    started.append(host)
    assert host.request("GET", "/api/hello").body == b"hello"
    assert host.request("GET", "/api/bye").status == 404
    assert _peak(host, "listed") >= 1  # the listed durable functions run
    host.stop()
    log = host.log_path.read_text()
    assert "hello: [GET]" in log and "bye:" not in log and "tick" not in log


def test_a_disabled_function_is_listed_as_disabled_and_not_served(tmp_path: Path,
                                                                  started: list[HostProcess]) -> None:
    root = _app(tmp_path / "app", {}, {"AzureWebJobs.bye.Disabled": "true", "AzureWebJobs.tick.Disabled": "1"})
    host = HostProcess(root, tmp_path / "data").start()
    started.append(host)
    assert host.request("GET", "/api/hello").body == b"hello"
    reply = host.request("GET", "/api/bye")
    assert reply.status == 404 and reply.body != b"bye"
    admin = host.request("POST", "/admin/functions/tick", body={})
    assert admin.status == 404 and "disabled" in admin.json()["details"]
    host.stop()
    log = host.log_path.read_text()
    assert "bye: httpTrigger, disabled (AzureWebJobs.bye.Disabled): not served" in log
    assert "tick: timerTrigger, disabled" in log
    assert "tick ran" not in log  # run_on_startup would have run it


def test_precedence_cli_over_environment_over_local_settings_over_host_json(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "host.json").write_text(json.dumps({"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 8}}}))
    (root / "local.settings.json").write_text(json.dumps({"Values": {
        "FUNCHOST_MAX_BODY_BYTES": "1000", "FUNCHOST_ACTIVITY_PROCESSES": "3",
        "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "4"},
        "Host": {"LocalHttpPort": 7099}}))
    # build_for_start copies Values into the environment: give it a copy, so no later host inherits them.
    environ = {k: v for k, v in os.environ.items() if k not in ("FUNCHOST_ACTIVITY_PROCESSES",
                                                                "FUNCTIONS_WORKER_PROCESS_COUNT")}
    monkeypatch.setattr(os, "environ", {**environ, "FUNCHOST_MAX_BODY_BYTES": "2000"})  # env wins over Values
    config = build_for_start(root, activity_processes=1, port=None)
    assert config.max_body_bytes == 2000
    assert config.activity_processes == 1  # the CLI wins over Values
    assert config.port == 7099  # local.settings.json Host over the default
    assert config.max_concurrent_activities == config.activity_threads == 4  # Values over host.json
    assert build(root, {}).max_concurrent_activities == 8  # host.json over the default
    assert HostConfig(script_root=tmp_path).max_concurrent_activities == 16  # the default


def test_host_json_problems_name_the_file_and_the_setting(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"durableTask": {
        "maxConcurrentActivityFunctions": 0}}}))
    with pytest.raises(SettingsError, match=r"host.json: extensions.durableTask.maxConcurrentActivityFunctions must "
                                            r"be a whole number of 1 or more, not 0"):
        read_host_json(tmp_path)
    (tmp_path / "host.json").write_text(json.dumps({"functions": "hello"}))
    with pytest.raises(SettingsError, match="functions must be a JSON array"):
        read_host_json(tmp_path)
    (tmp_path / "host.json").write_text("[1]")
    with pytest.raises(SettingsError, match="the top level must be a JSON object"):
        read_host_json(tmp_path)
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"http": {"routePrefix": "/v2/"},
                                                                   "durableTask": {"hubName": "Hub"}}}))
    settings = read_host_json(tmp_path)
    assert (settings.route_prefix, settings.hub_name, settings.functions) == ("v2", "Hub", None)


def test_funchost_start_refuses_a_bad_host_json_setting_in_one_line(tmp_path: Path) -> None:
    root = _app(tmp_path / "app", {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": "many"}}})
    result = subprocess.run([sys.executable, "-m", "funchost", "start", "--script-root", str(root), "--port", "0",
                             "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"funchost: error: {root / 'host.json'}: extensions.durableTask.maxConcurrentActivityFunctions must be a "
        "whole number of 1 or more, not 'many'"]


def test_the_configuration_never_shows_a_key(tmp_path: Path) -> None:
    config = build(tmp_path, {"FUNCHOST_ADMIN_KEY": "admin-s3cret", "FUNCHOST_FUNCTION_KEYS": "fn-s3cret",
                              "FUNCHOST_SYSTEM_KEY": "sys-s3cret"})
    assert (config.admin_key, config.function_keys, config.system_key) == ("admin-s3cret", ["fn-s3cret"],
                                                                          "sys-s3cret")
    assert "s3cret" not in repr(config)
