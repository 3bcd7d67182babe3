"""The agent orchestrators under the real Durable SDK, driven in-process by tests/harmony/durable_replay.py."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from orchestrations import agent_tasks
from routes import agents as agent_routes
from tests.harmony.durable_replay import NEVER, replay

SPICE = {"type": "spice-up", "request": {"progression": "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7", "style": "jazz"}}


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
    run = replay(agent_tasks.bp, "agent_spice_up", SPICE)
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
    first = replay(agent_tasks.bp, "agent_reharmonize",
                   {"type": "reharmonize", "request": {"progression": "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"}})
    second = replay(agent_tasks.bp, "agent_reharmonize",
                    {"type": "reharmonize", "request": {"progression": "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"}})
    assert json.dumps(first.output, sort_keys=True) == json.dumps(second.output, sort_keys=True)
    assert first.output["progression"][0] == "Cm7" and first.output["progression"][-1] == "Gm6"


def test_create_orchestration() -> None:
    run = replay(agent_tasks.bp, "agent_create", {"type": "create", "request": {"key": "F", "style": "gospel"}})
    assert run.done and run.output["title"] == "Gospel progression in F major"


def test_invalid_request_fails_without_retrying() -> None:
    run = replay(agent_tasks.bp, "agent_spice_up", {"type": "spice-up", "request": {"progression": ["Cmaj7", "Q"]}})
    assert not run.done and run.error is not None
    assert "invalid request" in run.error and "progression[1]" in run.error
    assert run.activities == ["agent_prepare"]


def test_deadline_fails_the_task_as_timed_out() -> None:
    run = replay(agent_tasks.bp, "agent_spice_up", SPICE, clock_step=timedelta(seconds=10))
    assert run.error is not None and "timed out" in run.error
    assert run.statuses[-1]["stage"] == "searching"


def test_configured_llm_is_raced_with_a_cancelled_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "fake")
    monkeypatch.setenv("LLM_TIMEOUT_S", "2")

    def fallback(name: str, payload: Any) -> Any:
        if name == "agent_llm_plan":
            return {"configured": True, "state": None, "llm": None,
                    "warnings": ["LLM plan not used (test); the rule engine produced this result."]}
        return None

    run = replay(agent_tasks.bp, "agent_spice_up", SPICE, activity_override=fallback)
    assert run.done and run.activities[:2] == ["agent_prepare", "agent_llm_plan"]
    assert [s["stage"] for s in run.statuses[:3]] == ["queued", "consulting-llm", "searching"]
    [timer] = run.timers
    assert timer["fireAt"] == "2026-01-01T00:00:34.000000Z"  # 1.5 s budget + 30 s grace + 2 s LLM timeout
    final_timers = [a for a in run.last_actions if a["actionType"] == 5]
    assert final_timers and all(a["isCanceled"] for a in final_timers)
    assert run.output["warnings"] == ["LLM plan not used (test); the rule engine produced this result."]


def test_llm_that_never_answers_loses_to_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", "fake")
    run = replay(agent_tasks.bp, "agent_spice_up", SPICE,
                 activity_override=lambda name, payload: NEVER if name == "agent_llm_plan" else None)
    assert run.error is not None and "timed out" in run.error and "language model" in run.error


def test_real_llm_activity_falls_back_when_the_endpoint_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    monkeypatch.setenv("LLM_MODEL", "fake")
    monkeypatch.setenv("LLM_API_KEY", "sk-never-shown")
    run = replay(agent_tasks.bp, "agent_create", {"type": "create", "request": {"key": "A minor"}})
    assert run.done and "agent_llm_plan" in run.activities
    assert any("could not reach the LLM endpoint" in w for w in run.output["warnings"])
    assert "sk-never-shown" not in json.dumps(run.output) + json.dumps(run.statuses)
