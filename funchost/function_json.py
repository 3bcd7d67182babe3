"""Apps in the v1 Python programming model: one folder per function with a `function.json`.

Core Tools indexes such an app by reading every `<script root>/<Name>/function.json` (the folder
name is the function name); the Python worker then imports the function's `scriptFile` (default
`__init__.py`, relative to the folder) as a module of the `__app__` namespace package, whose one
location is the script root, and calls its `entryPoint` (default `main`). So `from . import x`,
`from ..shared_code import y` and, with the script root on `sys.path`, `import shared_code` all work
as in Azure. A folder whose function.json says `"disabled": true` is skipped, as the host skips it.

Each function's signature is checked against its bindings with the worker's own rules
(indexing_rules.py). Two v1 shapes are adapted to what the host's invokers expect: trigger and
binding types are matched case-insensitively (the host accepts `httptrigger`), and an HTTP
function that answers through a named `http` output binding (`res: func.Out[func.HttpResponse]`)
is wrapped so that the value it `set()` is the response.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.functions.decorators.core import BindingDirection, DataType

from .errors import AppLoadError
from .indexing_rules import validate_function

log = logging.getLogger("funchost.v1")

NAMESPACE = "__app__"  # the package the Python worker imports v1 functions under
DEFAULT_SCRIPT = "__init__.py"
DEFAULT_ENTRY_POINT = "main"
_KNOWN_TYPES = {t.lower(): t for t in (
    "httpTrigger", "http", "orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient",
    "orchestrationClient", "timerTrigger")}
_DIRECTIONS = {"in": BindingDirection.IN.value, "out": BindingDirection.OUT.value,
               "inout": BindingDirection.INOUT.value}


@dataclass(frozen=True)
class LoadedFunction:
    """One v1 function: its name, its function.json bindings (types in canonical case), what to call."""

    name: str
    bindings: list[dict[str, Any]]
    callable: Callable[..., Any]


def function_folders(script_root: Path) -> list[Path]:
    """The script root's subfolders that hold a function.json, by name."""
    return sorted((d for d in script_root.iterdir() if d.is_dir() and (d / "function.json").is_file()),
                  key=lambda d: d.name.lower())


def load_functions(script_root: Path, folders: list[Path]) -> list[LoadedFunction]:
    """Read, import and check every enabled function; raise AppLoadError naming the function and the problem."""
    _install_namespace(script_root)
    loaded = []
    for folder in folders:
        metadata = _read_metadata(script_root, folder)
        if metadata.get("disabled") is True:
            log.warning("function %s is disabled in its function.json: not loaded", folder.name)
            continue
        bindings = _bindings(script_root, folder.name, metadata)
        user = _import_entry_point(script_root, folder, metadata)
        validate_function(str(script_root), _V1Function(folder.name, user, bindings), v1=True)
        loaded.append(LoadedFunction(folder.name, bindings, _adapt_http_output(user, bindings)))
    return loaded


def _fail(script_root: Path, name: str, reason: str) -> AppLoadError:
    return AppLoadError(str(script_root), f"function {name}: {reason}")


def _read_metadata(script_root: Path, folder: Path) -> dict[str, Any]:
    try:
        metadata = json.loads((folder / "function.json").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(script_root, folder.name, f"function.json cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise _fail(script_root, folder.name, f"function.json is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise _fail(script_root, folder.name, "function.json must be a JSON object with a \"bindings\" list")
    return metadata


def _bindings(script_root: Path, name: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The bindings with their types in canonical case; exactly one trigger, each with a name and direction."""
    raw = metadata.get("bindings")
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        raise _fail(script_root, name, 'function.json needs a "bindings" list of objects')
    bindings = []
    for binding in raw:
        kind, binding_name = binding.get("type"), binding.get("name")
        if not isinstance(kind, str) or not kind or not isinstance(binding_name, str) or not binding_name:
            raise _fail(script_root, name, f'every binding needs a "type" and a "name": {json.dumps(binding)}')
        direction = str(binding.get("direction", "in")).lower()
        if direction not in _DIRECTIONS:
            raise _fail(script_root, name, f'binding {binding_name}: direction {binding.get("direction")!r} is '
                        'not "in", "out" or "inout"')
        bindings.append({**binding, "type": _KNOWN_TYPES.get(kind.lower(), kind), "direction": direction})
    triggers = [b["name"] for b in bindings if b["type"].lower().endswith("trigger")]
    if len(triggers) != 1:
        found = f"{len(triggers)} ({', '.join(triggers)})" if triggers else "none"
        raise _fail(script_root, name, f"a function needs exactly one trigger binding; function.json has {found}")
    return bindings


def _install_namespace(script_root: Path) -> None:
    """The `__app__` namespace package over the script root (replacing one left by another app)."""
    existing = sys.modules.get(NAMESPACE)
    locations = list(getattr(existing, "__path__", None) or [])
    if existing is not None and locations == [str(script_root)]:
        return
    for module in [m for m in sys.modules if m == NAMESPACE or m.startswith(NAMESPACE + ".")]:
        del sys.modules[module]
    spec = importlib.machinery.ModuleSpec(NAMESPACE, None, is_package=True)
    spec.submodule_search_locations = [str(script_root)]
    sys.modules[NAMESPACE] = importlib.util.module_from_spec(spec)


def _module_name(script_root: Path, name: str, script: Path) -> str:
    """`__app__.<Folder>` for `<Folder>/__init__.py`, `__app__.<Folder>.<file>` for another file."""
    try:
        relative = script.relative_to(script_root)
    except ValueError:
        raise _fail(script_root, name, f"scriptFile {script} is outside the script root") from None
    if script.suffix != ".py":
        raise AppLoadError(str(script_root), f"cannot load function {name}: invalid Python filename {relative}")
    parts = [NAMESPACE, *relative.parts[:-1]]
    if script.stem.lower() != "__init__":
        parts.append(script.stem)
    return ".".join(parts)


def _import_entry_point(script_root: Path, folder: Path, metadata: dict[str, Any]) -> Callable[..., Any]:
    name = folder.name
    script = (folder / str(metadata.get("scriptFile") or DEFAULT_SCRIPT)).resolve()
    entry_point = str(metadata.get("entryPoint") or DEFAULT_ENTRY_POINT)
    module_name = _module_name(script_root, name, script)
    if not script.is_file():
        raise _fail(script_root, name, f"scriptFile {script.relative_to(script_root)} does not exist")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise _fail(script_root, name, f"importing {script.relative_to(script_root)} failed: "
                    f"{type(exc).__name__}: {exc} ({frame.filename}:{frame.lineno})") from exc
    user = getattr(module, entry_point, None)
    if user is None or not callable(user):
        raise AppLoadError(str(script_root), f"cannot load function {name}: function {entry_point}() is not "
                           f"present in {script.relative_to(script_root)}")  # the worker's words
    return user  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Binding:
    """A binding as indexing_rules reads one (the attributes of the SDK's decorator bindings)."""

    name: str
    type: str
    direction: int
    data_type: Any


class _V1Function:
    """A v1 function seen through the interface indexing_rules checks (that of the SDK's `Function`)."""

    def __init__(self, name: str, user: Callable[..., Any], bindings: list[dict[str, Any]]) -> None:
        self._name = name
        self._user = user
        self._bindings = [_Binding(b["name"], b["type"], _DIRECTIONS[b["direction"]], _data_type(b))
                          for b in bindings]

    def get_function_name(self) -> str:
        return self._name

    def get_user_function(self) -> Callable[..., Any]:
        return self._user

    def get_bindings(self) -> list[_Binding]:
        return self._bindings

    def get_settings_dict(self, key: str) -> dict[str, Any] | None:
        return None  # function.json retry policies are applied by the host, not checked by the worker


def _data_type(binding: dict[str, Any]) -> Any:
    text = str(binding.get("dataType") or "").upper()
    return DataType[text].value if text in DataType.__members__ else DataType.UNDEFINED.value


def _adapt_http_output(user: Callable[..., Any], bindings: list[dict[str, Any]]) -> Callable[..., Any]:
    """For `res: func.Out[func.HttpResponse]`, a callable without `res` that returns what was set."""
    out = next((b["name"] for b in bindings if b["type"] == "http" and b["direction"] == "out"
                and b["name"] != "$return"), None)
    if out is None:
        return user
    if inspect.iscoroutinefunction(user):
        @functools.wraps(user)
        async def call_async(**kwargs: Any) -> Any:
            holder = _Out()
            result = await user(**kwargs, **{out: holder})
            return holder.get() if holder.was_set else result

        return call_async

    @functools.wraps(user)
    def call(**kwargs: Any) -> Any:
        holder = _Out()
        result = user(**kwargs, **{out: holder})
        return holder.get() if holder.was_set else result

    return call


class _Out:
    """What the worker passes for an `out` binding: `set()` a value, the host reads it afterwards."""

    def __init__(self) -> None:
        self.was_set = False
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value
