"""The agent orchestrators under the real Durable SDK, driven in-process by tests/harmony/durable_replay.py.

The driver runs one execution; `run_task` chains executions the way the Durable extension does on
continue-as-new (same instance, the new execution started with the ContinueAsNew action's input).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest

import telemetry
from harmony import agent
from orchestrations import agent_tasks
from routes import agents as agent_routes
from tests.harmony.durable_replay import NEVER, ReplayRun, replay

SPICE = {"type": "spice-up", "request": {"progression": "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7", "style": "jazz"}}
AUTUMN = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
CONTINUE_AS_NEW = 4  # actionType of the ContinueAsNew action


@dataclass
class TaskRun:
    """Every execution of one instance, in order, and what the last one ended with."""

    executions: list[ReplayRun] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)  # each execution's orchestration input

    @property
    def last(self) -> ReplayRun:
        return self.executions[-1]

    @property
    def done(self) -> bool:
        return self.last.done

    @property
    def output(self) -> Any:
        return self.last.output

    @property
    def error(self) -> str | None:
        return self.last.error

    @property
    def statuses(self) -> list[Any]:
        return [status for run in self.executions for status in run.statuses]

    @property
    def activities(self) -> list[str]:
        return [name for run in self.executions for name in run.activities]

    @property
    def timers(self) -> list[dict[str, Any]]:
        return [timer for run in self.executions for timer in run.timers]


def continue_input(run: ReplayRun) -> Any:
    """The input an execution continued as new with, or None if it did not."""
    actions = [a for a in run.last_actions if a["actionType"] == CONTINUE_AS_NEW]
    assert len(actions) <= 1, actions
    return json.loads(actions[0]["input"]) if actions else None


def run_task(orchestrator: str, orchestration_input: Any, max_executions: int = 100, **kwargs: Any) -> TaskRun:
    """Run an orchestrator through every execution until one ends without continuing as new."""
    chain = TaskRun()
    for _ in range(max_executions):
        chain.inputs.append(orchestration_input)
        run = replay(agent_tasks.bp, orchestrator, orchestration_input, **kwargs)
        chain.executions.append(run)
        orchestration_input = continue_input(run)
        if orchestration_input is None:
            return chain
        assert run.done and run.error is None and run.output is None, run  # a continued execution returns nothing
    raise AssertionError(f"{orchestrator} still continuing after {max_executions} executions")


@pytest.fixture(autouse=True)
def no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "LLM_TIMEOUT_S", "AGENT_TASK_GRACE_S"):
        monkeypatch.delenv(name, raising=False)


def test_blueprints_register_on_a_fresh_app() -> None:
    app = df.DFApp()
    app.register_functions(agent_tasks.bp)
    app.register_functions(agent_routes.bp)
    names = {f.get_function_name() for f in app.get_functions()}
    assert {"agent_spice_up", "agent_reharmonize", "agent_create", "agent_prepare", "agent_search_step",
            "agent_voicings", "agent_assemble", "agent_llm_plan"} <= names
    assert {n for n in names if n.startswith("agents_")} == {
        "agents_spice_up", "agents_reharmonize", "agents_create", "agents_task_status", "agents_cancel_task",
        "agents_active_tasks"}


def test_spice_up_runs_to_completion_with_monotonic_status() -> None:
    run = run_task("agent_spice_up", SPICE)
    assert len(run.executions) > 1  # nine search steps: more than one execution
    assert run.done and run.error is None
    result = run.output
    assert result["metadata"]["createdAt"] == "2026-01-01T00:00:00+00:00"
    assert run.activities[0] == "agent_prepare" and run.activities[-2:] == ["agent_voicings", "agent_assemble"]
    assert set(run.activities[1:-2]) == {"agent_search_step"}
    progress = [status["progress"] for status in run.statuses]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert run.statuses[-1]["stage"] == "completed"
    for status in run.statuses:
        assert status["type"] == "spice-up" and set(status) == {"type", "stage", "progress", "message"}
        assert len(json.dumps(status)) < 16_384
    assert run.timers == []


def test_orchestration_is_deterministic() -> None:
    first = run_task("agent_reharmonize", {"type": "reharmonize", "request": {"progression": AUTUMN}})
    second = run_task("agent_reharmonize", {"type": "reharmonize", "request": {"progression": AUTUMN}})
    assert json.dumps(first.output, sort_keys=True) == json.dumps(second.output, sort_keys=True)
    assert first.output["progression"][0] == "Cm7" and first.output["progression"][-1] == "Gm6"


def test_create_orchestration() -> None:
    run = run_task("agent_create", {"type": "create", "request": {"key": "F", "style": "gospel"}})
    assert run.done and run.output["title"] == "Gospel progression in F major"


def test_invalid_request_fails_without_retrying() -> None:
    run = run_task("agent_spice_up", {"type": "spice-up", "request": {"progression": ["Cmaj7", "Q"]}})
    assert not run.done and run.error is not None
    assert "invalid request" in run.error and "progression[1]" in run.error
    assert run.activities == ["agent_prepare"]


def test_a_task_out_of_time_completes_with_its_best_result_marked_partial() -> None:
    run = run_task("agent_spice_up", SPICE, clock_step=timedelta(seconds=10))
    assert len(run.executions) == 1
    assert run.error is None and run.output["partial"] is True
    assert run.activities[-2:] == ["agent_voicings", "agent_assemble"]
    [warning] = [w for w in run.output["warnings"] if "ran out of time" in w]
    assert "best result it found so far" in warning and "% done" in warning
    assert len(run.output["voicings"]) == len(run.output["progression"])
    assert run.statuses[-1]["stage"] == "completed"
    complete = run_task("agent_spice_up", SPICE)
    assert complete.output["partial"] is False and not any("ran out of time" in w for w in complete.output["warnings"])


def test_configured_llm_is_raced_with_a_cancelled_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "fake")
    monkeypatch.setenv("LLM_TIMEOUT_S", "2")

    def fallback(name: str, payload: Any) -> Any:
        if name == "agent_llm_plan":
            return {"configured": True, "state": None, "llm": None,
                    "warnings": ["LLM plan not used (test); the rule engine produced this result."]}
        return None

    run = run_task("agent_spice_up", SPICE, activity_override=fallback)
    assert run.done and run.activities[:2] == ["agent_prepare", "agent_llm_plan"]
    assert run.activities.count("agent_llm_plan") == 1  # the continued executions do not ask again
    stages = [stage for stage, _ in itertools.groupby(s["stage"] for s in run.statuses)]  # queued: admission too
    assert stages[:3] == ["queued", "consulting-llm", "searching"]
    [timer] = run.timers
    assert timer["fireAt"] == "2026-01-01T00:00:34.000000Z"  # 1.5 s budget + 30 s grace + 2 s LLM timeout
    for execution in run.executions:  # whichever execution ends, no timer is left pending
        timers = [a for a in execution.last_actions if a["actionType"] == 5]
        assert all(a["isCanceled"] for a in timers)
    assert [a for a in run.executions[0].last_actions if a["actionType"] == 5]
    assert run.output["warnings"] == ["LLM plan not used (test); the rule engine produced this result."]


def test_llm_that_never_answers_loses_to_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "fake")
    run = run_task("agent_spice_up", SPICE,
                   activity_override=lambda name, payload: NEVER if name == "agent_llm_plan" else None)
    assert run.error is None and run.output["partial"] is True
    assert any("language model did not answer" in w for w in run.output["warnings"])
    assert run.output["progression"] == ["Dm7", "G7", "Cmaj7", "A7", "Dm7", "G7", "Cmaj7"]  # the input, unsearched


def test_an_llm_that_loses_to_the_deadline_counts_as_a_failed_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "fake")
    run = replay(agent_tasks.bp, "agent_spice_up", SPICE,
                 activity_override=lambda name, payload: NEVER if name == "agent_llm_plan" else None)
    ops = [(op, answer) for entity, op, _, answer in run.entity_ops if entity == "@llm_breaker@default"]
    assert [op for op, _ in ops] == ["acquire", "record"]
    assert ops[1][1] == {"breaker": "closed", "failures": 1}
    record = [payload for entity, op, payload, _ in run.entity_ops if op == "record"]
    assert record[0]["ok"] is False
    assert run.statuses[-1]["llm"] == {"breaker": "closed", "called": True}


def test_without_an_llm_the_orchestration_never_asks_the_breaker() -> None:
    run = replay(agent_tasks.bp, "agent_spice_up", SPICE)
    assert run.done and {entity for entity, *_ in run.entity_ops} == {"@agent_admission@all"}
    assert all("llm" not in status for status in run.statuses if status)


def test_real_llm_activity_falls_back_when_the_endpoint_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    monkeypatch.setenv("LLM_MODEL", "fake")
    monkeypatch.setenv("LLM_API_KEY", "sk-never-shown")
    run = run_task("agent_create", {"type": "create", "request": {"key": "A minor"}})
    assert run.done and "agent_llm_plan" in run.activities
    assert any("could not reach the LLM endpoint" in w for w in run.output["warnings"])
    assert "sk-never-shown" not in json.dumps(run.output) + json.dumps(run.statuses)


# -- continue-as-new: the history of one execution stays bounded --------------------------------------
LONG_SPICE: dict[str, Any] = {
    "type": "spice-up",
    "request": {"progression": " ".join([AUTUMN] * 8), "style": "jazz", "seed": 7, "budgetMs": 60_000},
}


@pytest.fixture(scope="module")
def long_run() -> TaskRun:
    """A 64-chord spice-up whose budget buys 100 search steps."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY", "LLM_TIMEOUT_S", "AGENT_TASK_GRACE_S"):
            patch.delenv(name, raising=False)
        return run_task("agent_spice_up", LONG_SPICE)


def test_the_search_continues_as_new_every_few_steps(long_run: TaskRun) -> None:
    n = agent_tasks.STEPS_PER_EXECUTION
    run = long_run
    assert run.done and run.error is None
    steps = [execution.activities.count("agent_search_step") for execution in run.executions]
    assert sum(steps) > 20 and len(run.executions) > 5
    assert steps[:-1] == [n] * (len(steps) - 1) and 1 <= steps[-1] <= n
    # The start-only work runs once, in the first execution; the last one voices and assembles.
    assert run.executions[0].activities[0] == "agent_prepare"
    assert run.activities.count("agent_prepare") == 1
    assert run.last.activities[-2:] == ["agent_voicings", "agent_assemble"]
    assert all("agent_voicings" not in r.activities for r in run.executions[:-1])
    assert [shape["chord"] for shape in run.output["voicings"]] == run.output["progression"]
    # What is carried: the prepared request, the search state, the deadline fixed at the very start.
    first_continued = run.inputs[1]
    assert set(first_continued) == {"type", agent_tasks.CONTINUED}
    carried = first_continued[agent_tasks.CONTINUED]
    assert {"prepared", "state", "deadlineAt", "deadlineSeconds", "createdAt", "progress", "warnings",
            "llm"} <= set(carried)
    assert carried["createdAt"] == "2026-01-01T00:00:00+00:00"
    assert carried["deadlineAt"] == "2026-01-01T00:01:30+00:00"  # 60 s budget + 30 s grace
    assert carried["prepared"]["request"]["seed"] == 7 and "state" not in carried["prepared"]
    for later in run.inputs[2:]:
        assert {k: later[agent_tasks.CONTINUED][k] for k in ("createdAt", "deadlineAt", "prepared")} == {
            k: carried[k] for k in ("createdAt", "deadlineAt", "prepared")}
    # Each execution's history holds its input and at most N steps: bounded whatever the budget.
    sizes = [len(json.dumps(value)) for value in run.inputs]
    assert max(sizes) < 40_000


def test_continue_as_new_keeps_status_monotonic_and_set_before_the_first_yield(long_run: TaskRun) -> None:
    run = long_run
    progress = [status["progress"] for status in run.statuses]
    assert progress == sorted(progress) and progress[-1] == 1.0
    for before, after in zip(run.executions, run.executions[1:], strict=False):
        # The status after the first episode of a continued execution (set before it yields) is where the
        # previous execution left off: still searching, same progress and message.
        assert after.statuses[0] == before.statuses[-1]
        assert after.statuses[0]["stage"] == "searching" and 0.15 < after.statuses[0]["progress"] < 0.85


def test_continue_as_new_gives_the_same_result_as_one_execution(monkeypatch: pytest.MonkeyPatch,
                                                               long_run: TaskRun) -> None:
    local = agent.run_local("spice-up", LONG_SPICE["request"], "2026-01-01T00:00:00+00:00")
    assert json.dumps(long_run.output, sort_keys=True) == json.dumps(local, sort_keys=True)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("agent_spice_up", {"type": "spice-up", "request": {**LONG_SPICE["request"], "budgetMs": 3_000}}),
        ("agent_reharmonize", {"type": "reharmonize", "request": {
            "progression": f"{AUTUMN} {AUTUMN}", "style": "bossa nova", "seed": 3, "budgetMs": 15_000}}),
        ("agent_create", {"type": "create", "request": {"key": "F", "bars": 16, "budgetMs": 9_000}}),
    ]
    continued = [run_task(name, body) for name, body in cases]
    monkeypatch.setattr(agent_tasks, "STEPS_PER_EXECUTION", 10_000)  # the search in one execution, as before
    single = [run_task(name, body) for name, body in cases]
    for many, one, (_, body) in zip(continued, single, cases, strict=True):
        assert len(many.executions) > 1 and len(one.executions) == 1
        assert many.activities == one.activities
        assert json.dumps(many.output, sort_keys=True) == json.dumps(one.output, sort_keys=True)
        local = agent.run_local(body["type"], body["request"], "2026-01-01T00:00:00+00:00")
        assert json.dumps(many.output, sort_keys=True) == json.dumps(local, sort_keys=True)


def test_task_metrics_are_recorded_once_across_executions(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(telemetry, "task_started", lambda task: calls.append(("started", task)))
    monkeypatch.setattr(telemetry, "task_finished",
                        lambda task_id, task, outcome, seconds: calls.append(("finished", task, outcome, seconds)))
    run = run_task("agent_spice_up", SPICE)
    assert run.done and len(run.executions) > 1
    assert calls[0] == ("started", "spice-up") and len(calls) == 2
    assert calls[1][:3] == ("finished", "spice-up", telemetry.COMPLETED)
    # Measured from the carried start (the driver's clock restarts at that instant in every execution).
    assert calls[1][3] == pytest.approx(0.2 * (len(run.last.statuses) - 1))


def test_the_deadline_fixed_at_the_start_holds_in_continued_executions(monkeypatch: pytest.MonkeyPatch) -> None:
    first = replay(agent_tasks.bp, "agent_spice_up", LONG_SPICE)
    carried = continue_input(first)
    assert carried is not None
    deadline = datetime.fromisoformat(carried[agent_tasks.CONTINUED]["deadlineAt"])
    # Run the continued execution on a clock already past that deadline: it fails at once, without
    # recomputing a deadline of its own or scheduling anything.
    late = json.loads(json.dumps(carried))
    late[agent_tasks.CONTINUED]["deadlineAt"] = (datetime(2026, 1, 1, tzinfo=UTC) - timedelta(seconds=1)).isoformat()
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(telemetry, "task_started", lambda task: calls.append(("started", task)))
    monkeypatch.setattr(telemetry, "task_finished", lambda *args: calls.append(("finished", *args[1:3])))
    run = replay(agent_tasks.bp, "agent_spice_up", late)
    assert run.error is None and run.output["partial"] is True
    assert any("ran out of time after 90 s" in w for w in run.output["warnings"])
    assert run.activities == ["agent_voicings", "agent_assemble"] and run.statuses[-1]["stage"] == "completed"
    assert calls == [("finished", "spice-up", telemetry.TIMED_OUT)]  # ended here, but started elsewhere
    assert deadline == datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    # Within the deadline, the same input carries on with the search.
    carries_on = replay(agent_tasks.bp, "agent_spice_up", carried)
    assert carries_on.error is None and carries_on.activities == ["agent_search_step"] * agent_tasks.STEPS_PER_EXECUTION
    assert continue_input(carries_on) is not None


def test_a_failed_task_reads_in_the_apps_words() -> None:
    from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

    from routes.agents import _view

    wrapped = "Orchestrator function 'agent_reharmonize' failed: invalid request: progression[1]: unknown chord"
    view = _view(DurableOrchestrationStatus(name="agent_reharmonize", instanceId="t1", runtimeStatus="Failed",
                                            output=wrapped))
    assert (view["state"], view["errorMessage"]) == ("Failed", "invalid request: progression[1]: unknown chord")
    assert "Orchestrator function" not in json.dumps(view)
