"""Behaviour-preserving speed-ups of three hot spots in the durable SDK, applied inside the host process.

Profiling the host showed the SDK spending a quarter of each orchestrator episode in places that
do not depend on the orchestration: `dateutil.parser.parse` for every history timestamp (~12 % of
host CPU), a `collections.namedtuple` class built anew for every episode (~5 %), and an environment
lookup (`AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`) on every payload encode and decode (~6 %).
The host replaces them, in the SDK modules' own namespaces only, with an ISO-8601 fast path that
falls back to dateutil for anything else, a cached namedtuple factory, and the strict-typing flag
read once when the host starts. Results are identical
for every timestamp the host writes (tested); nothing changes for the app when it runs in Azure.

The host applies them explicitly when it starts (`server.Host` and
each activity worker process, as `config.HostConfig.sdk_patches` says); `FUNCHOST_SDK_PATCHES=0` leaves the SDK
exactly as installed.
"""

from __future__ import annotations

import functools
import importlib
from collections import namedtuple
from collections.abc import Mapping
from datetime import datetime
from typing import Any

ENV_VAR = "FUNCHOST_SDK_PATCHES"
TIMESTAMP_PARSE = "timestamp-parse"
NAMEDTUPLE_CACHE = "namedtuple-cache"
STRICT_MODE_ONCE = "strict-mode-once"

_applied: set[str] = set()
_attempted = False


def enabled(environ: Mapping[str, str]) -> bool:
    """False when the environment opts out (`FUNCHOST_SDK_PATCHES=0`)."""
    return environ.get(ENV_VAR, "1").strip() != "0"


def apply_from(environ: Mapping[str, str]) -> frozenset[str]:
    """Apply the patches unless `environ` opts out; returns the names of the patches in place."""
    return apply() if enabled(environ) else applied()


def applied() -> frozenset[str]:
    """The names of the patches installed in this process."""
    return frozenset(_applied)


def _fast_parse(fallback: Any) -> Any:
    @functools.wraps(fallback)
    def parse(text: Any, *args: Any, **kwargs: Any) -> datetime:
        if not args and not kwargs and isinstance(text, str):
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        result: datetime = fallback(text, *args, **kwargs)
        return result

    return parse


def apply() -> frozenset[str]:
    """Install the speed-ups once; a missing or changed SDK module is left alone. Returns the names in place."""
    global _attempted
    if _attempted:
        return applied()
    _attempted = True
    try:
        # Modules by their full names: the packages re-export classes of the same names.
        history_module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
        executor_module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return applied()
    original_parse = getattr(history_module, "dt_parse", None)
    if original_parse is not None:
        setattr(history_module, "dt_parse", _fast_parse(original_parse))  # noqa: B010
        _applied.add(TIMESTAMP_PARSE)
    if getattr(executor_module, "namedtuple", None) is namedtuple:
        setattr(executor_module, "namedtuple", functools.lru_cache(maxsize=16)(namedtuple))  # noqa: B010
        _applied.add(NAMEDTUPLE_CACHE)
    if _cache_strict_mode():
        _applied.add(STRICT_MODE_ONCE)
    return applied()


def _cache_strict_mode() -> bool:
    """`df_loads`/`df_dumps` read an environment variable on every call; read it once per process."""
    try:
        codec = importlib.import_module("azure.functions._durable_functions")
    except ImportError:  # pragma: no cover - azure-functions is a hard dependency
        return False
    original = getattr(codec, "_is_strict_mode", None)
    if original is None:
        return False
    strict = bool(original())
    setattr(codec, "_is_strict_mode", lambda: strict)  # noqa: B010
    return True
