"""The management API's shortcuts on the signal path read exactly what the general parsing reads."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import make_mocked_request

from funchost.errors import BadRequest
from funchost.management import _operation, signal_input

QUERIES = ["op=add", "op=Add2", "op=", "", "op", "op=a%26b", "op=a+b", "op=a%2Bb", "op=%C3%A9", "op=add&op=x",
           "x=1&op=add", "op=ab%3Dc", "op=reset_all", "op=%00", "OP=add", "op=add;x=1", "op=a%20b", "op==add"]


@pytest.mark.parametrize("query", QUERIES)
def test_the_op_shortcut_reads_what_the_query_parser_reads(query: str) -> None:
    request = make_mocked_request("POST", f"/runtime/webhooks/durabletask/entities/Counter/k?{query}")
    assert _operation(request) == (request.query.get("op") or "")


BODIES = [b"1", b" 1 ", b'"text"', b'{"a": [1, 2.5, null]}', b"[]", b"1e400", b"NaN", b'"\\u00e9"',
          "\u00e9".encode(), '"\u00e9"'.encode(), '"x"'.encode("utf-16"), '"x"'.encode("utf-16-le"),
          b"\x00", b"1\x00", b"{", b"\xff"]


@pytest.mark.parametrize("raw", BODIES)
def test_a_json_signal_body_reads_as_json_loads_of_the_bytes(raw: bytes) -> None:
    try:
        expected = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        with pytest.raises(BadRequest):
            signal_input("application/json", raw)
        return
    # json.loads of the bytes themselves (encoding detected), then the body's text kept for a non-string value
    reference = (expected, False) if isinstance(expected, str) else (raw.decode().strip(), True)
    assert signal_input("application/json", raw) == reference
