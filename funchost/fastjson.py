"""The host's own JSON envelopes through orjson, falling back to the json module for what orjson refuses.

Only for documents the host builds and reads itself (the entity batch sent to the SDK's entity
handle, and the handle's answer), where the bytes do not matter, only the values: profiled, the
escaping and unescaping of the entity state inside those envelopes was ~7 % of a PlayerSession
operation, and orjson does it in about a quarter of the time. orjson refuses what the json module
accepts (strings with lone surrogates, integers beyond 64 bits when encoding, NaN and infinity
tokens when decoding); those documents go through the json module. One difference stays, and
keeps `loads` to the host's envelopes: orjson reads an integer beyond 64 bits as a float, where
the json module keeps it exact; the envelopes' only numbers are durations and epoch milliseconds.
Never for what the SDK or the app encode (their text is theirs, and stays byte for byte the same).

`loads_exact` is for reading anyone's text (the SDK's codec reads entity state and inputs through
it, see sdk_patches): the json module's value exactly, so a text with a run of 19 or more digits
(where an integer might not fit 64 bits) goes to the json module too.
"""

from __future__ import annotations

import json
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
