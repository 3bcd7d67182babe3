"""funchost.fastjson: the values of the json module for every envelope, orjson or not."""

from __future__ import annotations

import json

import pytest

from funchost import fastjson

STATE = json.dumps({"window": [{"ok": True, "t": 1.5}] * 40, "name": "é \u2603 \U0001f3b8", "q": 'say "hi"\n'})
BIG = {"big": 2**80, "neg": -(2**70)}
VALUES = [
    {"self": {"name": "counter", "key": "k"}, "state": STATE, "exists": True,
     "batch": [{"name": "add", "input": json.dumps("1"), "isSignal": True}]},
    {"lone surrogate": "\ud800 in a string"},  # orjson refuses it: the json module's text
    BIG,  # beyond 64 bits: the json module's text
    [None, 0, -1, 0.1, 1e300, "", [], {}],
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_text_reads_back_to_the_same_value_with_the_json_module(value: object) -> None:
    assert json.loads(fastjson.dumps(value)) == value


# Integers beyond 64 bits are out of `loads`' contract (orjson reads them as floats): the host's
# envelopes carry none (their numbers are durations and epoch milliseconds).
@pytest.mark.parametrize("text", [json.dumps(v) for v in VALUES if v is not BIG]
                         + ['{"nan": NaN, "s": "\\ud800"}', "[1e999]"])
def test_loads_gives_the_json_modules_value(text: str) -> None:
    expected = json.loads(text)
    got = fastjson.loads(text)
    assert json.dumps(got) == json.dumps(expected)  # NaN and inf compare by their text


def test_an_entity_batch_runs_the_same_through_the_sdk() -> None:
    import azure.durable_functions as df

    from funchost.entity_batch import Operation, run_batch

    def counter(context: df.DurableEntityContext) -> None:
        value = context.get_state(lambda: 0) + context.get_input()
        context.set_state(value)
        context.set_result({"value": value, "note": "\u00e9\U0001f3b8"})

    handle = df.Entity.create(counter)
    ops = [Operation(seq=i, name="add", input=json.dumps(i), signal=False, request_id=f"r{i}") for i in range(5)]
    outcome = run_batch(handle, "@counter@k", json.dumps(10), True, ops)
    assert outcome.exists and json.loads(outcome.state or "null") == 20
    assert [json.loads(r.result or "null")["value"] for r in outcome.results] == [10, 11, 13, 16, 20]
    assert not any(r.is_error for r in outcome.results)


EXACT_TEXTS = [json.dumps(v) for v in VALUES] + [
    '{"nan": NaN, "s": "\\ud800"}', "[1e999, -Infinity]", "18446744073709551616", "-9223372036854775809",
    "123456789012345678", '{"id": "12345678901234567890"}', '{"a": 1, "a": 2}', " [1, 2.50, -0, -0.0] ",
    '"\\u00e9\\n\\"q\\""', "1E400", "0.1e1", "[1.7976931348623157e308, 5e-324, 2.2250738585072014e-308]",
]


def _float_texts() -> list[str]:
    import random

    rng = random.Random(14)
    values = [rng.random() * 10 ** rng.randint(-30, 30) * rng.choice((1, -1)) for _ in range(2000)]
    digits = ["0." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 17))) for _ in range(500)]
    return [json.dumps(values), "[" + ", ".join(digits) + "]"]


@pytest.mark.parametrize("text", EXACT_TEXTS + _float_texts())
def test_loads_exact_gives_the_json_modules_value_and_type(text: str) -> None:
    expected = json.loads(text)
    got = fastjson.loads_exact(text)
    assert json.dumps(got) == json.dumps(expected)  # NaN and inf compare by their text; floats by repr
    assert repr(got) == repr(expected)  # the same types too (an int stays an int, however long)


@pytest.mark.parametrize("text", ["", "[1,", '{"a" 1}', "nul", '"\x01"'])
def test_loads_exact_refuses_what_the_json_module_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        fastjson.loads_exact(text)


def test_loads_exact_reads_a_text_holding_a_lone_surrogate_itself() -> None:
    text = '"\ud800"'  # the character itself, not an escape: not encodable as UTF-8
    assert fastjson.loads_exact(text) == json.loads(text)
