"""The agent pipeline as JSON-in / JSON-out steps, one per orchestration activity.

    prepare -> [consult_llm] -> search_step ... -> voice -> finish

Every step takes and returns plain JSON values so a durable orchestration can carry them between
activities, and `run_local` chains them in-process (tests, scripts). The steps are deterministic for
a given input: `createdAt` is passed in, the search is seeded, and the LLM step is skipped (with no
network call) when no endpoint is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from harmony.chords import parse_chord
from harmony.keys import analyse
from harmony.llm import (
    LlmError,
    LlmSettings,
    LlmUnavailable,
    build_messages,
    repair_alterations,
    request_plan,
    validate_plan,
)
from harmony.results import assemble, slots_from_plan
from harmony.search import (
    STEP_NOMINAL_MS,
    SearchState,
    fixed_result,
    new_search,
    step,
)
from harmony.tasks import plan_search, validate_request, voicing_bass, voicing_costs
from harmony.voicings import choose_voicings

log = logging.getLogger(__name__)


def prepare(task: str, body: Mapping[str, Any], created_at: str) -> dict[str, Any]:
    """Validate the request (RequestValidationError if invalid), analyse it and start the search."""
    request = validate_request(task, body)
    plan = plan_search(request)
    state = new_search(plan.config, plan.budget_ms)
    chords = [slot.chord for slot in plan.config.original]
    return {
        "request": request,
        "key": plan.config.key.name,
        "keyInferred": plan.key_inferred,
        "template": list(plan.template),
        "analysis": [item.to_json() for item in analyse(chords, plan.config.key)],
        "createdAt": created_at,
        "state": state.to_json(),
    }


def search_step(state: Mapping[str, Any], max_ms: float = STEP_NOMINAL_MS,
                should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """One search step on a serialized state; returns the next serialized state."""
    return step(SearchState.from_json(state), max_ms, should_stop).to_json()


def progress(state: Mapping[str, Any]) -> float:
    """The share of the search done, 0..1, read from a serialized state."""
    total = int(state.get("totalIterations") or 0)
    if state.get("done") or total == 0:
        return 1.0
    return min(1.0, int(state.get("iteration") or 0) / total)


def voice(request: Mapping[str, Any], state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Guitar voicings for the best progression of a finished search."""
    search = SearchState.from_json(state)
    best = search.best or search.beam[0]
    beginner = request.get("skillLevel") == "beginner"
    shapes = choose_voicings([slot.symbol for slot in best.slots],
                             favor_close=bool(request.get("favorCloseVoicings", True)),
                             type_costs=voicing_costs(request), move_weight=0.1 if beginner else None,
                             bass=voicing_bass(request), beginner=beginner)
    return [shape.to_json() for shape in shapes]


def finish(prepared: Mapping[str, Any], state: Mapping[str, Any], voicings: list[dict[str, Any]],
           llm: Mapping[str, Any] | None = None, warnings: list[str] | None = None) -> dict[str, Any]:
    """The result document (see harmony.results.assemble)."""
    return assemble(prepared["request"], SearchState.from_json(state), voicings, str(prepared["createdAt"]),
                    key_inferred=bool(prepared.get("keyInferred")), template=prepared.get("template") or (),
                    llm=llm, warnings=warnings or [])


async def consult_llm(prepared: Mapping[str, Any], settings: LlmSettings | None,
                      task_id: str = "") -> dict[str, Any]:
    """Ask the LLM for a plan and validate it into a finished search state.

    Returns {"configured": False} when no LLM is configured (no network call), {"state", "llm",
    "warnings"} when the plan was usable, or {"state": None, "warnings": [...]} to fall back to the
    rule engine; `call` is "failed" when the call got no usable HTTP answer, else "ok" (for the
    circuit breaker). Never raises for LLM problems, and never puts the API key in what it returns or logs.
    """
    if settings is None:
        return {"configured": False, "state": None, "llm": None, "warnings": []}
    request = prepared["request"]
    search = SearchState.from_json(prepared["state"])
    original = [slot.symbol for slot in search.config.original]
    messages = build_messages(request, str(prepared["key"]), prepared.get("analysis") or [],
                              prepared.get("template") or ())
    try:
        plan = await request_plan(settings, messages, int(request["seed"]))
        if request["type"] == "create":
            repaired = validate_plan(plan, [], target_length=int(request["bars"]))
        else:
            repaired = validate_plan(
                plan, original,
                lock_first=bool(request.get("lockFirstChord")) and request["type"] == "reharmonize",
                lock_last=bool(request.get("lockLastChord")) and request["type"] == "reharmonize",
                preserve_last_root=bool(request.get("preserveCadence")) and request["type"] == "spice-up",
            )
        # Aligned with the input (or the create template) so unchanged chords read as kept.
        slots = slots_from_plan(repaired.progression, search.config.original, repaired.explanations)
        for slot in slots:
            parse_chord(slot.symbol)
        slots, kept = repair_alterations(search.config.context(), slots)
    except LlmUnavailable as exc:
        return _llm_fallback(settings, exc, task_id, "failed")
    except LlmError as exc:
        return _llm_fallback(settings, exc, task_id, "ok")  # the LLM answered: the call itself worked
    llm = {
        "model": settings.model,
        "title": repaired.title,
        "summary": repaired.summary,
        "practiceIdeas": repaired.practice_ideas,
        "techniqueTips": repaired.technique_tips,
        "explanations": {str(k): list(v) for k, v in repaired.explanations.items()},
    }
    state = fixed_result(search, slots, "llm").to_json()
    warnings = [settings.redact(w) for w in [*repaired.warnings, *kept]]
    return {"configured": True, "state": state, "llm": llm, "warnings": warnings, "call": "ok"}


def _llm_fallback(settings: LlmSettings, exc: LlmError, task_id: str, call: str) -> dict[str, Any]:
    """The rule-engine fallback with a warning saying why; `call` is what the circuit breaker records."""
    reason = settings.redact(str(exc))
    log.warning("agent task %s: LLM plan unusable (%s); using the rule engine", task_id, reason)
    return {"configured": True, "state": None, "llm": None, "call": call,
            "warnings": [f"LLM plan not used ({reason}); the rule engine produced this result."]}


def run_local(task: str, body: Mapping[str, Any], created_at: str = "1970-01-01T00:00:00+00:00",
              should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Every engine step in-process, without the LLM (what the orchestration does, minus durability)."""
    prepared = prepare(task, body, created_at)
    state = prepared["state"]
    while not state["done"]:
        state = search_step(state, should_stop=should_stop)
        if should_stop is not None and should_stop():
            break
    voicings = voice(prepared["request"], state)
    return finish(prepared, state, voicings)
