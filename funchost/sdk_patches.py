"""Behaviour-preserving speed-ups of two hot spots in the durable SDK, applied inside the host process.

Profiling the host showed the SDK spending a quarter of each orchestrator episode in places that
do not depend on the orchestration: `dateutil.parser.parse` for every history timestamp (~12 % of
host CPU), a `collections.namedtuple` class built anew for every episode (~5 %), and an environment
lookup (`AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`) on every payload encode and decode (~6 %).
The host replaces them, in the SDK modules' own namespaces only, with an ISO-8601 fast path that
falls back to dateutil for anything else, a cached namedtuple factory, and the strict-typing flag
read once when the host starts. Results are identical
for every timestamp the host writes (tested); nothing changes for the app when it runs in Azure.
"""

from __future__ import annotations

import functools
import importlib
from collections import namedtuple
from datetime import datetime
from typing import Any

_applied = False


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


def apply() -> None:
    """Install the speed-ups once; a missing or changed SDK module is left alone."""
    global _applied
    if _applied:
        return
    _applied = True
    try:
        # Modules by their full names: the packages re-export classes of the same names.
        history_module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
        executor_module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return
    original_parse = getattr(history_module, "dt_parse", None)
    if original_parse is not None:
        setattr(history_module, "dt_parse", _fast_parse(original_parse))  # noqa: B010
    if getattr(executor_module, "namedtuple", None) is namedtuple:
        setattr(executor_module, "namedtuple", functools.lru_cache(maxsize=16)(namedtuple))  # noqa: B010
    _cache_strict_mode()


def _cache_strict_mode() -> None:
    """`df_loads`/`df_dumps` read an environment variable on every call; read it once per process."""
    try:
        codec = importlib.import_module("azure.functions._durable_functions")
    except ImportError:  # pragma: no cover - azure-functions is a hard dependency
        return
    original = getattr(codec, "_is_strict_mode", None)
    if original is None:
        return
    strict = bool(original())
    setattr(codec, "_is_strict_mode", lambda: strict)  # noqa: B010
