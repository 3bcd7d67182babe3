"""Discovery: import `function_app.py`, find its FunctionRegister and index every function.

The host never imports the app's modules by name: it loads `function_app.py` from the script
root the way the Azure Python worker does, and reads each function's bindings from the same
`get_raw_bindings()` JSON that becomes function.json metadata in Azure.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from .errors import AppLoadError
from .indexing_rules import validate_function
from .model import Registry
from .timers import ScheduleError, TimerFunction, is_async, parse_schedule

log = logging.getLogger("funchost.discovery")


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: str
    methods: tuple[str, ...]
    auth_level: str
    trigger_param: str
    client_params: tuple[str, ...]
    wants_context: bool
    callable: Callable[..., Any]
    is_async: bool
    asgi_request: bool = False


@dataclass(frozen=True)
class ActivityFunction:
    name: str
    function_name: str
    input_param: str
    callable: Callable[..., Any]
    is_async: bool


@dataclass
class FunctionSet:
    """Everything the host serves, indexed by kind; durable names are looked up lower-cased."""

    script_root: Path
    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: dict[str, tuple[str, Callable[[str], str]]] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)
    entities: dict[str, tuple[str, Callable[[str], str]]] = field(default_factory=dict)
    timers: list[TimerFunction] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # (name, trigger type), not run here
    task_hub: str = "TestHubName"

    def registry(self) -> Registry:
        return Registry(orchestrators=frozenset(self.orchestrators), activities=frozenset(self.activities),
                        entities=frozenset(self.entities))

    def orchestrator(self, name: str) -> Callable[[str], str] | None:
        found = self.orchestrators.get(name.lower())
        return found[1] if found else None

    def entity(self, name: str) -> Callable[[str], str] | None:
        found = self.entities.get(name.lower())
        return found[1] if found else None


def load_app(script_root: Path) -> FunctionSet:
    """Import the app and index its functions; raise AppLoadError with one readable reason."""
    script_root = script_root.resolve()
    app_file = script_root / "function_app.py"
    if not script_root.is_dir():
        raise AppLoadError(str(script_root), "the script root is not a directory")
    if not app_file.is_file():
        raise AppLoadError(str(script_root), "no function_app.py in the script root")
    if str(script_root) not in sys.path:
        sys.path.insert(0, str(script_root))
    module_name = "function_app"
    spec = importlib.util.spec_from_file_location(module_name, app_file)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise AppLoadError(str(script_root), "function_app.py cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise AppLoadError(str(script_root), f"importing function_app.py failed: {type(exc).__name__}: {exc} "
                                             f"({frame.filename}:{frame.lineno})") from exc
    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not registers:
        raise AppLoadError(str(script_root), "Could not find top level function app instances in function_app.py.")
    if len(registers) > 1:
        raise AppLoadError(str(script_root), f"More than one {type(registers[0]).__name__} or other top level "
                                             "function app instances are defined.")
    try:
        functions = registers[0].get_functions()
    except Exception as exc:  # the worker shows the bare exception text
        raise AppLoadError(str(script_root), str(exc)) from exc
    result = FunctionSet(script_root=script_root, task_hub=_task_hub(script_root))
    for function in functions:
        validate_function(str(script_root), function)
        _index(result, function)
    return result


def _task_hub(script_root: Path) -> str:
    try:
        host = json.loads((script_root / "host.json").read_text())
        return str(host.get("extensions", {}).get("durableTask", {}).get("hubName") or "TestHubName")
    except (OSError, json.JSONDecodeError):
        return "TestHubName"


def _is_asgi_request(parameter: inspect.Parameter | None) -> bool:
    """True for HTTP-streams functions (azurefunctions-extensions-http-fastapi's Request parameter)."""
    if parameter is None or not isinstance(parameter.annotation, type):
        return False
    try:
        from starlette.requests import Request
    except ImportError:
        return False
    return issubclass(parameter.annotation, Request)


def _index(result: FunctionSet, function: func.decorators.function_app.Function) -> None:
    name = str(function.get_function_name())
    bindings = [json.loads(b) for b in function.get_raw_bindings()]
    trigger = next(b for b in bindings if b["type"].lower().endswith("trigger"))
    user = function.get_user_function()
    kind = trigger["type"]
    if kind == "httpTrigger":
        target = getattr(user, "client_function", user)
        params = inspect.signature(user).parameters
        clients = tuple(b["name"] for b in bindings if b["type"] == "durableClient")
        result.http.append(HttpFunction(
            name=name, route=str(trigger.get("route") or name),
            methods=tuple(m.upper() for m in (trigger.get("methods") or [])),
            auth_level=str(trigger.get("authLevel", "FUNCTION")).upper(), trigger_param=trigger["name"],
            client_params=clients, wants_context="context" in params, callable=user,
            is_async=inspect.iscoroutinefunction(user) or inspect.iscoroutinefunction(target),
            asgi_request=_is_asgi_request(inspect.signature(target).parameters.get(trigger["name"]))))
    elif kind == "orchestrationTrigger":
        durable = str(trigger.get("orchestration") or name)
        result.orchestrators[durable.lower()] = (durable, user)
    elif kind == "activityTrigger":
        durable = str(trigger.get("activity") or name)
        activity = ActivityFunction(
            name=durable, function_name=name, input_param=trigger["name"], callable=user,
            is_async=inspect.iscoroutinefunction(user))
        result.activities[durable.lower()] = activity
        # `context.call_activity(fn)` names the Python def, not the override: accept both.
        result.activities.setdefault(getattr(user, "__name__", name).lower(), activity)
    elif kind == "entityTrigger":
        durable = str(trigger.get("entityName") or name)
        result.entities[durable.lower()] = (durable, user)
    elif kind == "timerTrigger":
        try:
            schedule = parse_schedule(str(trigger.get("schedule") or ""))
        except ScheduleError as exc:
            raise AppLoadError(str(result.script_root), f"function {name}: invalid timer schedule: {exc}") from exc
        result.timers.append(TimerFunction(
            name=name, schedule=schedule, run_on_startup=bool(trigger.get("runOnStartup")),
            trigger_param=trigger["name"],
            client_params=tuple(b["name"] for b in bindings if b["type"] == "durableClient"),
            wants_context="context" in inspect.signature(user).parameters, callable=user, is_async=is_async(user)))
    else:
        log.warning("function %s has trigger %s: not supported by funchost: runs on Azure", name, kind)
        result.other.append((name, kind))
