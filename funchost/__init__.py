"""funchost: an embedded local host for Azure Functions Python apps with Durable Functions.

It loads the same `function_app.py` that Azure runs, serves its HTTP triggers, runs its
orchestrations, activities and entities with state in SQLite, and exposes the Durable Functions
management API (`/runtime/webhooks/durabletask/...`) in a single Python process.

The public surface is re-exported here; everything else is internal and may change. The names
are imported on first use, so importing `funchost` (as every activity worker process does) stays
cheap. See docs/funchost.md for the module map.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Host": "server", "HostConfig": "config",
    "Dispatcher": "dispatcher", "DispatcherStats": "stats", "GaugeSource": "telemetry",
    "Store": "store", "InstanceQuery": "store", "InstanceRow": "store",
    "FunctionSet": "discovery", "load_app": "discovery",
    "Instance": "model", "ParentRef": "model", "Registry": "model", "RuntimeStatus": "model",
    "ActionKind": "model", "TERMINAL_STATUSES": "model", "ACTIVE_STATUSES": "model",
    "Message": "messages", "run_episode": "replay", "Episode": "replay",
    "FunchostError": "errors", "AppLoadError": "errors", "FunctionValidationError": "errors",
    "InvalidIdError": "errors", "InstanceNotFound": "errors", "InstanceAlreadyExists": "errors",
    "InstanceFinished": "errors", "UnknownFunction": "errors", "HostShuttingDown": "errors",
    "EntityOperationError": "errors", "NoDispatcher": "errors",
    "DataFolderInUse": "errors", "StoreOpenError": "errors", "SettingsError": "errors",
    "StoreUnavailable": "errors", "BadRequest": "errors", "EntityNotFound": "errors", "NotServed": "errors",
    "NotSupported": "errors", "NoInstancesMatched": "errors",
}

__all__ = [
    "ACTIVE_STATUSES", "TERMINAL_STATUSES", "ActionKind", "AppLoadError", "BadRequest", "DataFolderInUse",
    "Dispatcher", "DispatcherStats", "EntityNotFound", "EntityOperationError", "Episode", "FunchostError",
    "FunctionSet", "FunctionValidationError",
    "GaugeSource", "Host", "HostConfig", "HostShuttingDown", "Instance", "InstanceAlreadyExists",
    "InstanceFinished", "InstanceNotFound", "InstanceQuery", "InstanceRow", "InvalidIdError", "Message",
    "NoDispatcher", "NoInstancesMatched", "NotServed", "NotSupported", "ParentRef", "Registry", "RuntimeStatus",
    "SettingsError", "Store", "StoreOpenError", "StoreUnavailable",
    "UnknownFunction", "__version__", "load_app", "run_episode",
]

if TYPE_CHECKING:
    from .config import HostConfig
    from .discovery import FunctionSet, load_app
    from .dispatcher import Dispatcher
    from .errors import (
        AppLoadError,
        BadRequest,
        DataFolderInUse,
        EntityNotFound,
        EntityOperationError,
        FunchostError,
        FunctionValidationError,
        HostShuttingDown,
        InstanceAlreadyExists,
        InstanceFinished,
        InstanceNotFound,
        InvalidIdError,
        NoDispatcher,
        NoInstancesMatched,
        NotServed,
        NotSupported,
        SettingsError,
        StoreOpenError,
        StoreUnavailable,
        UnknownFunction,
    )
    from .messages import Message
    from .model import ACTIVE_STATUSES, TERMINAL_STATUSES, ActionKind, Instance, ParentRef, Registry, RuntimeStatus
    from .replay import Episode, run_episode
    from .server import Host
    from .stats import DispatcherStats
    from .store import InstanceQuery, InstanceRow, Store
    from .telemetry import GaugeSource


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'funchost' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
