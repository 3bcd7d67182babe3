"""The LLM circuit breaker: its state machine (entities/llm_breaker.py `step`), and the whole path through a
real host whose LLM (tests/observability/fake_llm.py) fails with HTTP 500 and timeouts, then recovers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from entities.llm_breaker import CLOSED, HALF_OPEN, OPEN, new_state, step
from tests.harmony.test_llm import GOOD_PLAN
from tests.hostproc import ROOT, HostProcess
from tests.observability.exposition import Exposition
from tests.observability.fake_llm import FakeLlm

SETTINGS = (3, 30.0, 50.0)  # 3 failures open it, 30 s cool-down, a probe silent for 50 s is stale


def ask(state: dict[str, Any], task: str, at: float) -> dict[str, Any]:
    return step(state, "acquire", {"id": task, "at": at}, SETTINGS)


def tell(state: dict[str, Any], task: str, at: float, ok: bool) -> dict[str, Any]:
    return step(state, "record", {"id": task, "at": at, "ok": ok}, SETTINGS)


def opened(at: float = 100.0) -> dict[str, Any]:
    """A breaker opened at `at` by three failed calls."""
    state = new_state()
    for n in range(3):
        assert ask(state, f"t{n}", at)["allow"]
        tell(state, f"t{n}", at, ok=False)
    assert state["breaker"] == OPEN and state["openedAt"] == at
    return state


def test_consecutive_failures_open_the_breaker_and_a_success_resets_the_count() -> None:
    state = new_state()
    for task in ("a", "b"):
        ask(state, task, 1.0)
        assert tell(state, task, 1.0, ok=False) == {"breaker": CLOSED, "failures": 1 if task == "a" else 2}
    tell(state, "c", 2.0, ok=True)
    assert state["failures"] == 0  # not consecutive any more
    for task in ("d", "e"):
        tell(state, task, 3.0, ok=False)
    assert tell(state, "f", 4.0, ok=False) == {"breaker": OPEN, "failures": 3}


def test_an_open_breaker_refuses_until_the_cool_down_then_lets_one_probe_through() -> None:
    state = opened(at=100.0)
    assert ask(state, "early", 129.0) == {"allow": False, "breaker": OPEN, "failures": 3, "retryAt": 130.0}
    probe = ask(state, "probe", 130.0)
    assert probe["allow"] and probe["breaker"] == HALF_OPEN
    assert ask(state, "other", 131.0) == {"allow": False, "breaker": HALF_OPEN, "failures": 3, "retryAt": None}
    assert ask(state, "probe", 131.0)["allow"]  # the probe asking again is still the probe
    tell(state, "other", 132.0, ok=True)  # only the probe's outcome counts while half-open
    assert state["breaker"] == HALF_OPEN
    assert tell(state, "probe", 133.0, ok=True) == {"breaker": CLOSED, "failures": 0}
    assert ask(state, "next", 134.0)["allow"]


def test_a_failed_probe_opens_the_breaker_for_another_cool_down() -> None:
    state = opened(at=100.0)
    ask(state, "probe", 140.0)
    assert tell(state, "probe", 141.0, ok=False)["breaker"] == OPEN
    assert ask(state, "later", 170.0) == {"allow": False, "breaker": OPEN, "failures": 3, "retryAt": 171.0}
    assert ask(state, "again", 171.0)["breaker"] == HALF_OPEN


def test_late_outcomes_while_open_change_nothing_and_a_vanished_probe_gives_way() -> None:
    state = opened(at=100.0)
    tell(state, "late", 125.0, ok=False)
    tell(state, "late-ok", 126.0, ok=True)
    assert state["breaker"] == OPEN and state["openedAt"] == 100.0  # no longer cool-down, no closing
    ask(state, "probe", 130.0)
    assert not ask(state, "other", 180.0)["allow"]  # 50 s: the probe may still be calling
    assert ask(state, "other", 180.5)["allow"] and state["probe"] == "other"  # silent too long: replaced


def test_reset_closes_the_breaker_and_unknown_operations_are_refused() -> None:
    state = opened()
    assert step(state, "reset", {}, SETTINGS) == {"breaker": CLOSED, "failures": 0}
    assert step(state, "get", {}, SETTINGS) == {"breaker": CLOSED, "failures": 0}
    with pytest.raises(ValueError, match="no operation 'explode'"):
        step(state, "explode", {}, SETTINGS)


# -- through a real host ------------------------------------------------------------------------------
TASKS = "/api/agents/tasks"
INSTANCES = "/runtime/webhooks/durabletask/instances"
BREAKER = "/runtime/webhooks/durabletask/entities/llm_breaker/default"
COOL_DOWN_S = 6.0
BODY = {"progression": "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6", "style": "bossa nova", "budgetMs": 300}


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLlm]:
    fake = FakeLlm(hold_limit_s=5.0).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def host(llm: FakeLlm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    env = {"LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake-model", "LLM_TIMEOUT_S": "1",
           "LLM_BREAKER_FAILURES": "3", "LLM_BREAKER_COOLDOWN_S": str(COOL_DOWN_S), "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    running = HostProcess(ROOT, tmp_path_factory.mktemp("breaker"), env=env).start()
    yield running
    running.stop()


def run(host: HostProcess) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start a spice-up, wait for it; (its status view, its history)."""
    reply = host.request("POST", f"{TASKS}/spice-up", BODY)
    assert reply.status == 202, reply.body
    task_id = reply.json()["taskId"]
    events = host.wait_status(task_id, ("Completed", "Failed"), timeout=60)["historyEvents"]
    view = host.request("GET", f"{TASKS}/{task_id}/status").json()
    assert view["state"] == "Completed", view
    return view, events


def llm_activity(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history events of the LLM activity (scheduled or completed) and of the timer raced with it."""
    return [e for e in events if "agent_llm_plan" in str(e.get("Name") or e.get("FunctionName") or "")
            or e["EventType"] in ("TimerCreated", "TimerFired")]


def breaker_calls(events: list[dict[str, Any]]) -> list[str]:
    """The operations this task sent to the breaker entity, in order."""
    sent = [e for e in events if e["EventType"] == "EventSent" and e.get("InstanceId") == "@llm_breaker@default"]
    return [str(e.get("Input")) for e in sent]


def test_failing_llm_opens_the_breaker_then_a_probe_closes_it(host: HostProcess, llm: FakeLlm) -> None:
    for n, mode in enumerate(("error", "error", "hang")):  # two HTTP 500s, then a timeout
        llm.mode = mode
        view, events = run(host)
        assert view["llm"] == {"breaker": OPEN if n == 2 else CLOSED, "called": True}, view
        assert "agent_llm_plan" in [e.get("FunctionName") for e in events if e["EventType"] == "TaskCompleted"]
        assert any("LLM plan not used" in w for w in view["result"]["warnings"])
    assert llm.calls == 3
    metrics = Exposition.scrape(host)
    assert metrics.value("ga_llm_breaker_state") == 2
    assert metrics.value("ga_llm_breaker_transitions_total", to="open") == 1

    # Open: the next task goes straight to the rule engine, without scheduling the LLM call at all.
    view, events = run(host)
    assert view["llm"] == {"breaker": OPEN, "called": False}
    assert llm_activity(events) == []
    assert len(breaker_calls(events)) == 1 and "acquire" in breaker_calls(events)[0]  # asked, nothing recorded
    [warning] = view["result"]["warnings"]
    assert warning.startswith("The language model was not called: its last 3 calls failed, so its circuit "
                              "breaker is open") and view["result"]["metadata"]["source"] == "engine"
    assert llm.calls == 3

    # After the cool-down one task probes the recovered LLM, and its success closes the breaker.
    state = host.request("GET", BREAKER).json()
    assert state["breaker"] == OPEN
    time.sleep(max(0.0, float(state["openedAt"]) + COOL_DOWN_S + 0.2 - time.time()))
    llm.mode, llm.plan = "plan", GOOD_PLAN
    view, events = run(host)
    assert view["llm"] == {"breaker": CLOSED, "called": True}
    assert view["result"]["metadata"]["source"] == "llm" and view["result"]["progression"] == GOOD_PLAN["progression"]
    assert "agent_llm_plan" in [e.get("FunctionName") for e in events if e["EventType"] == "TaskCompleted"]
    assert llm.calls == 4
    assert [("acquire" in op, "record" in op) for op in breaker_calls(events)] == [(True, False), (False, True)]
    metrics = Exposition.scrape(host)
    assert metrics.value("ga_llm_breaker_state") == 0
    assert [metrics.value("ga_llm_breaker_transitions_total", to=to) for to in (OPEN, HALF_OPEN, CLOSED)] == [1, 1, 1]
    assert host.request("GET", BREAKER).json()["breaker"] == CLOSED


def test_no_llm_configured_means_no_breaker_traffic(tmp_path: Path) -> None:
    plain = HostProcess(ROOT, tmp_path / "plain", env={"LLM_BASE_URL": "", "LLM_MODEL": ""}).start()
    try:
        view, events = run(plain)
        assert "llm" not in view and breaker_calls(events) == [] and llm_activity(events) == []
        assert plain.request("GET", BREAKER).status == 404
        assert Exposition.scrape(plain).find("ga_llm_breaker_state") == []
    finally:
        plain.stop()


def test_the_skip_warning_says_why_from_the_entitys_answer() -> None:
    from orchestrations.agent_tasks import _breaker_skip

    state = opened(at=100.0)
    assert _breaker_skip(ask(state, "x", 110.0), 110.0) == (
        "The language model was not called: its last 3 calls failed, so its circuit breaker is open (the next "
        "try in 20 s); the rule engine produced this result.")
    ask(state, "probe", 130.0)
    assert _breaker_skip(ask(state, "y", 131.0), 131.0) == (
        "The language model was not called: its circuit breaker is half-open and another task is trying it now; "
        "the rule engine produced this result.")
