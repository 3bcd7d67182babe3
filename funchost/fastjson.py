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
