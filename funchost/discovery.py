"""Discovery: load the app (v2 `function_app.py` or v1 function.json folders) and index every function.

The host never imports the app's modules by name: it loads `function_app.py` from the script
root the way the Azure Python worker does, and reads each function's bindings from the same
`get_raw_bindings()` JSON that becomes function.json metadata in Azure; a v1 app's function.json
files give the same bindings directly (function_json.py).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import azure.functions as func

from . import function_json
from .errors import AppLoadError
from .indexing_rules import validate_function
from .model import Registry
from .schedule_monitor import monitored
from .timers import ScheduleError, TimerFunction, is_async, parse_schedule, time_zone

if TYPE_CHECKING:
    from .config import HostConfig

log = logging.getLogger("funchost.discovery")
# The durable client binding, and its name before Durable Functions 2.x (still in many v1 apps).
_CLIENT_BINDINGS = ("durableClient", "orchestrationClient")


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
    disabled: list[tuple[str, str]] = field(default_factory=list)  # (name, trigger type): AzureWebJobs.<name>.Disabled
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


def load_app(script_root: Path, config: HostConfig | None = None) -> FunctionSet:
    """Import the app and index its functions; raise AppLoadError with one readable reason.

    `config` (default: built from this process's environment) gives the task hub, host.json's
    `functions` list (only those are loaded, as the Functions host does), the app settings that disable
    a function (`AzureWebJobs.<name>.Disabled`) or name a timer schedule (`%NAME%`), and the time zone.

    The programming model follows the script root, as in Core Tools: `function_app.py` is the v2
    (decorator) model, folders with a `function.json` are the v1 model (see function_json.py). An app
    with both, or with neither, is refused with one line saying so.
    """
    script_root = script_root.resolve()
    if not script_root.is_dir():
        raise AppLoadError(str(script_root), "the script root is not a directory")
    if config is None:
        from .config import HostConfig

        config = HostConfig.from_env(script_root)
    has_v2 = (script_root / "function_app.py").is_file()
    folders = function_json.function_folders(script_root)
    if has_v2 and folders:
        names = ", ".join(f.name for f in folders[:5]) + (", ..." if len(folders) > 5 else "")
        raise AppLoadError(str(script_root), "the app mixes both Python programming models: function_app.py (v2) "
                           f"and folders with a function.json (v1: {names}); keep one of them")
    if not has_v2 and not folders:
        raise AppLoadError(str(script_root), "no function_app.py (v2 programming model) and no folder with a "
                           "function.json (v1 programming model) in the script root")
    if str(script_root) not in sys.path:
        sys.path.insert(0, str(script_root))
    result = FunctionSet(script_root=script_root, task_hub=config.settings.hub_name)
    if not has_v2:
        for loaded in function_json.load_functions(script_root, folders):
            _index_enabled(result, config, loaded.name, loaded.bindings, loaded.callable, python_alias=False)
        return result
    for function in _v2_functions(script_root):
        validate_function(str(script_root), function)
        _index_enabled(result, config, str(function.get_function_name()),
                       [json.loads(b) for b in function.get_raw_bindings()], function.get_user_function())
    return result


def _index_enabled(result: FunctionSet, config: HostConfig, name: str, bindings: list[dict[str, Any]],
                   user: Callable[..., Any], python_alias: bool = True) -> None:
    """`_index` for a function host.json's `functions` list keeps and no app setting disables."""
    listed = config.settings.functions
    if listed is not None and name.lower() not in {n.lower() for n in listed}:
        log.info("function %s is not in host.json's functions list: not loaded", name)
        return
    if config.disabled(name):
        trigger = next((b["type"] for b in bindings if b["type"].lower().endswith("trigger")), "unknown")
        log.info("function %s is disabled (AzureWebJobs.%s.Disabled): not served", name, name)
        result.disabled.append((name, trigger))
        return
    _index(result, name, bindings, user, python_alias, config)


def _v2_functions(script_root: Path) -> list[Any]:
    """Import function_app.py as the worker does and return its functions (`Function` objects)."""
    app_file = script_root / "function_app.py"
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
        return list(registers[0].get_functions())
    except Exception as exc:  # the worker shows the bare exception text
        raise AppLoadError(str(script_root), str(exc)) from exc


def _is_asgi_request(parameter: inspect.Parameter | None) -> bool:
    """True for HTTP-streams functions (azurefunctions-extensions-http-fastapi's Request parameter)."""
    if parameter is None or not isinstance(parameter.annotation, type):
        return False
    try:
        from starlette.requests import Request
    except ImportError:
        return False
    return issubclass(parameter.annotation, Request)


def _index(result: FunctionSet, name: str, bindings: list[dict[str, Any]], user: Callable[..., Any],
           python_alias: bool, config: HostConfig) -> None:
    """File one function under its trigger kind. `bindings` are function.json bindings (v1 or v2 alike).

    `python_alias`: also accept an activity by its Python def name (v2 only; in v1 every def is `main`).
    """
    trigger = next(b for b in bindings if b["type"].lower().endswith("trigger"))
    kind = trigger["type"]
    clients = tuple(b["name"] for b in bindings if b["type"] in _CLIENT_BINDINGS)
    if kind == "httpTrigger":
        target = getattr(user, "client_function", user)
        params = inspect.signature(user).parameters
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
        if python_alias:  # `context.call_activity(fn)` names the Python def, not the override: accept both.
            result.activities.setdefault(getattr(user, "__name__", name).lower(), activity)
    elif kind == "entityTrigger":
        durable = str(trigger.get("entityName") or name)
        result.entities[durable.lower()] = (durable, user)
    elif kind == "timerTrigger":
        try:
            schedule = parse_schedule(_resolve_setting(result.script_root, config.app_settings, name,
                                                       str(trigger.get("schedule") or "")))
        except ScheduleError as exc:
            raise AppLoadError(str(result.script_root), f"function {name}: invalid timer schedule: {exc}") from exc
        result.timers.append(TimerFunction(
            name=name, schedule=schedule, run_on_startup=bool(trigger.get("runOnStartup")),
            trigger_param=trigger["name"], client_params=clients,
            wants_context="context" in inspect.signature(user).parameters, callable=user, is_async=is_async(user),
            use_monitor=monitored(trigger.get("useMonitor"), schedule, time_zone(config.time_zone))))
    else:
        log.warning("function %s has trigger %s: not supported by funchost: runs on Azure", name, kind)
        result.other.append((name, kind))


def _resolve_setting(script_root: Path, settings: Mapping[str, str], name: str, expression: str) -> str:
    """`%NAME%` names an app setting, as binding expressions do in Azure; anything else is itself."""
    match = re.fullmatch(r"\s*%([^%]+)%\s*", expression)
    if match is None:
        return expression
    value = settings.get(match.group(1))
    if not value:
        raise AppLoadError(str(script_root), f"function {name}: the timer schedule {expression.strip()!r} does not "
                           f"resolve to a value (set the app setting {match.group(1)})")
    return value
