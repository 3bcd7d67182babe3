"""The management API's shortcuts on the signal path read exactly what the general parsing reads."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import make_mocked_request

from funchost.errors import BadRequest
from funchost.management import _mime_type, _operation, signal_input

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


HOSTILE = [b"9" * 5000, b" " + b"9" * 5000, b"-" + b"9" * 4301, b"[2, " + b"7" * 4400 + b"]", b"[" * 1000 + b"]" * 1000,
           b'{"a": ' * 1000 + b"1" + b"}" * 1000]


@pytest.mark.parametrize("raw", HOSTILE, ids=lambda raw: f"{raw[:8]!r}x{len(raw)}")
def test_a_json_signal_body_over_the_parser_limits_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        signal_input("application/json", raw)
    # as text, the same bytes are the operation's input text (the entity's get_input() meets the limit)
    assert signal_input("text/plain", raw) == (raw.decode(), False)


INTEGERS = [b"0", b"7", b"01", b"00", b"10", b"123456789012345678901234567890", b"-1", b"1 ", b"\xb2"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "APPLICATION/JSON", None])
@pytest.mark.parametrize("raw", INTEGERS)
def test_an_integer_body_reads_as_the_general_parsing_reads_it(raw: bytes, content_type: str | None) -> None:
    if content_type is not None and content_type.lower() == "application/json":
        try:
            expected = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            with pytest.raises(BadRequest):
                signal_input(content_type, raw)
            return
        assert signal_input(content_type, raw) == (raw.decode().strip(), True) and isinstance(expected, int)
    else:
        assert signal_input(content_type, raw) == (raw.decode("utf-8", errors="replace"), False)


CONTENT_TYPES = ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/jsonx",
                 "text/plain", "application/json ", " application/json", "application/json;", ""]


@pytest.mark.parametrize("header", [*CONTENT_TYPES, None])
def test_the_content_type_shortcut_reads_what_aiohttp_reads(header: str | None) -> None:
    headers = {"Content-Type": header} if header is not None else {}
    request = make_mocked_request("POST", "/runtime/webhooks/durabletask/entities/Counter/k?op=add", headers=headers)
    assert _mime_type(request) == request.content_type
