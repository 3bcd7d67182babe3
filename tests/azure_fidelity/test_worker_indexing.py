"""Azure's own Python worker indexes the apps; funchost must accept and refuse exactly the same ones.

The worker library runs in a cached Python 3.13 environment (see worker_env.py) with
azure-functions 2.x; funchost loads the same apps in this process, with whichever azure-functions
this interpreter has (1.x on the project's 3.11 venv), so the messages are compared across both.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funchost.discovery import load_app
from funchost.errors import FunctionValidationError
from tests.azure_fidelity import worker_env
from tests.azure_fidelity.apps import ACCEPTED, REJECTED, App, isolated_import, missing_module

SCRIPT = Path(__file__).with_name("index_with_worker.py")
CONFORMANCE_APP = worker_env.ROOT / "tests" / "conformance_app"


@pytest.fixture(scope="module")
def worker_python() -> Path:
    python = worker_env.find_python313()
    if python is None:
        pytest.skip("Python 3.13 not found (PATH, ~/.pyenv/versions, $AZURE_FIDELITY_PYTHON): "
                    "azure-functions-runtime needs it")
    try:
        return worker_env.ensure(python)
    except worker_env.WorkerEnvError as exc:
        pytest.fail(f"cannot build the Azure worker environment: {exc}")


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    parent = tmp_path_factory.mktemp("fidelity_apps")
    return {app.id: app.write(parent) for app in (*REJECTED, *ACCEPTED)}


@pytest.fixture(scope="module")
def worker_reports(worker_python: Path, app_dirs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """The worker's verdict on every small app (one process for all: importing the SDKs is the cost)."""
    reports = index_with_worker(worker_python, *app_dirs.values())
    return dict(zip(app_dirs, reports, strict=True))


def index_with_worker(python: Path, *script_roots: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([str(python), str(SCRIPT), *map(str, script_roots)], capture_output=True, text=True,
                          timeout=120, env=env)
    # 0: all accepted, 1: some rejected, 2: an app could not be indexed at all ("error").
    if done.returncode not in (0, 1, 2) or not done.stdout.strip():
        pytest.fail(f"the worker script failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    reports: list[dict[str, Any]] = json.loads(done.stdout)
    return reports


@pytest.fixture
def isolated() -> Iterator[None]:
    with isolated_import():
        yield


def rejections(report: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["message"] for r in report["rejected"]}


@pytest.mark.parametrize("script_root", [worker_env.ROOT, CONFORMANCE_APP], ids=["project_app", "conformance_app"])
def test_worker_accepts_every_function(worker_python: Path, script_root: Path) -> None:
    [report] = index_with_worker(worker_python, script_root)
    assert "error" not in report, f"the worker cannot index {script_root}: {report['error']}"
    assert rejections(report) == {}, f"Azure would refuse these functions in {script_root}"
    assert report["accepted"], f"the worker found no functions in {script_root}"
    assert report["versions"]["azure-functions"].startswith("2."), report["versions"]


@pytest.mark.parametrize("app", REJECTED, ids=lambda a: a.id)
def test_worker_and_funchost_refuse_with_the_same_message(
        app: App, worker_reports: dict[str, dict[str, Any]], app_dirs: dict[str, Path], isolated: None) -> None:
    report = worker_reports[app.id]
    assert rejections(report) == {"f": app.message}
    if missing := missing_module(app):
        pytest.skip(f"the worker agrees; funchost's side needs {missing}, not installed here")
    with pytest.raises(FunctionValidationError) as refused:
        load_app(app_dirs[app.id])
    assert refused.value.function_name == "f"
    assert refused.value.message == app.message


@pytest.mark.parametrize("app", ACCEPTED, ids=lambda a: a.id)
def test_worker_and_funchost_accept(
        app: App, worker_reports: dict[str, dict[str, Any]], app_dirs: dict[str, Path], isolated: None) -> None:
    report = worker_reports[app.id]
    assert rejections(report) == {}
    assert [f["name"] for f in report["accepted"]] == ["f"]
    if missing := missing_module(app):
        pytest.skip(f"the worker agrees; funchost's side needs {missing}, not installed here")
    load_app(app_dirs[app.id])


def test_worker_accepts_the_retention_timer(worker_python: Path) -> None:
    """The project's timer function (orchestrations/retention.py) is indexed by Azure with its bindings."""
    [report] = index_with_worker(worker_python, worker_env.ROOT)
    timers = [f for f in report["accepted"] if "timerTrigger:timer" in f["bindings"]]
    assert timers == [{"name": "purge_finished_agent_tasks",
                       "bindings": ["durableClient:client", "timerTrigger:timer"]}]
