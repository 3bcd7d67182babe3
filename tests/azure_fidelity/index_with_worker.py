"""Index a function app with Azure's own Python worker library and report what it accepts.

Run under a Python 3.13 environment that has `azure-functions-runtime` (the library the Azure
Functions host's Python 3.13+ worker runs) and the app's dependencies installed:

    python index_with_worker.py SCRIPT_ROOT [SCRIPT_ROOT...]

It does what the worker does at startup for a `WorkerInitRequest`: load the binding registry,
import `function_app.py` through `loader.index_function_app`, then hand every indexed function
to `loader.process_indexed_function`, which is where the worker's `Registry` compares each
Python signature with its bindings and raises `FunctionLoadError`. The real worker stops at the
first rejected function; this script processes them one at a time (each call is independent)
so that every rejection is reported.

Prints a JSON list on stdout, one report per script root: {"script_root", "versions",
"accepted": [{"name", "bindings"}], "rejected": [{"name", "error_type", "message"}]}, plus
"error" with the worker's message if the app could not be indexed at all. Exit status: 0 if
every function was accepted, 1 if any was rejected, 2 if any app could not be indexed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from collections.abc import Iterator
from importlib import metadata
from typing import Any


class _Message:
    """A stand-in protobuf message: keeps its keyword fields; the indexer only constructs these."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fields!r})"


class BindingInfo(_Message):
    """`BindingInfo` of FunctionRpc.proto, with the enum values the indexer compares against."""

    # enum Direction { in = 0; out = 1; inout = 2; }  (`in` is a Python keyword: set below)
    out = 1
    inout = 2
    # enum DataType { undefined = 0; string = 1; binary = 2; stream = 3; }
    undefined = 0
    string = 1
    binary = 2
    stream = 3


setattr(BindingInfo, "in", 0)


class RpcFunctionMetadata(_Message):
    pass


class RpcRetryOptions(_Message):
    """Checks what a protobuf message would check on construction: the enum label, the int32 range."""

    # enum RetryStrategy { exponential_backoff = 0; fixed_delay = 1; }
    _STRATEGIES = ("exponential_backoff", "fixed_delay")

    def __init__(self, **fields: Any) -> None:
        strategy = fields.get("retry_strategy")
        if strategy is not None and strategy not in self._STRATEGIES:
            raise ValueError(f'unknown enum label "{strategy}"')
        count = fields.get("max_retry_count", 0)
        if not -(2**31) <= count < 2**31:
            raise ValueError(f"Value out of range: {count}")
        super().__init__(**fields)


def _protos() -> types.ModuleType:
    """The FunctionRpc module the Azure host normally passes in `request.properties["protos"]`."""
    module = types.ModuleType("FunctionRpc_pb2_standin")
    module.BindingInfo = BindingInfo  # type: ignore[attr-defined]
    module.RpcFunctionMetadata = RpcFunctionMetadata  # type: ignore[attr-defined]
    module.RpcRetryOptions = RpcRetryOptions  # type: ignore[attr-defined]
    return module


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("azure-functions-runtime", "azure-functions", "azure-functions-durable"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def index(script_root: str) -> dict[str, Any]:
    """Index one app the way `handle_event.worker_init_request` does; report every function's fate."""
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry
    from azure_functions_runtime.loader import index_function_app, process_indexed_function

    report: dict[str, Any] = {"script_root": script_root, "versions": _versions(), "accepted": [], "rejected": []}
    protos = _protos()
    try:
        load_binding_registry()
        # The app's own prints must not corrupt the JSON on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            indexed = index_function_app(os.path.join(script_root, "function_app.py"))
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    registry = Registry()
    for function in indexed or []:
        name = function.get_function_name()
        try:
            with contextlib.redirect_stdout(sys.stderr):
                process_indexed_function(protos, registry, [function], script_root)
        except Exception as exc:
            report["rejected"].append({"name": name, "error_type": type(exc).__name__, "message": str(exc)})
        else:
            bindings = [json.loads(b) for b in function.get_raw_bindings()]
            report["accepted"].append({"name": name, "bindings": [f"{b['type']}:{b['name']}" for b in bindings]})
    return report


@contextlib.contextmanager
def _as_worker_for(script_root: str) -> Iterator[None]:
    """The state of a fresh worker process for one app: its root first on sys.path and as the cwd.

    One worker process serves one app. To index several apps in one process, every module an
    app imported (`function_app`, its packages, extensions such as the HTTP streaming one, whose
    import switches the worker's HTTP checks) is forgotten afterwards, and so are the worker's
    per-process caches of what the app imported.
    """
    from azure_functions_runtime.bindings import meta
    from azure_functions_runtime.http_v2 import HttpV2Registry

    path, cwd, modules = list(sys.path), os.getcwd(), dict(sys.modules)
    sys.path.insert(0, script_root)
    os.chdir(script_root)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        HttpV2Registry._http_v2_enabled_checked = False
        HttpV2Registry._http_v2_enabled = False
        HttpV2Registry._ext_base = None
        meta.DEFERRED_BINDING_REGISTRY = None
        meta._DEFERRED_BINDING_REGISTRY_LOADED = False


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(f"usage: {argv[0]} SCRIPT_ROOT [SCRIPT_ROOT...]", file=sys.stderr)
        return 2
    # Run as a script, this file's directory is sys.path[0]; the worker has no such entry.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    # Loaded once for all apps, as a worker has them loaded before it imports the app. The
    # Durable SDK is the apps' import, but importing it first changes nothing and saves time.
    import azure.durable_functions  # noqa: F401
    import azure_functions_runtime.loader  # noqa: F401

    reports = []
    for root in argv[1:]:
        script_root = os.path.abspath(root)
        with _as_worker_for(script_root):
            reports.append(index(script_root))
    print(json.dumps(reports, indent=2))
    if any("error" in r for r in reports):
        return 2
    return 1 if any(r["rejected"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
