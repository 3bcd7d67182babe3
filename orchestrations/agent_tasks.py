"""Agent tasks (spice-up, reharmonize, create) as durable orchestrations of short music-engine activities.

One orchestrator per task type shares `_agent_task`:

    agent_prepare -> [ask llm_breaker -> agent_llm_plan raced with the deadline timer -> tell llm_breaker]
        -> agent_search_step x N -> agent_voicings -> agent_assemble

With an LLM configured the task first asks the circuit breaker entity (entities/llm_breaker.py,
`call_entity` "acquire"); while it is open the task skips the LLM at once with a warning, otherwise it
calls the LLM and reports the outcome ("record": a call with no usable HTTP answer, or one that lost
to the deadline, is a failure). The custom status then carries `llm: {breaker, called}` to the end.

Bounded history. Every step's input and output carry the whole search state (~2 KB at 8 chords,
~17 KB at 64), and Durable replays an execution's whole history at every episode, so the search runs
`STEPS_PER_EXECUTION` steps per execution and then continues as new (same instance id) with
everything the later stages need: the prepared request and analysis, the search state, the absolute
deadline computed once at the start, the created-at instant, the progress so far, the warnings and
the LLM plan result. A continued execution never re-runs the start-only work (validation and
analysis, the LLM consultation, the "task started" metric); the "task finished" metric is recorded
once, by the execution that ends the task. The search is deterministic per iteration, so the
result does not depend on where executions begin and end.

Each search step is ~10-100 ms of CPU (a fixed number of iterations, see harmony.search), so a
terminate takes effect at the next step boundary on Azure; on funchost the step activity also polls
`hostext.cancellation_token()` between iterations and returns at once. Activities are retried on
transient failure (200 ms, 3 attempts). Once `budgetMs + AGENT_TASK_GRACE_S (+ LLM_TIMEOUT_S when an
LLM is configured)` has passed, the task stops searching and completes with the best result found so
far, `partial: true` and a warning saying how far the search got (the "task finished" metric records
it as timed out); the check runs before every step on the replay-safe clock, and the LLM call is raced
against a durable timer that is cancelled as soon as the call wins, so no timer is left pending when
the orchestration ends. A task only fails for an invalid request, with the app's own message.

Custom status (what is running now) at every step: {"type", "stage", "progress", "message"}, progress
never decreasing (across executions too: a continued execution sets the carried stage and progress
before its first yield) and 1.0 on completion. Before anything runs, the task waits for admission
(orchestrations/agent_admission.py: stage queued with its queuePosition, one entity ask a second on a
durable timer); the deadline counts from admission, and the slot is released when the task ends.
Stages in order: queued (0.0, waiting for a slot, then validating and analysing),
consulting-llm (0.1, only when an LLM is configured), searching (0.15 -> 0.85 by iterations done),
voicing (0.9), assembling (0.95), completed (1.0).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

import hostext
import telemetry
from entities.llm_breaker import BREAKER_ENTITY, BREAKER_KEY
from harmony import agent
from harmony.errors import RequestValidationError, SearchStateError
from harmony.llm import LlmSettings
from harmony.tasks import deadline_seconds
from orchestrations.agent_admission import ADMISSION_ENTITY, ADMISSION_KEY

bp = df.Blueprint()
log = logging.getLogger(__name__)
# Activity inputs are annotated plain `dict`: Azure's worker refuses `dict[str, Any]` ("invalid
# non-type annotation") when it indexes a trigger parameter.

ORCHESTRATOR_BY_TASK = {"spice-up": "agent_spice_up", "reharmonize": "agent_reharmonize",
                        "create": "agent_create"}
TASK_BY_ORCHESTRATOR = {name: task for task, name in ORCHESTRATOR_BY_TASK.items()}
AGENT_ORCHESTRATORS = frozenset(ORCHESTRATOR_BY_TASK.values())
telemetry.declare_task_types(ORCHESTRATOR_BY_TASK)
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=200, max_number_of_attempts=3)
DEFAULT_GRACE_S = 30.0
STEP_MS = 150
# Search steps per execution before continue-as-new: each step adds its input and output state to the
# history (~40 KB of history at 64 chords), so an execution's history stays near 200 KB at most.
STEPS_PER_EXECUTION = 4
CONTINUED = "continued"  # the orchestration input key that marks a continued execution

# Progress bands per stage; searching fills SEARCH_START..SEARCH_END in proportion to iterations.
SEARCH_START, SEARCH_END = 0.15, 0.85
ADMISSION = df.EntityId(ADMISSION_ENTITY, ADMISSION_KEY)
BREAKER = df.EntityId(BREAKER_ENTITY, BREAKER_KEY)


class AgentTaskFailed(Exception):
    """The task cannot finish (invalid input, timeout); the message becomes the task's errorMessage."""


def _set_status(context: df.DurableOrchestrationContext, task: str, stage: str, progress: float,
                message: str, queue_position: int | None = None, llm: dict[str, Any] | None = None) -> None:
    status: dict[str, Any] = {"type": task, "stage": stage, "progress": round(progress, 3), "message": message}
    if queue_position is not None:
        status["queuePosition"] = queue_position
    if llm is not None:  # only with an LLM configured: what its circuit breaker let this task do
        status["llm"] = llm
    context.set_custom_status(status)
    if not context.is_replaying:  # metrics are side effects: once per step, never on replay
        telemetry.task_progress(context.instance_id, task, progress)


def _report_deadline(context: df.DurableOrchestrationContext, deadline_at: Any) -> None:
    """Metrics hook (never while replaying): feeds ga_agent_tasks_past_deadline."""
    if not context.is_replaying:
        telemetry.task_deadline(context.instance_id, deadline_at.timestamp())


def _carried(context: df.DurableOrchestrationContext) -> tuple[Any, dict[str, Any] | None]:
    """The orchestration input and, for a continued execution, what the previous execution carried."""
    payload = context.get_input(expected_type=dict)
    carried = payload.get(CONTINUED) if isinstance(payload, dict) else None
    return payload, carried if isinstance(carried, dict) else None


def _agent_task(context: df.DurableOrchestrationContext, task: str) -> Generator[Any, Any, dict[str, Any] | None]:
    """`_run_task`, measured: its start in the first episode of its first execution, its end in the last
    episode of the execution that ends it (not one that continues as new), never on replay."""
    payload, carried = _carried(context)
    started = datetime.fromisoformat(carried["createdAt"]) if carried else context.current_utc_datetime
    if carried is None and not context.is_replaying:
        telemetry.task_started(task)
    try:
        result = yield from _run_task(context, task, payload, carried)
    except Exception as exc:
        if not context.is_replaying:
            outcome = telemetry.TIMED_OUT if "timed out" in str(exc) else telemetry.FAILED
            telemetry.task_finished(context.instance_id, task, outcome,
                                    (context.current_utc_datetime - started).total_seconds())
        # A failing episode's actions may be dropped: release in an episode of its own, then fail.
        _release(context)
        yield context.create_timer(context.current_utc_datetime)
        raise
    if context.will_continue_as_new:
        return None
    _release(context)  # sent with the completion
    if not context.is_replaying:
        outcome = telemetry.TIMED_OUT if result and result.get("partial") else telemetry.COMPLETED
        telemetry.task_finished(context.instance_id, task, outcome,
                                (context.current_utc_datetime - started).total_seconds())
    return result


def _begin(context: df.DurableOrchestrationContext, task: str,
           payload: Any) -> Generator[Any, Any, dict[str, Any]]:
    """The start-only work of the first execution: validate and analyse, consult the LLM if configured.

    Returns what the search and the later stages need, in the form carried across executions.
    """
    body = payload.get("request", payload) if isinstance(payload, dict) else payload
    started = context.current_utc_datetime  # createdAt: when the task was submitted
    yield from _admission(context, task)
    running_since = context.current_utc_datetime  # the budget counts from admission, not from the queue
    if not context.is_replaying:  # metrics hook: once, in the episode that learnt of the admission
        telemetry.task_admitted(task, (running_since - started).total_seconds())
    instance = context.instance_id
    _set_status(context, task, "queued", 0.0, "analysing the request")
    prepared = yield context.call_activity_with_retry(
        "agent_prepare", RETRY, {"type": task, "request": body, "createdAt": started.isoformat(),
                                 "instanceId": instance}, expected_type=dict)
    if prepared.get("error"):
        raise AgentTaskFailed(str(prepared["error"]))
    seconds = float(prepared["deadlineSeconds"])
    deadline_at = running_since + timedelta(seconds=seconds)
    state = prepared.pop("state")
    consulted: dict[str, Any] = {"state": state, "llm": None, "warnings": [], "outOfTime": False, "llmStatus": None}
    if prepared.get("llmConfigured"):
        consulted = yield from _consult_llm(context, task, prepared, state, deadline_at, seconds)
    _set_status(context, task, "searching", SEARCH_START, f"searching in {prepared['key']}", llm=consulted["llmStatus"])
    return {"createdAt": started.isoformat(), "deadlineAt": deadline_at.isoformat(), "deadlineSeconds": seconds,
            "prepared": prepared, "progress": SEARCH_START, "execution": 1, **consulted}


def _breaker_skip(gate: dict[str, Any], at: float) -> str:
    """The warning of a task the LLM circuit breaker kept from calling the LLM (from the entity's answer)."""
    if gate.get("breaker") == "half-open":
        why = "its circuit breaker is half-open and another task is trying it now"
    else:
        wait = max(0.0, float(gate.get("retryAt") or at) - at)
        why = (f"its last {int(gate.get('failures') or 0)} calls failed, so its circuit breaker is open "
               f"(the next try in {wait:.0f} s)")
    return f"The language model was not called: {why}; the rule engine produced this result."


def _consult_llm(context: df.DurableOrchestrationContext, task: str, prepared: dict[str, Any], state: dict[str, Any],
                 deadline_at: datetime, seconds: float) -> Generator[Any, Any, dict[str, Any]]:
    """Ask the breaker entity, then (if it allows) the LLM raced with the deadline, and tell the breaker how
    the call went. Returns the search state to go on with, the plan's texts, warnings and the status's `llm`."""
    instance = context.instance_id
    at = context.current_utc_datetime.timestamp()
    gate = yield context.call_entity(BREAKER, "acquire", {"id": instance, "at": at})
    gate = gate if isinstance(gate, dict) else {"allow": True, "breaker": "closed"}  # fail open
    llm_status = {"breaker": str(gate.get("breaker") or "closed"), "called": bool(gate.get("allow", True))}
    done: dict[str, Any] = {"state": state, "llm": None, "warnings": [], "outOfTime": False, "llmStatus": llm_status}
    if not llm_status["called"]:
        done["warnings"].append(_breaker_skip(gate, at))
        return done
    _set_status(context, task, "consulting-llm", 0.1, "asking the language model for a plan", llm=llm_status)
    timer = context.create_timer(deadline_at)
    work = context.call_activity_with_retry(
        "agent_llm_plan", RETRY, {"prepared": {**prepared, "state": state}, "instanceId": instance},
        expected_type=dict)
    winner = yield context.task_any([work, timer])
    if winner is timer:
        # Out of time before the search began: the task completes with the input as its partial result.
        done["warnings"].append(f"The language model did not answer within the task's {seconds:g} s; the rule "
                                f"engine had no time left to search.")
        done["outOfTime"], call = True, "failed"
    else:
        if not timer.is_completed:
            timer.cancel()  # no timer may outlive the orchestration
        outcome = work.result or {}
        done["warnings"].extend(outcome.get("warnings") or [])
        if outcome.get("state"):
            done["state"], done["llm"] = outcome["state"], outcome.get("llm")
        call = str(outcome.get("call") or "")
    if call in ("ok", "failed"):
        after = yield context.call_entity(BREAKER, "record", {
            "id": instance, "at": context.current_utc_datetime.timestamp(), "ok": call == "ok"})
        if isinstance(after, dict) and after.get("breaker"):
            llm_status["breaker"] = str(after["breaker"])
    return done


def _admission(context: df.DurableOrchestrationContext, task: str) -> Generator[Any, Any, None]:
    """Wait (durable timers, one ask a second) until the admission entity lets this task run."""
    _set_status(context, task, "queued", 0.0, "waiting for a free slot")
    while True:
        answer = yield context.call_entity(ADMISSION, "poll", {
            "id": context.instance_id, "at": context.current_utc_datetime.timestamp()})
        if not isinstance(answer, dict) or answer.get("admitted", True):
            return
        position = int(answer.get("queuePosition") or 1)
        _set_status(context, task, "queued", 0.0, f"waiting for a free slot ({position - 1} ahead)", position)
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))


def _release(context: df.DurableOrchestrationContext) -> None:
    """Free this task's slot in the admission entity."""
    context.signal_entity(ADMISSION, "release", {"id": context.instance_id,
                                                 "at": context.current_utc_datetime.timestamp()})


def _search_progress(state: dict[str, Any]) -> tuple[float, str]:
    fraction = agent.progress(state)
    return SEARCH_START + (SEARCH_END - SEARCH_START) * fraction, f"search {round(100 * fraction)}% done"


def _run_task(context: df.DurableOrchestrationContext, task: str, payload: Any,
              carried: dict[str, Any] | None) -> Generator[Any, Any, dict[str, Any] | None]:
    """The shared body of the three orchestrators (deterministic: no clock, random or I/O here).

    Returns None after scheduling continue-as-new (the search goes on in the next execution).
    """
    if carried is None:
        carry = yield from _begin(context, task, payload)
    else:
        carry = carried
        # Before any yield, so a status read between executions already shows where the task is.
        progress, message = _search_progress(carry["state"])
        _set_status(context, task, "searching", max(float(carry.get("progress") or 0.0), progress), message,
                    llm=carry.get("llmStatus"))
    prepared, state = carry["prepared"], carry["state"]
    llm_status = carry.get("llmStatus")
    seconds = float(carry["deadlineSeconds"])
    deadline_at = datetime.fromisoformat(carry["deadlineAt"])
    steps = 0
    partial: str | None = None
    out_of_time = bool(carry.get("outOfTime"))
    while not state["done"] and not out_of_time:
        _report_deadline(context, deadline_at)
        if context.current_utc_datetime > deadline_at:
            partial = (f"The search ran out of time after {seconds:g} s, {round(100 * agent.progress(state))}% "
                       f"done: this is the best result it found so far.")
            out_of_time = True
            break
        state = yield context.call_activity_with_retry(
            "agent_search_step", RETRY, {"state": state, "instanceId": context.instance_id}, expected_type=dict)
        steps += 1
        progress, message = _search_progress(state)
        _set_status(context, task, "searching", progress, message, llm=llm_status)
        if not state["done"] and steps >= STEPS_PER_EXECUTION:
            context.continue_as_new({"type": task, CONTINUED: {
                **carry, "state": state, "progress": round(progress, 3),
                "execution": int(carry.get("execution") or 1) + 1}})
            return None
    # The later stages read only the best progression: the rest of the beam would double the history.
    state = {**state, "beam": state["beam"][:1]}
    _set_status(context, task, "voicing", 0.9, "choosing guitar voicings", llm=llm_status)
    voicings = yield context.call_activity_with_retry(
        "agent_voicings", RETRY, {"request": prepared["request"], "state": state}, expected_type=list)
    _set_status(context, task, "assembling", 0.95, "writing the explanations and tips", llm=llm_status)
    result = yield context.call_activity_with_retry(
        "agent_assemble", RETRY, {"prepared": prepared, "state": state, "voicings": voicings, "llm": carry["llm"],
                                  "warnings": [*carry["warnings"], *([partial] if partial else [])],
                                  "partial": out_of_time}, expected_type=dict)
    _set_status(context, task, "completed", 1.0, "done", llm=llm_status)
    return result


@bp.orchestration_trigger(context_name="context", orchestration="agent_spice_up")
def agent_spice_up(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    """Spice up a progression: richer chords for a style, cadence preserved by default."""
    return (yield from _agent_task(context, "spice-up"))


@bp.orchestration_trigger(context_name="context", orchestration="agent_reharmonize")
def agent_reharmonize(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    """Reharmonize a progression for a style and feel, first/last chords locked by default."""
    return (yield from _agent_task(context, "reharmonize"))


@bp.orchestration_trigger(context_name="context", orchestration="agent_create")
def agent_create(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    """Create a progression from a key, style, mood and skill level."""
    return (yield from _agent_task(context, "create"))


def _grace_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("AGENT_TASK_GRACE_S") or DEFAULT_GRACE_S))
    except ValueError:
        return DEFAULT_GRACE_S


@bp.activity_trigger(input_name="payload", activity="agent_prepare")
def agent_prepare(payload: dict) -> dict[str, Any]:
    """Validate and analyse the request, start the search; report the deadline and whether an LLM is set.

    Returns {"error": ...} for an invalid request instead of raising, so it is not retried.
    """
    task = str(payload.get("type"))
    try:
        prepared = agent.prepare(task, payload.get("request") or {}, str(payload.get("createdAt")))
    except RequestValidationError as exc:
        log.info("agent task %s: invalid request: %s", payload.get("instanceId"), exc.summary)
        return {"error": f"invalid request: {exc.summary}"}
    settings = LlmSettings.from_env()
    prepared["llmConfigured"] = settings is not None
    prepared["deadlineSeconds"] = deadline_seconds(
        int(prepared["request"]["budgetMs"]), _grace_seconds(), settings.timeout_s if settings else None)
    log.info("agent task %s: prepared %s in %s (seed %s)", payload.get("instanceId"), task,
             prepared["key"], prepared["request"]["seed"])
    return prepared


@bp.activity_trigger(input_name="payload", activity="agent_search_step")
def agent_search_step(payload: dict) -> dict[str, Any]:
    """One search step (a fixed number of iterations); returns early if the task is cancelled."""
    token = hostext.cancellation_token()
    try:
        return agent.search_step(payload["state"], STEP_MS, lambda: token.cancelled)
    except SearchStateError:
        log.error("agent task %s: bad search state", payload.get("instanceId"))
        raise


@bp.activity_trigger(input_name="payload", activity="agent_voicings")
def agent_voicings(payload: dict) -> list[dict[str, Any]]:
    """Guitar voicings for the best progression, chosen for smooth voice leading."""
    return agent.voice(payload["request"], payload["state"])


@bp.activity_trigger(input_name="payload", activity="agent_assemble")
def agent_assemble(payload: dict) -> dict[str, Any]:
    """The result document: progression, changes, sections, tips, voicings, metadata."""
    result = agent.finish(payload["prepared"], payload["state"], payload["voicings"], payload.get("llm"),
                          payload.get("warnings") or [])
    result["partial"] = bool(payload.get("partial"))
    return result


@bp.activity_trigger(input_name="payload", activity="agent_llm_plan")
async def agent_llm_plan(payload: dict) -> dict[str, Any]:
    """Ask the configured LLM for a plan; fall back (with a warning) on any failure. Never logs the key.

    The call is abandoned as soon as the task is cancelled (funchost's token, polled every 100 ms).
    """
    token = hostext.cancellation_token()
    work = asyncio.ensure_future(
        agent.consult_llm(payload["prepared"], LlmSettings.from_env(), str(payload.get("instanceId"))))
    while not work.done():
        if token.cancelled:
            work.cancel()
            log.info("agent task %s: cancelled while waiting for the LLM", payload.get("instanceId"))
            return {"configured": True, "state": None, "llm": None, "warnings": ["cancelled"]}
        await asyncio.wait({work}, timeout=0.1)
    return work.result()
