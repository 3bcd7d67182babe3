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

A sixth (issue 14, `orchestration-context`): the SDK's `DurableOrchestrationContext.from_json`
parses the context text the engine just encoded and builds a `HistoryEvent` (parsing its timestamp)
for every event of the history, on every episode, although all but the episode's new events are
the same as in the previous one. The engine hands the SDK an `OrchestrationContextText` (`model`):
the same text, carrying the values it decodes to and a per-instance memo. The patched `from_json`
takes those values instead of parsing the text, and the context's constructor (whose one call
per event to `HistoryEvent` is routed, in that module only, through `_history_event`) receives
the `HistoryEvent` the memo holds for each event the previous episode already built (checked by
identity with the engine's event dict, which nothing mutates) and a new one for the others. The SDK
never mutates a `HistoryEvent`. Any other text goes the SDK's way. Equal results: tested.

A seventh (issue 14, `orchestration-actions`) targets the activity action every `call_activity` builds
anew on every replay of an episode: its input is encoded through `df_dumps`, which builds a JSON
encoder per call even for a plain number or string, and `to_json` fills its dict through three
`hasattr`/`getattr` helper calls. In the action's module only, `df_dumps` writes the JSON of an
exact `int`, `str`, `bool` or `None` itself, as the json module writes it (`int.__repr__`, the
module's own ASCII string encoder, `true`/`false`/`null`), and hands anything else to the SDK's;
`CallActivityAction.to_json` builds the same dict directly. In the orchestration executor's module
only, `df_loads` of a task result without an expected type reads a plain JSON integer (ASCII digits,
no leading zero, at most 18) or `null` itself, after the same one-time advisory the SDK gives, in
loose typing mode; anything else goes to the SDK's. Equal results: tested.

An eighth (issue 14, `entity-inputs`) targets the entity context's `get_input`, which parses an
operation's input twice (`json.loads` of the JSON text of the input's text, then `df_loads` of that
text), and `get_state`, which decodes the stored state with `df_loads`: in the entity context's module
only, `json.loads` of the JSON text of a string with nothing to unescape (no quote or backslash in it,
only printable characters) returns the text between the quotes without the parser, and `df_loads` of a
plain integer or `null` without an expected type reads it directly as the orchestration executor's
does (loose typing mode only, after the same advisory); anything else goes to the json module and the
SDK's codec. A counter's `add 1` pays neither parser. Equal results: tested.

The host applies them explicitly when it starts (`server.Host` and
each activity worker process, as `config.HostConfig.sdk_patches` says); `FUNCHOST_SDK_PATCHES=0` leaves the SDK
exactly as installed.
"""

from __future__ import annotations

import functools
import importlib
import json
import operator
import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping
from datetime import datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from . import fastjson
from .model import OrchestrationContextText

_ascii_string: Any = encode_basestring_ascii  # what JSONEncoder.encode uses for a str

ENV_VAR = "FUNCHOST_SDK_PATCHES"
TIMESTAMP_PARSE = "timestamp-parse"
NAMEDTUPLE_CACHE = "namedtuple-cache"
STRICT_MODE_ONCE = "strict-mode-once"
CODEC_REUSE = "codec-reuse"
ENTITY_DIRECT = "entity-direct"
ORCHESTRATION_CONTEXT = "orchestration-context"
ORCHESTRATION_ACTIONS = "orchestration-actions"
ENTITY_INPUTS = "entity-inputs"

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
    if _reuse_history_events():
        _applied.add(ORCHESTRATION_CONTEXT)
    if _direct_activity_actions():
        _applied.add(ORCHESTRATION_ACTIONS)
    if _direct_entity_inputs():
        _applied.add(ENTITY_INPUTS)
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


class _Prebuilt(threading.local):
    """Per thread: the `HistoryEvent`s the context being constructed receives, in history order."""

    events: Iterator[Any] | None = None


_prebuilt = _Prebuilt()
_NO_FIELDS: dict[str, Any] = {}


def _history_event_factory(history_event: type) -> Any:
    """What the context module calls as `HistoryEvent(**fields)`: the next prebuilt event while the patched
    `from_json` constructs a context on this thread, else a new `HistoryEvent` as the SDK builds it."""
    def make(**fields: Any) -> Any:
        events = _prebuilt.events
        if events is not None:
            return next(events)
        return history_event(**fields)

    return make


def _history_events(history: list[dict[str, Any]], memo: list[Any], history_event: type) -> list[Any]:
    """A `HistoryEvent` per event of `history`: the memo's where it was built from that very dict object,
    else a new one. The memo holds two lists, the event dicts and their HistoryEvents; it ends up
    matching `history`. The common case (the history extends the memo's) is checked in C."""
    if not memo:
        memo[:] = [[], []]
    dicts, events = memo
    known = min(len(dicts), len(history))
    if not all(map(operator.is_, dicts[:known], history[:known])):
        known = next(i for i, (old, new) in enumerate(zip(dicts, history, strict=False)) if old is not new)
    del dicts[known:], events[known:]
    for fields in history[known:]:
        dicts.append(fields)
        events.append(history_event(**fields))
    return list(events)


def _reuse_history_events() -> bool:
    """Give `DurableOrchestrationContext.from_json` the engine's decoded context (see the module docstring)."""
    try:
        module = importlib.import_module("azure.durable_functions.models.DurableOrchestrationContext")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return False
    context_class = getattr(module, "DurableOrchestrationContext", None)
    history_event = getattr(module, "HistoryEvent", None)
    original = getattr(context_class, "from_json", None)
    if context_class is None or not isinstance(history_event, type) or original is None:
        return False
    setattr(module, "HistoryEvent", _history_event_factory(history_event))  # noqa: B010

    def from_json(cls: type, json_string: Any) -> Any:
        if not isinstance(json_string, OrchestrationContextText):
            return original.__func__(cls, json_string)
        value = json_string.value
        events = _history_events(value["history"], json_string.memo, history_event)
        previous = _prebuilt.events
        _prebuilt.events = iter(events)
        try:  # one empty placeholder per event: the constructor's HistoryEvent(**{}) takes the next prebuilt one
            return cls(**{**value, "history": [_NO_FIELDS] * len(events)})
        finally:
            _prebuilt.events = previous

    setattr(context_class, "from_json", classmethod(from_json))  # noqa: B010
    return True


def _scalar_dumps(original: Any) -> Any:
    """`df_dumps` with the JSON of an exact int, str, bool or None written directly, as the json module
    writes it; any other value goes to `original`."""
    def dumps(value: Any) -> str:
        kind = type(value)
        if kind is int:
            return int.__repr__(value)
        if kind is str:
            return encode_basestring_ascii(value)
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        result: str = original(value)
        return result

    return functools.wraps(original)(dumps)


def _direct_activity_actions() -> bool:
    """The activity action's input encoding and `to_json` without the generic helpers (module docstring)."""
    try:
        module = importlib.import_module("azure.durable_functions.models.actions.CallActivityAction")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return False
    action_class = getattr(module, "CallActivityAction", None)
    original_dumps = getattr(module, "df_dumps", None)
    original_to_json = getattr(action_class, "to_json", None)
    if action_class is None or original_dumps is None or original_to_json is None:
        return False
    setattr(module, "df_dumps", _scalar_dumps(original_dumps))  # noqa: B010

    def to_json(self: Any) -> dict[str, Any]:
        if type(self) is not action_class:
            result: dict[str, Any] = original_to_json(self)
            return result
        return {"actionType": self.action_type, "functionName": self.function_name, "input": self.input_}

    setattr(action_class, "to_json", functools.wraps(original_to_json)(to_json))  # noqa: B010
    return _scalar_result_loads()


def _plain_int(text: str) -> bool:
    """True for the JSON text of an integer that `int()` reads to the same value: [-]digits, no leading zero."""
    digits = text[1:] if text[:1] == "-" else text
    return 0 < len(digits) <= 18 and digits.isascii() and digits.isdigit() and (digits[0] != "0" or len(digits) == 1)


def _scalar_loads(original: Any, notify: Any) -> Any:
    """`df_loads` with plain integer and null texts (no expected type) read directly, after the SDK's
    one-time advisory `notify`; anything else goes to `original`."""
    def loads(text: Any, expected_type: type | None = None) -> Any:
        if expected_type is None and type(text) is str:
            if _plain_int(text):
                notify()
                return int(text)
            if text == "null":
                notify()
                return None
        return original(text, expected_type=expected_type)

    return functools.wraps(original)(loads)


def _loose_codec() -> tuple[Any, bool]:
    """(the codec's one-time advisory, True) when the SDK's codec runs in loose typing mode, else (None, False)."""
    try:
        codec = importlib.import_module("azure.functions._durable_functions")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return None, False
    notify = getattr(codec, "_notify_no_expected_type", None)
    strict = getattr(codec, "_is_strict_mode", None)
    if notify is None or strict is None or strict():
        return None, False
    return notify, True


def _scalar_result_loads() -> bool:
    """The executor module's `df_loads` with plain integer and null results read directly (loose mode only)."""
    try:
        executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return False
    original = getattr(executor, "df_loads", None)
    notify, loose = _loose_codec()
    if original is None or not loose:
        return False
    setattr(executor, "df_loads", _scalar_loads(original, notify))  # noqa: B010
    return True


class _StringLiteralJson:
    """The json module for the entity context's module: `loads` of the JSON text of a string with nothing to
    unescape (no quote or backslash inside, every character printable, so none is a control character the
    parser refuses) is the text between the quotes, as the parser reads it; anything else, and every other
    attribute, is the json module's own."""

    @staticmethod
    def loads(text: Any, **kwargs: Any) -> Any:
        if not kwargs and type(text) is str and len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            inner = text[1:-1]
            if '"' not in inner and "\\" not in inner and inner.isprintable():
                return inner
        return json.loads(text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


def _direct_entity_inputs() -> bool:
    """The entity context's `get_input` and `get_state` on plain texts without the parsers (module docstring)."""
    try:
        module = importlib.import_module("azure.durable_functions.models.DurableEntityContext")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return False
    original = getattr(module, "df_loads", None)
    notify, loose = _loose_codec()
    if original is None or not loose or getattr(module, "json", None) is not json:
        return False
    setattr(module, "df_loads", _scalar_loads(original, notify))  # noqa: B010
    setattr(module, "json", _StringLiteralJson())  # noqa: B010
    return True
