"""Run one batch of entity operations through the SDK's entity handle (pure apart from user code)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from . import entity_direct, fastjson
from .errors import not_a_function_message
from .history import EventType, HistoryEvent, event
from .ids import split_entity_id

EntityHandle = Callable[[str], str]


class Operation(NamedTuple):
    """One queued entity operation (a signal, or a call from an orchestration awaiting a response).

    A named tuple rather than a frozen dataclass: two are built per signal (at enqueue and when its
    batch runs), and a frozen dataclass's `__init__` (one `object.__setattr__` per field) was 1.8 %
    of the host's time per signal in the profile."""

    seq: int
    name: str
    input: str | None
    signal: bool
    request_id: str | None = None
    parent: str | None = None
    parent_execution: str | None = None
    enqueued_at: float = 0.0
    builtin_delete: bool = False
    traceparent: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.name, "input": self.input, "at": self.enqueued_at}
        if self.signal:
            body["signal"] = True
        if self.request_id:
            body["id"] = self.request_id
        if self.parent:
            body["parent"] = self.parent
            body["parentExecution"] = self.parent_execution
        if self.builtin_delete:
            body["builtinDelete"] = True
        if self.traceparent:
            body["traceparent"] = self.traceparent
        return body

    @classmethod
    def from_json(cls, seq: int, body: dict[str, Any]) -> Operation:
        return cls(seq=seq, name=body["op"], input=body.get("input"), signal=bool(body.get("signal")),
                   request_id=body.get("id"), parent=body.get("parent"),
                   parent_execution=body.get("parentExecution"), enqueued_at=float(body.get("at", 0.0)),
                   builtin_delete=bool(body.get("builtinDelete")), traceparent=body.get("traceparent"))


class OperationResult(NamedTuple):
    """The outcome of one operation: its result's JSON text (the error message's, if it failed)."""

    is_error: bool
    result: str | None
    duration_ms: float = 0.0


class BatchOutcome(NamedTuple):
    """What one batch left: the state's JSON text (None if the entity does not exist) and each result."""

    state: str | None
    exists: bool
    results: list[OperationResult]


def run_batch(handle: EntityHandle | None, entity_id: str, state: str | None, exists: bool,
              operations: list[Operation]) -> BatchOutcome:
    """Apply `operations` in order; user exceptions become error results, never raise."""
    name, key = split_entity_id(entity_id)
    if operations and handle is not None and not _deletes(operations):  # the usual batch: one run over it all
        state, exists, results = _run_chunk(handle, name, key, state, exists, operations)
        return BatchOutcome(state=state, exists=exists, results=results)
    results = []
    index = 0
    while index < len(operations):
        op = operations[index]
        if op.builtin_delete:
            state, exists = None, False
            results.append(OperationResult(False, None))
            index += 1
            continue
        end = index
        while end < len(operations) and not operations[end].builtin_delete:
            end += 1
        chunk = operations[index:end]
        if handle is None:
            message = not_a_function_message("entity", name)
            results.extend(OperationResult(True, json.dumps(message)) for _ in chunk)
        else:
            state, exists, chunk_results = _run_chunk(handle, name, key, state, exists, chunk)
            results.extend(chunk_results)
        index = end
    return BatchOutcome(state=state, exists=exists, results=results)


def _deletes(operations: list[Operation]) -> bool:
    """True when a built-in delete is among `operations` (it splits the batch into runs around it)."""
    return any(op.builtin_delete for op in operations)


def _run_chunk(handle: EntityHandle, name: str, key: str, state: str | None, exists: bool,
               chunk: list[Operation]) -> tuple[str | None, bool, list[OperationResult]]:
    """One run of the entity function over `chunk`: on the SDK's context directly when the handle is the
    SDK's own (`entity_direct`), else through the handle's JSON envelope; the same results either way."""
    fn = entity_direct.entity_function(handle)
    if fn is not None and all(op.name is not None for op in chunk):
        return _run_direct(fn, name, key, state, exists, chunk)
    request = {
        "self": {"name": name, "key": key},
        "state": state,
        "exists": exists,
        "batch": [{"name": op.name, "input": json.dumps(op.input) if op.input is not None else None,
                   "isSignal": op.signal} for op in chunk],
    }
    try:
        raw = fastjson.loads(handle(fastjson.dumps(request)))
        results = raw["results"]
        if len(results) != len(chunk):
            raise ValueError(f"entity returned {len(results)} results for {len(chunk)} operations")
    except Exception as exc:  # the whole batch failed (SDK-internal error): state is unchanged
        message = json.dumps(f"entity batch failed: {exc}")
        return state, exists, [OperationResult(True, message) for _ in chunk]
    new_exists = bool(raw.get("entityExists"))
    new_state = raw.get("entityState") if new_exists else None
    return new_state, new_exists, [
        OperationResult(bool(r.get("isError")), r.get("result"), float(r.get("duration") or 0))
        for r in results
    ]


def _run_direct(fn: entity_direct.EntityFunction, name: str, key: str, state: str | None, exists: bool,
                chunk: list[Operation]) -> tuple[str | None, bool, list[OperationResult]]:
    """`_run_chunk` on the SDK's entity context, without the envelope (its failure handling is the same)."""
    to_input = entity_direct.input_text
    try:
        results, new_state, new_exists = entity_direct.run_direct(
            fn, name, key, state, exists, [(op.name, to_input(op.input)) for op in chunk])
    except Exception as exc:  # as the handle failing: the whole batch failed, state is unchanged
        message = json.dumps(f"entity batch failed: {exc}")
        return state, exists, [OperationResult(True, message) for _ in chunk]
    return (new_state if new_exists else None), new_exists, [
        OperationResult(is_error, result, duration) for is_error, result, duration in results]


def response_event(op: Operation, result: OperationResult, now: Any) -> HistoryEvent:
    """The EventRaised an orchestration that called this operation receives."""
    body: dict[str, Any] = {"result": result.result}
    if result.is_error:
        body["exceptionType"] = "Error"
    return event(EventType.EVENT_RAISED, now, Name=op.request_id, Input=json.dumps(body))
