"""Behaviour-preserving speed-ups of three hot spots in the durable SDK, applied inside the host process.

Profiling the host showed the SDK spending a quarter of each orchestrator episode in places that
do not depend on the orchestration: `dateutil.parser.parse` for every history timestamp (~12 % of
host CPU), a `collections.namedtuple` class built anew for every episode (~5 %), and an environment
lookup (`AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`) on every payload encode and decode (~6 %).
The host replaces them, in the SDK modules' own namespaces only, with an ISO-8601 fast path that
falls back to dateutil for anything else, a cached namedtuple factory, and the strict-typing flag
read once when the host starts. Results are identical
for every timestamp the host writes (tested); nothing changes for the app when it runs in Azure.

A fourth (issue 14) targets the payload codec (`df_loads`/`df_dumps`), which runs several times on
every entity operation: `json.loads(s, object_hook=...)` and `json.dumps(v, default=...)` build a
new decoder or encoder on each call, and `df_loads` with an `expected_type` (the entity's
`get_state`) parses the same text twice, once plain to inspect it and once with the object hook.
Inside the codec module only, `json` is replaced by `_ReusingJson`: the same calls on a decoder
and an encoder built once with the same arguments, and the second parse skipped when the text
cannot hold a custom-object envelope (no `"__class__"` and no backslash-u escape in it, so the hook
returns every object unchanged and both parses give equal values). Plain parses go through orjson
(`fastjson.loads_exact`: the json module's value exactly; a PlayerSession state decode took ~3x
longer in the json module). Equal results: tested. Encoding stays the json module's (its bytes are
the SDK's results).

A fifth (issue 14) changes no SDK code: entity batches run on the SDK's entity context directly,
without the JSON envelope the SDK's entity handle reads and writes (`funchost/entity_direct.py`;
the same results and state texts: tested).

The host applies them explicitly when it starts (`server.Host` and
each activity worker process, as `config.HostConfig.sdk_patches` says); `FUNCHOST_SDK_PATCHES=0` leaves the SDK
exactly as installed.
"""

from __future__ import annotations

import functools
import importlib
import json
import threading
from collections import namedtuple
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import fastjson

_ascii_string: Any = json.encoder.encode_basestring_ascii  # what JSONEncoder.encode uses for a str

ENV_VAR = "FUNCHOST_SDK_PATCHES"
TIMESTAMP_PARSE = "timestamp-parse"
NAMEDTUPLE_CACHE = "namedtuple-cache"
STRICT_MODE_ONCE = "strict-mode-once"
CODEC_REUSE = "codec-reuse"
ENTITY_DIRECT = "entity-direct"

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
    if _reuse_codec_coders():
        _applied.add(CODEC_REUSE)
    from . import entity_direct

    if entity_direct.enable():
        _applied.add(ENTITY_DIRECT)
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


class _ReusingJson:
    """What the SDK's codec module sees as `json`: the same functions, with its coders built once.

    Only the two call shapes the codec makes are served differently (`loads(text,
    object_hook=hook)`, `dumps(value, default=default)`, with the codec's own hook and default);
    anything else goes to the `json` module as is. `last` remembers, per thread, the value of the
    latest plain `loads` of a text that holds no envelope, for the hooked `loads` of that very text
    object that `df_loads(text, expected_type)` makes next; any other call forgets it.
    """

    def __init__(self, hook: Any, default: Any) -> None:
        self._hook = hook
        self._default = default
        self._decoder = json.JSONDecoder(object_hook=hook)
        self._encoder = json.JSONEncoder(default=default)
        self._last = threading.local()

    def loads(self, text: Any, **kwargs: Any) -> Any:
        remembered = getattr(self._last, "pair", None)
        self._last.pair = None
        if not isinstance(text, str):
            return json.loads(text, **kwargs)
        if not kwargs:
            plain = '"__class__"' not in text and "\\u" not in text
            value = fastjson.loads_exact(text)
            if plain:
                self._last.pair = (text, value)
            return value
        if kwargs.get("object_hook") is self._hook and len(kwargs) == 1:
            if remembered is not None and remembered[0] is text:
                return remembered[1]
            if '"__class__"' not in text and "\\u" not in text:
                return fastjson.loads_exact(text)  # the hook returns every object unchanged
            return self._decoder.decode(text)
        return json.loads(text, **kwargs)

    def dumps(self, value: Any, **kwargs: Any) -> str:
        self._last.pair = None
        if kwargs.get("default") is self._default and len(kwargs) == 1:
            kind = type(value)
            if kind is int:  # the encoder's own text for these: int.__repr__ and the ASCII string escaper
                return int.__repr__(value)
            if kind is str:
                return _ascii_string(value)
            if value is None:
                return "null"
            return self._encoder.encode(value)
        return json.dumps(value, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


def _reuse_codec_coders() -> bool:
    """Give the codec module a `_ReusingJson` as `json` (loose typing mode only: strict mode parses once)."""
    try:
        codec = importlib.import_module("azure.functions._durable_functions")
    except ImportError:  # pragma: no cover - azure-functions is a hard dependency
        return False
    hook = getattr(codec, "_deserialize_custom_object", None)
    default = getattr(codec, "_serialize_custom_object", None)
    strict = getattr(codec, "_is_strict_mode", None)
    if getattr(codec, "json", None) is not json or hook is None or default is None or strict is None or strict():
        return False
    setattr(codec, "json", _ReusingJson(hook, default))  # noqa: B010
    return True
