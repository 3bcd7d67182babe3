"""Entity batches on the SDK's context directly (`entity_direct`) give what the SDK's JSON handle gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import pytest

from funchost import entity_direct, sdk_patches
from funchost.entity_batch import Operation, OperationResult, _run_chunk, run_batch

from . import test_fastjson_equal


class Note:
    """A custom state type (the SDK's to_json/from_json protocol): state through the codec's envelope."""

    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> dict[str, str]:
        return {"text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Note:
        return cls(data["text"])


def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    elif context.operation_name == "fail":
        raise ValueError(f"refused at {value} \u00e9")
    elif context.operation_name == "delete":
        context.destruct_on_exit()
        return
    elif context.operation_name == "quiet":
        return  # no set_result: the SDK reports the previous operation's result again
    context.set_result({"value": value, "input": context.get_input()})


def untouched(context: df.DurableEntityContext) -> None:
    """Never reads the state: the stored text goes back verbatim."""
    context.set_result(context.operation_name)


def notes(context: df.DurableEntityContext) -> None:
    note = context.get_state(lambda: Note(""))
    if context.operation_name == "append":
        context.set_state(Note(note.text + str(context.get_input())))
    context.set_result(note)


def unencodable(context: df.DurableEntityContext) -> None:
    if context.operation_name == "bad_result":
        context.set_result(object())
    else:
        context.set_state({1, 2})  # a set: df_dumps refuses it, the batch fails as a whole


def internal(context: df.DurableEntityContext) -> None:
    """Raises the SDK's own internal error, which its handle lets through: the whole batch fails."""
    from azure.durable_functions.entity import InternalEntityException

    if context.operation_name == "break":
        raise InternalEntityException("broken inside")
    context.set_result(1)


def ops(*pairs: tuple[str, Any]) -> list[Operation]:
    return [Operation(seq=i, name=name, input=None if value is None else json.dumps(value), signal=i % 2 == 0)
            for i, (name, value) in enumerate(pairs)]


CASES: list[tuple[Callable[[df.DurableEntityContext], None], str | None, bool, list[Operation]]] = [
    (counter, None, False, ops(("add", 1), ("add", 2), ("get", None), ("quiet", None), ("fail", None),
                               ("add", 3), ("quiet", None))),
    (counter, "41", True, ops(("add", 1), ("get", "text \u2603"), ("delete", None))),
    (counter, "5", True, ops(("delete", None), ("add", 2))),
    (counter, "5", True, ops(("fail", None), ("", None))),
    (counter, '"not a number"', True, ops(("add", 1), ("get", None))),
    (untouched, json.dumps({"kept": ["as", "is"], "spacing": 1}), True, ops(("a", None), ("b", [1, 2]))),
    (untouched, None, False, ops(("a", None))),
    (notes, None, False, ops(("append", "x"), ("append", 7), ("read", None))),
    (unencodable, "1", True, ops(("bad_result", None))),
    (unencodable, "1", True, ops(("bad_state", None))),
    (internal, "7", True, ops(("fine", None), ("break", None))),
]


def _plain(results: list[OperationResult]) -> list[tuple[bool, Any]]:
    """Each result's error flag and value (the texts' values are the contract: the direct path writes
    plain data compactly, fastjson.dumps_equal); durations are timings, never equal by design."""
    return [(r.is_error, _value(r.result)) for r in results]


def _value(text: str | None) -> Any:
    return ("text", json.loads(text)) if text is not None else None


@pytest.mark.parametrize("case", range(len(CASES)))
def test_direct_batch_equals_the_sdk_handle(case: int) -> None:
    fn, state, exists, chunk = CASES[case]
    assert sdk_patches.ENTITY_DIRECT in sdk_patches.apply()
    handle = df.Entity.create(fn)
    assert entity_direct.entity_function(handle) is fn
    wrapped = lambda text: handle(text)  # noqa: E731 - another callable: the JSON envelope path
    assert entity_direct.entity_function(wrapped) is None
    direct = _run_chunk(handle, "counter", "k", state, exists, chunk)
    through_json = _run_chunk(wrapped, "counter", "k", state, exists, chunk)
    assert (_value(direct[0]), direct[1]) == (_value(through_json[0]), through_json[1])
    assert _plain(direct[2]) == _plain(through_json[2])
    assert test_fastjson_equal.same(_plain(direct[2]), _plain(through_json[2]))


def test_the_corpus_covers_errors_deletion_and_whole_batch_failures() -> None:
    sdk_patches.apply()
    outcomes = [_run_chunk(df.Entity.create(fn), "counter", "k", s, e, c) for fn, s, e, c in CASES]
    assert outcomes[0][2][4].is_error and "refused at 3" in (outcomes[0][2][4].result or "")
    assert outcomes[0][2][2].is_error  # get_input() of no input raises in the SDK: an error result
    assert outcomes[0][2][3].result == outcomes[0][2][1].result  # "quiet" repeats the last result set
    assert outcomes[0][:2] == ("6", True)
    assert "__data__" in (outcomes[7][0] or "")  # a custom state type through the codec's envelope
    assert outcomes[1][:2] == (None, False)  # deleted
    assert outcomes[5][0] == CASES[5][1]  # state never read: written back verbatim
    assert all(r.is_error and "entity batch failed" in (r.result or "") for r in outcomes[8][2] + outcomes[9][2])
    assert outcomes[9][:2] == ("1", True)  # a failed batch leaves the state as it was
    assert outcomes[10][:2] == ("7", True) and all("broken inside" in (r.result or "") for r in outcomes[10][2])


def test_run_batch_takes_the_direct_path_and_splits_at_builtin_delete() -> None:
    sdk_patches.apply()
    handle = df.Entity.create(counter)
    chunk = [*ops(("add", 2), ("add", 3)), Operation(seq=9, name="delete", input=None, signal=True,
                                                     builtin_delete=True), *ops(("add", 4))]
    outcome = run_batch(handle, "@counter@k", "10", True, chunk)
    assert (outcome.state, outcome.exists) == ("4", True)
    assert [json.loads(r.result or "null") for r in outcome.results] == [
        {"value": 12, "input": 2}, {"value": 15, "input": 3}, None, {"value": 4, "input": 4}]


def test_an_input_reaches_the_context_as_the_json_text_json_dumps_writes() -> None:
    for value in ["1", "", "plain", "é \u2603", "\ud800 lone", "\x00\x1f\x7f\"\\/", "\U0001f3b8", '{"a": 1}', None]:
        assert entity_direct.input_text(value) == (json.dumps(value) if value is not None else None), value


def test_an_empty_batch_and_a_batch_without_a_function_change_nothing() -> None:
    sdk_patches.apply()
    handle = df.Entity.create(counter)
    assert run_batch(handle, "@counter@k", None, False, []) == (None, False, [])
    outcome = run_batch(None, "@counter@k", "10", True, ops(("add", 2)))
    assert (outcome.state, outcome.exists) == ("10", True) and outcome.results[0].is_error
