"""Azure's v1 Python worker loads the v1 apps; funchost must accept and refuse the same ones, with its words.

The worker library (`azure-functions-runtime-v1`) runs in the cached Python 3.13 environment of
worker_env.py; funchost loads the same apps in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from funchost.discovery import FunctionSet, load_app
from funchost.errors import FunctionValidationError
from tests.azure_fidelity import worker_env
from tests.azure_fidelity.apps import isolated_import

SCRIPT = Path(__file__).with_name("index_v1_with_worker.py")
V1_APP = worker_env.ROOT / "tests" / "v1_app"
HTTP_OUT = {"name": "$return", "type": "http", "direction": "out"}
HTTP_IN = {"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "anonymous"}


@dataclass(frozen=True)
class V1App:
    """A one-function v1 app (folder `f`) and the worker's message, None when it loads."""

    id: str
    bindings: tuple[dict[str, Any], ...]
    code: str
    message: str | None = None

    def write(self, parent: Path) -> Path:
        root = parent / self.id
        (root / "f").mkdir(parents=True)
        (root / "host.json").write_text('{"version": "2.0"}\n')
        (root / "f" / "function.json").write_text(json.dumps({"bindings": list(self.bindings)}))
        (root / "f" / "__init__.py").write_text("import azure.functions as func\n\n\n" + self.code)
        return root


def _refused(detail: str) -> str:
    return f"cannot load the f function: {detail}"


V1_APPS: tuple[V1App, ...] = (
    V1App("extra_python_param", (HTTP_IN, HTTP_OUT), "def main(req: func.HttpRequest, extra: str) -> str:\n    ...\n",
          _refused("the following parameters are declared in Python but not in function.json: {'extra'}")),
    V1App("binding_not_in_python", (HTTP_IN, HTTP_OUT, {"name": "starter", "type": "durableClient",
                                                        "direction": "in"}),
          "def main(req: func.HttpRequest) -> str:\n    ...\n",
          _refused("the following parameters are declared in function.json but not in Python: {'starter'}")),
    V1App("return_binding_in", (HTTP_IN, {"name": "$return", "type": "http", "direction": "in"}),
          "def main(req: func.HttpRequest) -> str:\n    ...\n",
          _refused('"$return" binding must have direction set to "out"')),
    V1App("inout_binding", (HTTP_IN, HTTP_OUT, {"name": "data", "type": "blob", "direction": "inout",
                                                "path": "c/b", "connection": "S"}),
          "def main(req: func.HttpRequest, data: str) -> str:\n    ...\n",
          _refused('"inout" bindings are not supported')),
    V1App("out_binding_not_out", (HTTP_IN, {"name": "res", "type": "http", "direction": "out"}),
          "def main(req: func.HttpRequest, res: func.HttpResponse) -> None:\n    ...\n",
          _refused('binding res is declared to have the "out" direction, but its annotation in Python is not a '
                   "subclass of azure.functions.Out")),
    V1App("trigger_type_mismatch", (HTTP_IN, HTTP_OUT), "def main(req: int) -> str:\n    ...\n",
          _refused('type of req binding in function.json "httpTrigger" does not match its Python annotation "int"')),
    V1App("in_binding_annotated_out", (HTTP_IN, HTTP_OUT, {"name": "msg", "type": "queue", "direction": "in",
                                                           "queueName": "q", "connection": "S"}),
          "def main(req: func.HttpRequest, msg: func.Out[str]) -> str:\n    ...\n",
          _refused('binding msg is declared to have the "in" direction in function.json, but its annotation is '
                   "azure.functions.Out in Python")),
    V1App("data_type_mismatch", ({**HTTP_IN, "dataType": "binary"}, HTTP_OUT),
          "def main(req: int) -> str:\n    ...\n",
          _refused('binding type "\'req\'" and dataType "httpTrigger" in function.json do not match the '
                   "corresponding function parameter's Python type annotation int")),
    V1App("return_type_mismatch", (HTTP_IN, HTTP_OUT), "def main(req: func.HttpRequest) -> int:\n    ...\n",
          _refused('Python return annotation "int" does not match binding type "http"')),
    V1App("context_not_a_context", (HTTP_IN, HTTP_OUT),
          "def main(req: func.HttpRequest, context: str) -> str:\n    ...\n",
          _refused('the "context" parameter is expected to be of type azure.functions.Context, got "<class \'str\'>"')),
    V1App("named_http_out", (HTTP_IN, {"name": "res", "type": "http", "direction": "out"}),
          "def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:\n    ...\n"),
    V1App("timer_with_client", ({"name": "t", "type": "timerTrigger", "direction": "in", "schedule": "0 0 * * * *"},
                                {"name": "starter", "type": "orchestrationClient", "direction": "in"}),
          "async def main(t: func.TimerRequest, starter: str) -> None:\n    ...\n"),
    V1App("unannotated_activity", ({"name": "value", "type": "activityTrigger", "direction": "in"},),
          "def main(value):\n    return value\n"),
)


@pytest.fixture(scope="module")
def worker_python() -> Path:
    python = worker_env.find_python313()
    if python is None:
        pytest.skip("Python 3.13 not found (PATH, ~/.pyenv/versions, $AZURE_FIDELITY_PYTHON): "
                    "azure-functions-runtime-v1 needs it")
    try:
        return worker_env.ensure(python)
    except worker_env.WorkerEnvError as exc:
        pytest.fail(f"cannot build the Azure worker environment: {exc}")


def load_with_worker(python: Path, *script_roots: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([str(python), str(SCRIPT), *map(str, script_roots)], capture_output=True, text=True,
                          timeout=120, env=env)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        pytest.fail(f"the v1 worker script failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    reports: list[dict[str, Any]] = json.loads(done.stdout)
    return reports


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    parent = tmp_path_factory.mktemp("fidelity_v1_apps")
    return {app.id: app.write(parent) for app in V1_APPS}


@pytest.fixture(scope="module")
def worker_reports(worker_python: Path, app_dirs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return dict(zip(app_dirs, load_with_worker(worker_python, *app_dirs.values()), strict=True))


@pytest.fixture
def isolated() -> Iterator[None]:
    with isolated_import():
        yield


def names(functions: FunctionSet) -> list[str]:
    found = [f.name for f in functions.http] + [n for n, _ in functions.orchestrators.values()]
    found += [a.function_name for a in functions.activities.values()] + [n for n, _ in functions.entities.values()]
    found += [t.name for t in functions.timers] + [n for n, _ in functions.other]
    return sorted(set(found), key=str.lower)


def test_worker_and_funchost_load_every_function_of_the_v1_sample(worker_python: Path, isolated: None) -> None:
    [report] = load_with_worker(worker_python, V1_APP)
    assert report["rejected"] == [], "Azure's v1 worker would refuse these functions"
    assert report["versions"]["azure-functions-runtime-v1"] == worker_env.RUNTIME_V1_PIN.split("==")[1]
    accepted = [f["name"] for f in report["accepted"]]
    assert len(accepted) == 16
    assert names(load_app(V1_APP)) == accepted


@pytest.mark.parametrize("app", V1_APPS, ids=lambda a: a.id)
def test_worker_and_funchost_agree_on_each_v1_app(app: V1App, worker_reports: dict[str, dict[str, Any]],
                                                  app_dirs: dict[str, Path], isolated: None) -> None:
    report = worker_reports[app.id]
    if app.message is None:
        assert report["rejected"] == [] and [f["name"] for f in report["accepted"]] == ["f"]
        assert names(load_app(app_dirs[app.id])) == ["f"]
        return
    assert [(r["name"], r["message"]) for r in report["rejected"]] == [("f", app.message)]
    with pytest.raises(FunctionValidationError) as refused:
        load_app(app_dirs[app.id])
    assert refused.value.function_name == "f"
    assert refused.value.message == app.message
