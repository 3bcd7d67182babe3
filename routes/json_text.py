"""The app's own JSON answers as text: orjson's compact text where it has the json module's value.

`json.dumps` of a record-performance answer (a few KB of stats) was ~10 % of the request's host CPU;
orjson writes it in a tenth of the time. Only the value of an answer is the app's contract (clients
parse it), so `dumps` gives orjson's compact UTF-8 text when it is sure to have the value
`json.dumps` would give, and `json.dumps`'s own text (or error) otherwise: a value with anything but
exact dicts, lists, tuples, strs, ints, floats, bools and None (marshal, in C, refuses the rest:
subclasses, enums, dates, custom objects, where the two encoders differ), with a NaN or an infinity
(json writes NaN, orjson null; spotted in marshal's binary floats), or that orjson refuses (integers
beyond 64 bits, non-str keys, lone surrogates, deep nesting).
"""

from __future__ import annotations

import json
import marshal
import re
from typing import Any

import orjson

# A marshalled float: b"g" (b"\xe7" flagged as a reference target) and 8 little-endian bytes; NaN and
# the infinities have every exponent bit set. A match inside other bytes only costs the json module.
_NON_FINITE_BYTES = rb"[\x00-\xff]{6}[\xf0-\xff][\x7f\xff]"  # the 8 bytes of a NaN or an infinity
_NON_FINITE = re.compile(rb"[g\xe7]" + _NON_FINITE_BYTES)
_FLOAT_NON_FINITE = re.compile(rb"g" + _NON_FINITE_BYTES)
_REF_FLOAT_NON_FINITE = re.compile(rb"\xe7" + _NON_FINITE_BYTES)


def _finite(plain: bytes) -> bool:
    """Whether marshalled `plain` holds no NaN and no infinity (no match of `_NON_FINITE`), searched as one
    pattern per type byte: a leading literal byte is scanned for in a tight C loop, ~10x faster than the
    leading class of `_NON_FINITE` on a few KB."""
    return _FLOAT_NON_FINITE.search(plain) is None and _REF_FLOAT_NON_FINITE.search(plain) is None


def dumps(value: Any) -> str:
    """JSON text of `value` that parses to the value of `json.dumps(value)` (that text when unsure)."""
    try:
        plain = marshal.dumps(value)
    except (ValueError, RecursionError):
        return json.dumps(value)
    if not _finite(plain):
        return json.dumps(value)
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)
