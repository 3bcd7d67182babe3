"""The JSON limits of funchost/safejson.py: nesting depth checked before parsing (brackets inside strings
do not count), integers over Python's digit limit refused, both as UnsafeJson (answered 400)."""

from __future__ import annotations

import pytest

from funchost.safejson import MAX_DEPTH, UnsafeJson, exceeds_depth, loads


@pytest.mark.parametrize(("text", "deeper"), [
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, False),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), True),
    ('{"a": "' + "[" * 500 + '", "b": [1, {"c": [2]}]}', False),
    ('"\\"' + "{" * 500 + '"', False),
    ("[]" * 100_000, False),
    ('{"x": ' + "[" * 1000 + "]" * 1000 + "}", True),
])
def test_depth_is_measured_outside_strings(text: str, deeper: bool) -> None:
    assert exceeds_depth(text, MAX_DEPTH) is deeper


def test_a_large_flat_body_parses() -> None:
    body = "[" + ",".join(['{"a": [1, 2, {"b": "s[t]r"}]}'] * 20_000) + "]"
    assert len(loads(body)) == 20_000


@pytest.mark.parametrize("raw", [b"[" * 1000 + b"]" * 1000, b"1" * 5000, b'{"a": 1' , b"\xff"])
def test_unsafe_bodies_raise_unsafe_json_naming_the_problem(raw: bytes) -> None:
    with pytest.raises(UnsafeJson) as caught:
        loads(raw)
    assert str(caught.value)
