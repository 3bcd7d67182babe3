"""The host's own JSON envelopes through orjson, falling back to the json module for what orjson refuses.

Only for documents the host builds and reads itself (the entity batch sent to the SDK's entity
handle, and the handle's answer), where the bytes do not matter, only the values: profiled, the
escaping and unescaping of the entity state inside those envelopes was ~7 % of a PlayerSession
operation, and orjson does it in about a quarter of the time. orjson refuses what the json module
accepts (strings with lone surrogates, integers beyond 64 bits when encoding, NaN and infinity
tokens when decoding); those documents go through the json module. One difference stays, and
keeps `loads` to the host's envelopes: orjson reads an integer beyond 64 bits as a float, where
the json module keeps it exact; the envelopes' only numbers are durations and epoch milliseconds.

`dumps_equal` is for what the SDK encodes where only the value is observable (an entity batch's
state and results, see entity_direct): the text the json module's encoder `exact` gives, or a
compact one with the same value after parsing, about 10x cheaper. It hands to orjson only a value
made of exact dicts, lists, tuples, strs, ints, floats, bools and None (marshal, in C, accepts
nothing else, no subclass, enum, datetime or custom object, where orjson and json differ), with
no NaN or infinity (orjson writes null for them; found in marshal's binary floats); what orjson
then refuses (integers beyond 64 bits, non-str keys, lone surrogates, deep or cyclic nesting) goes
to `exact`, which also raises what it raises.

`loads_exact` is for reading anyone's text (the SDK's codec reads entity state and inputs through
it, see sdk_patches): the json module's value exactly, so a text with a run of 19 or more digits
(where an integer might not fit 64 bits) goes to the json module too.
"""

from __future__ import annotations

import json
import marshal
import re
from collections.abc import Callable
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """`value` as JSON text (compact; the json module's when orjson cannot encode it)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON `text` whose integers fit 64 bits (the json module's reading when orjson refuses it)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# Every byte to a space but the digits: a run of 19 "0"s after `translate` is a run of 19 digits (an
# integer of up to 18 digits always fits 64 bits). bytes.translate and `in` scan in C: a regex search
# for \d{19} cost more than the json module's whole parse.
_DIGITS = bytes(48 if 48 <= code <= 57 else 32 for code in range(256))
_LONG_RUN = b"0" * 19


def loads_exact(text: str) -> Any:
    """`json.loads(text)`, the same value (and the same error), parsed by orjson where that gives it."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate in the text itself
        return json.loads(text)
    if _LONG_RUN not in data.translate(_DIGITS):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


# A marshalled float is b"g" (b"\xe7" when flagged as a back-reference target) and 8 little-endian
# bytes: NaN and the infinities have all exponent bits set (the last two bytes). A match elsewhere
# (inside another float's bytes) only sends the value to the exact encoder.
_NON_FINITE_BYTES = rb"[\x00-\xff]{6}[\xf0-\xff][\x7f\xff]"  # the 8 bytes of a NaN or an infinity
_NON_FINITE = re.compile(rb"[g\xe7]" + _NON_FINITE_BYTES)
_FLOAT_NON_FINITE = re.compile(rb"g" + _NON_FINITE_BYTES)
_REF_FLOAT_NON_FINITE = re.compile(rb"\xe7" + _NON_FINITE_BYTES)


def _finite(plain: bytes) -> bool:
    """Whether marshalled `plain` holds no NaN and no infinity (no match of `_NON_FINITE`).

    Searched as two patterns, one per type byte: a pattern that starts with one literal byte is
    scanned for that byte in a tight C loop, where `_NON_FINITE`'s leading class is tested a byte
    at a time (~35 us on a 4 KB PlayerSession state, against ~3 us for the two searches).
    """
    return _FLOAT_NON_FINITE.search(plain) is None and _REF_FLOAT_NON_FINITE.search(plain) is None


def dumps_equal(value: Any, exact: Callable[[Any], str]) -> str:
    """`exact(value)`, or a text whose parsed value equals that of `exact(value)` (see the module doc)."""
    try:
        plain = marshal.dumps(value)
    except (ValueError, RecursionError):  # not plain data (or nested too deep for marshal)
        return exact(value)
    if not _finite(plain):
        return exact(value)
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return exact(value)
