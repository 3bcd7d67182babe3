"""Load a v1 (function.json) app with Azure's own v1 Python worker library and report what it accepts.

Run under the Python 3.13 environment of worker_env.py, which has `azure-functions-runtime-v1`
(the library the Functions host's Python 3.13+ worker runs for apps in the v1 model):

    python index_v1_with_worker.py SCRIPT_ROOT [SCRIPT_ROOT...]

For every folder with a function.json it does what the worker does for a `FunctionLoadRequest`:
`loader.load_function` imports the script file as `__app__.<Folder>` and takes the entry point,
then `Registry.add_function` compares the Python signature with the bindings (raising
`FunctionLoadError`). The host sends the metadata as protobuf messages; small stand-ins carry the
same fields (name, directory, script_file, entry_point, bindings by name with type, direction and
data_type). Prints a JSON list, one report per script root: {"script_root", "versions",
"accepted": [{"name", "bindings"}], "rejected": [{"name", "error_type", "message"}]}.
Exit status: 0 if every function was accepted, 1 otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any


class BindingInfo:
    """`BindingInfo` of FunctionRpc.proto: the fields and enum values the v1 registry reads."""

    out = 1
    inout = 2
    undefined = 0
    string = 1
    binary = 2
    stream = 3

    def __init__(self, type: str, direction: int, data_type: int) -> None:  # the proto's field names
        self.type = type
        self.direction = direction
        self.data_type = data_type


setattr(BindingInfo, "in", 0)
_DIRECTIONS = {"in": 0, "out": 1, "inout": 2}
_DATA_TYPES = {"string": 1, "binary": 2, "stream": 3}


def _protos() -> types.ModuleType:
    module = types.ModuleType("FunctionRpc_pb2_standin")
    module.BindingInfo = BindingInfo  # type: ignore[attr-defined]
    return module


def _metadata(folder: Path, spec: dict[str, Any]) -> types.SimpleNamespace:
    """The RpcFunctionMetadata the host sends: the script file resolved from the function's folder."""
    bindings = {b["name"]: BindingInfo(b["type"], _DIRECTIONS[str(b.get("direction", "in")).lower()],
                                       _DATA_TYPES.get(str(b.get("dataType", "")).lower(), 0))
                for b in spec.get("bindings", [])}
    script = (folder / spec.get("scriptFile", "__init__.py")).resolve()
    return types.SimpleNamespace(name=folder.name, directory=str(folder), script_file=str(script),
                                 entry_point=spec.get("entryPoint", ""), bindings=bindings)


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("azure-functions-runtime-v1", "azure-functions", "azure-functions-durable"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def index(script_root: str) -> dict[str, Any]:
    from azure_functions_runtime_v1.bindings.meta import load_binding_registry
    from azure_functions_runtime_v1.functions import Registry
    from azure_functions_runtime_v1.loader import install, load_function

    report: dict[str, Any] = {"script_root": script_root, "versions": _versions(), "accepted": [], "rejected": []}
    load_binding_registry()
    install()
    registry, protos = Registry(), _protos()
    _forget_previous_app()
    root = Path(script_root)
    for folder in sorted((d for d in root.iterdir() if (d / "function.json").is_file()), key=lambda d: d.name.lower()):
        spec = json.loads((folder / "function.json").read_text())
        if spec.get("disabled") is True:
            continue
        meta = _metadata(folder, spec)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                func = load_function(meta.name, meta.directory, meta.script_file, meta.entry_point)
                registry.add_function(meta.name, func, meta, protos)
        except Exception as exc:
            report["rejected"].append({"name": meta.name, "error_type": type(exc).__name__, "message": str(exc)})
        else:
            report["accepted"].append({"name": meta.name,
                                       "bindings": sorted(f"{b['type']}:{b['name']}" for b in spec["bindings"])})
    return report


def _forget_previous_app() -> None:
    """One worker process serves one app: drop the modules and namespace location of the previous one."""
    from azure_functions_runtime_v1 import loader

    loader._submodule_dirs.clear()
    for name in [m for m in sys.modules if m.split(".")[0] == "__app__" and m != "__app__"]:
        del sys.modules[name]


def main(argv: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    reports = []
    for root in argv[1:]:
        script_root = os.path.abspath(root)
        sys.path.insert(0, script_root)
        os.chdir(script_root)
        reports.append(index(script_root))
    print(json.dumps(reports, indent=2))
    return 1 if any(r["rejected"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
