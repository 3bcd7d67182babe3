"""A circuit breaker for the optional LLM: one durable entity (`llm_breaker@default`) the agent tasks ask first.

States: `closed` (tasks call the LLM), `open` (after `LLM_BREAKER_FAILURES` consecutive failed calls,
default 3: tasks skip the LLM at once and go to the rule engine) and `half-open` (the first task that
asks once `LLM_BREAKER_COOLDOWN_S`, default 30 s, has passed since the breaker opened is let through
as the probe; its success closes the breaker, its failure opens it again for another cool-down;
other tasks skip the LLM while the probe runs). The move from open to half-open happens when a task
asks, so between tasks an expired breaker still reads `open`.

Operations, each with input {"id": task id, "at": epoch seconds} (the caller's replay-safe clock; the
entity reads no clock):

- `acquire` -> {"allow", "breaker", "failures", "retryAt"}: may this task call the LLM now;
- `record` (+ "ok": bool) -> {"breaker", "failures"}: the outcome of a call `acquire` allowed. Only the
  probe's outcome counts while half-open; outcomes that arrive while open (calls let through before
  it opened) are ignored, so a late failure cannot extend the cool-down;
- `get` -> the state; `reset` -> closes the breaker by hand (ops: signal it through the entity API).

A failed call is one that got no usable HTTP answer (timeout, unreachable, HTTP error, not a chat
completion), or that lost the race with the task's deadline; an answer the plan validation rejects
is a working LLM and counts as a success. A probe not heard from for `LLM_TIMEOUT_S` + 30 s (its task
was cancelled mid-call) gives way to a new probe.
"""

from __future__ import annotations

import os
from typing import Any

import azure.durable_functions as df

import telemetry
from harmony.llm import LlmSettings

bp = df.Blueprint()

BREAKER_ENTITY = "llm_breaker"
BREAKER_KEY = "default"
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
DEFAULT_FAILURES = 3
DEFAULT_COOLDOWN_S = 30.0
PROBE_GRACE_S = 30.0


def breaker_settings() -> tuple[int, float, float]:
    """(failures that open the breaker, cool-down seconds, seconds after which a silent probe is stale)."""
    failures = os.environ.get("LLM_BREAKER_FAILURES", "")
    try:
        cooldown = float(os.environ.get("LLM_BREAKER_COOLDOWN_S") or DEFAULT_COOLDOWN_S)
    except ValueError:
        cooldown = DEFAULT_COOLDOWN_S
    settings = LlmSettings.from_env()
    probe_stale = (settings.timeout_s if settings else 20.0) + PROBE_GRACE_S
    return (int(failures) if failures.isdigit() and int(failures) > 0 else DEFAULT_FAILURES,
            cooldown if cooldown > 0 else DEFAULT_COOLDOWN_S, probe_stale)


def new_state() -> dict[str, Any]:
    """A closed breaker that has seen no failure."""
    return {"breaker": CLOSED, "failures": 0, "openedAt": None, "probe": None, "probeAt": None}


def _open(state: dict[str, Any], at: float) -> None:
    state.update(breaker=OPEN, openedAt=at, probe=None, probeAt=None)


def _close(state: dict[str, Any]) -> None:
    state.update(new_state())


def _acquire(state: dict[str, Any], task_id: str, at: float, cooldown: float, probe_stale: float) -> bool:
    if state["breaker"] == OPEN and at >= float(state["openedAt"] or 0.0) + cooldown:
        state.update(breaker=HALF_OPEN, probe=task_id, probeAt=at)
        return True
    if state["breaker"] == HALF_OPEN:
        if state["probe"] != task_id and at - float(state["probeAt"] or 0.0) > probe_stale:
            state.update(probe=task_id, probeAt=at)  # the previous probe vanished without an outcome
        return bool(state["probe"] == task_id)
    return bool(state["breaker"] == CLOSED)


def _record(state: dict[str, Any], task_id: str, at: float, ok: bool, threshold: int) -> None:
    if state["breaker"] == HALF_OPEN:
        if state["probe"] == task_id and ok:
            _close(state)
        elif state["probe"] == task_id:
            _open(state, at)
    elif state["breaker"] == CLOSED:
        state["failures"] = 0 if ok else int(state["failures"]) + 1
        if state["failures"] >= threshold:
            _open(state, at)


def step(state: dict[str, Any], operation: str, payload: dict[str, Any],
         settings: tuple[int, float, float]) -> dict[str, Any]:
    """Apply one operation to the breaker state (mutated in place) and return its answer."""
    threshold, cooldown, probe_stale = settings
    task_id, at = str(payload.get("id")), float(payload.get("at") or 0.0)
    if operation == "acquire":
        allow = _acquire(state, task_id, at, cooldown, probe_stale)
        retry_at = float(state["openedAt"]) + cooldown if state["breaker"] == OPEN else None
        return {"allow": allow, "breaker": state["breaker"], "failures": state["failures"], "retryAt": retry_at}
    if operation == "record":
        _record(state, task_id, at, bool(payload.get("ok")), threshold)
    elif operation == "reset":
        _close(state)
    elif operation != "get":
        raise ValueError(f"{BREAKER_ENTITY} has no operation {operation!r}; known: acquire, record, get, reset")
    return {"breaker": state["breaker"], "failures": state["failures"]}


@bp.entity_trigger(context_name="context", entity_name=BREAKER_ENTITY)
def llm_breaker(context: df.DurableEntityContext) -> None:
    """The breaker entity; see the module docstring for its operations."""
    state = context.get_state(new_state)
    before = state["breaker"]
    payload = context.get_input() or {}
    answer = step(state, context.operation_name or "", payload if isinstance(payload, dict) else {},
                  breaker_settings())
    # Metrics hook: entity operations run once per batch (not replayed), so this reports once per operation.
    telemetry.llm_breaker(state["breaker"], state["breaker"] if state["breaker"] != before else None)
    context.set_state(state)
    context.set_result(answer)
