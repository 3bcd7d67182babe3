"""routes.json_text: the app's answers parse to what `json.dumps` would have written, or raise its error."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given, settings

from routes import json_text
from tests.funchost.test_fastjson_equal import VALUES, Colour, outcome, same


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_dumps_has_the_value_of_json_dumps_or_its_error(value: Any) -> None:
    fast, exact = outcome(json_text.dumps, value), outcome(json.dumps, value)
    assert fast[0] == exact[0]
    assert same(fast[1], exact[1]) if fast[0] == "value" else fast[1] is exact[1]


def test_plain_answers_are_compact_and_the_rest_is_json_dumps_text() -> None:
    answer = {"playerId": "p é", "rate": 0.5, "shapes": {"a": {"n": 1, "best": None}}, "ok": True}
    assert json_text.dumps(answer) == json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
    assert json_text.dumps({"x": float("nan")}) == '{"x": NaN}'
    assert json_text.dumps({1: [2**70]}) == '{"1": [1180591620717411303424]}'
    for unencodable in (Colour.RED, uuid.UUID(int=1)):
        try:
            json_text.dumps({"v": unencodable})
        except TypeError:
            continue
        raise AssertionError(f"{unencodable!r} was encoded where json.dumps refuses it")


def test_the_finite_check_agrees_with_the_non_finite_search() -> None:
    import marshal

    for value in ({"x": [1.5, -1, "é"]}, {"x": float("nan")}, [float("-inf"), 2**40], "\x7f", -(2**31), 1e308):
        plain = marshal.dumps(value)
        assert json_text._finite(plain) is (json_text._NON_FINITE.search(plain) is None), value
