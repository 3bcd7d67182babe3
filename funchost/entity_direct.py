"""An entity batch run on the SDK's entity context directly, without the JSON envelope around it (issue 14).

The SDK's entity handle (`azure.durable_functions.Entity.create(fn)`) takes the batch as one JSON
document, builds a `DurableEntityContext`, runs `fn` once per operation and answers with another
JSON document (`EntityState.to_json_string`: each result and the state through the SDK's codec
`df_dumps`, then the whole envelope through `json.dumps`), which the host parses again. On an
entity batch of one signal, building, encoding and parsing those two envelopes was a third of the
SDK's time. `run_direct` does what the handle does, in the same order, on the same context class
and with the same codec, and hands back the texts the envelope would have carried: results and
state have the values of the SDK's texts (`df_dumps` of the same values), and an error raised
while encoding them fails the batch as the handle's would (tested against the SDK's handle in
tests/funchost/test_entity_direct.py). Only the envelope is skipped.

The texts are `fastjson.dumps_equal` of `df_dumps`: for plain data (the usual state and result)
orjson's compact text, else the codec's own. Only their values are observable: the host and the
SDK parse them (the management API's entity read answers the stored text, a JSON document like
any other); encoding a PlayerSession's state and result with the json module was ~30 % of an
operation (issue 14).

It is used only for the SDK's own handle (recognised by its code object, so a user's wrapper
around it still gets the JSON call), and only when the host applied its SDK patches
(`FUNCHOST_SDK_PATCHES=0` keeps the JSON path: the SDK exactly as installed).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from . import fastjson

_ascii_string: Callable[[str], str] = encode_basestring_ascii  # what json.dumps uses for a str (ensure_ascii)

EntityFunction = Callable[[Any], None]
# (results as (is_error, result JSON text, duration ms), state JSON text, entity exists)
DirectOutcome = tuple[list[tuple[bool, str, float]], str, bool]

_context_class: Any = None
_df_dumps: Callable[[Any], str] | None = None
_handle_code: Any = None
_internal_error: type[BaseException] = Exception
_enabled = False


def enable() -> bool:
    """Turn the direct path on (the host's SDK patches do, at start); False if the SDK is not as expected."""
    global _context_class, _df_dumps, _handle_code, _internal_error, _enabled
    try:
        entity_module = importlib.import_module("azure.durable_functions.entity")
        context_module = importlib.import_module("azure.durable_functions.models.DurableEntityContext")
        state_module = importlib.import_module("azure.durable_functions.models.entities.EntityState")
    except ImportError:  # pragma: no cover - the SDK is a hard dependency of the host
        return False
    probe = entity_module.Entity.create(lambda _context: None)
    context = context_module.DurableEntityContext("probe", "probe", False, None)
    expected = ("_state", "_state_is_raw", "_exists", "_operation", "_input", "_result")
    internal = getattr(entity_module, "InternalEntityException", None)
    if not all(hasattr(context, name) for name in expected) or not hasattr(state_module, "df_dumps") \
            or not isinstance(internal, type) or not issubclass(internal, Exception):
        return False
    _internal_error = internal
    _context_class = context_module.DurableEntityContext
    _df_dumps = state_module.df_dumps
    _handle_code = probe.__code__
    _enabled = True
    return True


def entity_function(handle: Callable[[str], str]) -> EntityFunction | None:
    """The user function inside the SDK's own entity handle, or None (direct path off, or another callable)."""
    if not _enabled or getattr(handle, "__code__", None) is not _handle_code:
        return None
    function: EntityFunction | None = getattr(handle, "entity_function", None)
    return function


def run_direct(fn: EntityFunction, name: str, key: str, state: str | None, exists: bool,
               batch: Sequence[tuple[str, str | None]]) -> DirectOutcome:
    """Run `batch` ((operation, input JSON text) pairs) as the SDK's handle would; raises where it raises.

    `state` is the stored state's JSON text (None: no state). Mirrors `Entity.handle`: one context
    for the batch, a user exception becomes an error result with `str(exc)`, and the result of an
    operation is the context's `_result` (kept from the previous operation when one sets none).
    """
    dumps = _df_dumps
    if _context_class is None or dumps is None:
        raise RuntimeError("entity_direct.enable() was not called")
    context = _context_class(name, key, exists, state)
    if state is not None:
        context._state_is_raw = True
    values: list[tuple[bool, Any, float]] = []
    for operation, input_text in batch:
        started = time.perf_counter()
        is_error = False
        try:
            context._operation = operation
            context._input = input_text
            fn(context)
            result = context._result
        except _internal_error:  # the SDK lets its own internal error fail the whole batch
            raise
        except Exception as exc:
            is_error = True
            result = str(exc)
        values.append((is_error, result, float(int((time.perf_counter() - started) * 1000))))
    # The SDK encodes the results first, then the state (EntityState.to_json): the same order, the same errors.
    encode = fastjson.dumps_equal
    results = [(is_error, encode(result, dumps), duration) for is_error, result, duration in values]
    state_text = context._state if context._state_is_raw else encode(context._state, dumps)
    return results, state_text, bool(context._exists)


def input_text(value: str | None) -> str | None:
    """An operation input as the envelope's `input` field carries it (the JSON text of the stored text):
    for a str, what `json.dumps` writes for it (its ASCII string encoder), without the call's overhead."""
    if type(value) is str:
        return _ascii_string(value)
    return json.dumps(value) if value is not None else None
