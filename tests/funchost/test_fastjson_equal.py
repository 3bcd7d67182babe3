"""funchost.fastjson.dumps_equal: the value of the SDK codec's text for every value, orjson or not."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid
from typing import Any

from azure.functions._durable_functions import df_dumps
from hypothesis import given, settings
from hypothesis import strategies as st

from funchost import fastjson


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


class Count(int):
    pass


@dataclasses.dataclass
class Point:
    x: int


class Note:
    """A custom type of the SDK's to_json/from_json protocol: the codec wraps it in its envelope."""

    def __init__(self, text: str) -> None:
        self.text = text

    @staticmethod
    def to_json(obj: Note) -> str:
        return obj.text

    @classmethod
    def from_json(cls, text: str) -> Note:
        return cls(text)


# Leaves where orjson and the json module disagree (or one of them refuses), beside plain ones.
AWKWARD = st.sampled_from([
    Colour.RED, Level.HIGH, Name("sub"), Count(4), Point(1), uuid.UUID(int=7), Note("n"), {1, 2},
    datetime.datetime(2026, 1, 2, 3, 4, 5), datetime.date(2026, 1, 2), b"bytes", 1j, float("nan"),
    float("inf"), -float("inf"), -0.0, 2**64, -(2**63) - 1, 2**200, "\ud800 lone", "é ☃ \U0001f3b8",
])
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
          | st.text() | AWKWARD)
KEYS = st.text(max_size=8) | st.integers() | st.floats() | st.booleans() | st.none()
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=6) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=6), max_leaves=40)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types throughout (1 is not 1.0, -0.0 is not 0.0, NaN is NaN, key order counts)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


def outcome(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", json.loads(encode(value))
    except Exception as exc:  # the same error class as the codec's, or the test fails
        return "error", type(exc)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_dumps_equal_reads_back_to_the_codec_value_or_raises_its_error(value: Any) -> None:
    fast = outcome(lambda v: fastjson.dumps_equal(v, df_dumps), value)
    exact = outcome(df_dumps, value)
    assert fast[0] == exact[0]
    assert same(fast[1], exact[1]) if fast[0] == "value" else fast[1] is exact[1]


def test_plain_data_takes_orjson_and_awkward_leaves_take_the_codec() -> None:
    plain = {"window": [{"ok": True, "t": 1.5, "n": None}] * 3, "name": "é", "big": 2**63 - 1}
    assert fastjson.dumps_equal(plain, df_dumps) == json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    for leaf in (float("nan"), float("inf"), Colour.RED, Level.HIGH, Name("s"), uuid.UUID(int=7), Note("n"),
                 datetime.date(2026, 1, 2), 2**64, "\ud800", Point(1)):
        value = {"a": [1.5, {"b": leaf}]}
        try:
            expected = df_dumps(value)
        except TypeError:
            continue  # the codec refuses it; the property test shows the same error
        assert fastjson.dumps_equal(value, df_dumps) == expected, leaf
    assert fastjson.dumps_equal({1: "int key"}, df_dumps) == '{"1": "int key"}'


def test_a_cycle_raises_the_codecs_error() -> None:
    loop: list[Any] = [1.5]
    loop.append(loop)
    try:
        df_dumps(loop)
    except ValueError as exc:
        expected = str(exc)
    try:
        fastjson.dumps_equal(loop, df_dumps)
    except ValueError as exc:
        assert str(exc) == expected
    else:
        raise AssertionError("a cyclic value was encoded")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64) | VALUES.map(lambda v: _marshalled(v)))
def test_the_finite_check_agrees_with_the_non_finite_search(plain: bytes) -> None:
    assert fastjson._finite(plain) is (fastjson._NON_FINITE.search(plain) is None)


def _marshalled(value: Any) -> bytes:
    import marshal

    try:
        return marshal.dumps(value)
    except (ValueError, RecursionError):
        return b""


def test_a_non_finite_float_among_plain_data_is_found() -> None:
    import marshal

    for leaf in (float("nan"), float("inf"), -float("inf")):
        assert not fastjson._finite(marshal.dumps({"window": [{"t": 1.5, "ok": True}], "x": [2, leaf]}))
    assert fastjson._finite(marshal.dumps({"window": [{"t": 1.5, "ok": True}], "neg": -1, "x": [2, 1e308]}))
