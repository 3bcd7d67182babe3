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
