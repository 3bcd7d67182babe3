"""The optional LLM planner against a fake OpenAI-compatible server on 127.0.0.1.

Good JSON is validated and repaired into the result; bad JSON, HTTP errors and timeouts fall back to the
rule engine with a warning; nothing is called when no endpoint is configured; the API key never shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from harmony.agent import consult_llm, finish, prepare, search_step, voice
from harmony.llm import LlmSettings, validate_plan

API_KEY = "sk-test-SECRET-123456"
CREATED = "2026-01-01T00:00:00+00:00"
GOOD_PLAN = {
    "title": "Autumn in Rio",
    "summary": "Bossa colours over the Autumn Leaves changes.",
    "progression": ["Cm9", "F13", "Bbmaj9", "Ebmaj7#11", "Am7b5", "D7b9", "Gm9", "Gm6"],
    "changes": [{"index": 1, "rule": "style-extension", "explanation": "F13 adds the 9th and 13th."}],
    "practiceIdeas": ["Play the bass on beats 1 and 3."],
    "techniqueTips": ["Keep the thumb relaxed."],
}


# For ALTERED: drops the #11 of Bbmaj7#11 and the #9 of F7#9, keeps the b9 of G7b9 (in G13b9).
ALTERED = {"progression": "Bbmaj7#11 G7b9 Cm7 F7#9 Bbmaj7", "style": "jazz"}
DROPPING_PLAN = ["Bbmaj9", "G13b9", "Cm9", "F13", "Bbmaj7"]


def completion(content: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


class FakeLlm:
    """Routes: /good, /junk (unparseable and locked chords changed), /drops (alterations dropped), /bad (not
    JSON), /slow, /error."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_post("/{mode}/v1/chat/completions", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        mode = request.match_info["mode"]
        body = await request.json()
        self.requests.append((mode, body, dict(request.headers)))
        if mode == "good":
            return web.json_response(completion(json.dumps(GOOD_PLAN)))
        if mode == "junk":
            plan = dict(GOOD_PLAN, progression=["Dm7", "F13", "Hmaj7", "Ebmaj7", 42, "D7b9", "Gm9", "Gmaj7"])
            return web.json_response(completion("```json\n" + json.dumps(plan) + "\n```"))
        if mode == "drops":
            return web.json_response(completion(json.dumps(dict(GOOD_PLAN, progression=DROPPING_PLAN, changes=[]))))
        if mode == "bad":
            return web.json_response(completion("Sure! Here are some chords: Cm7, F7 {"))
        if mode == "slow":
            await asyncio.sleep(3)
            return web.json_response(completion(json.dumps(GOOD_PLAN)))
        return web.Response(status=500, text=f"internal error, your key was {API_KEY}")


@pytest.fixture
async def fake_llm() -> AsyncIterator[tuple[FakeLlm, str]]:
    fake = FakeLlm()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def settings_for(base: str, mode: str) -> LlmSettings:
    settings = LlmSettings.from_env({"LLM_BASE_URL": f"{base}/{mode}/v1", "LLM_MODEL": "fake-model",
                                     "LLM_API_KEY": API_KEY, "LLM_TIMEOUT_S": "1"})
    assert settings is not None
    return settings


async def run_with_llm(task: str, body: dict[str, Any], settings: LlmSettings | None) -> tuple[dict[str, Any],
                                                                                                 dict[str, Any]]:
    """The orchestration's path: prepare, consult the LLM, search (if needed), voice, assemble."""
    prepared = prepare(task, body, CREATED)
    outcome = await consult_llm(prepared, settings, "task-1")
    state = outcome["state"] or prepared["state"]
    while not state["done"]:
        state = search_step(state)
    result = finish(prepared, state, voice(prepared["request"], state), outcome.get("llm"), outcome["warnings"])
    return outcome, result


AUTUMN = {"progression": "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6", "style": "bossa nova"}


def assert_no_key(*things: Any) -> None:
    for thing in things:
        assert API_KEY not in (thing if isinstance(thing, str) else json.dumps(thing))


async def test_good_plan_is_used(fake_llm: tuple[FakeLlm, str], caplog: pytest.LogCaptureFixture) -> None:
    fake, base = fake_llm
    caplog.set_level(logging.DEBUG)
    outcome, result = await run_with_llm("spice-up", AUTUMN, settings_for(base, "good"))
    assert result["progression"] == GOOD_PLAN["progression"]
    assert result["title"] == "Autumn in Rio"
    assert result["metadata"]["source"] == "llm" and "llm:fake-model" in result["metadata"]["engine"]
    assert result["warnings"] == []
    assert "F13 adds the 9th and 13th." in [c["explanation"] for c in result["changes"]]
    assert len(result["voicings"]) == len(result["progression"])
    [(_, sent, headers)] = fake.requests
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["model"] == "fake-model" and sent["messages"][0]["role"] == "system"
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert_no_key(outcome, result, caplog.text)


async def test_create_uses_the_plan_and_its_tips(fake_llm: tuple[FakeLlm, str]) -> None:
    fake, base = fake_llm
    _, result = await run_with_llm("create", {"key": "G minor", "style": "bossa nova", "bars": 8},
                                   settings_for(base, "good"))
    assert result["progression"] == GOOD_PLAN["progression"]
    assert result["sections"][0]["techniqueTips"][0] == "Keep the thumb relaxed."
    assert result["practiceIdeas"][0] == "Play the bass on beats 1 and 3."
    [(_, sent, _)] = fake.requests
    task = json.loads(sent["messages"][1]["content"].split("\n", 1)[1])
    assert task["task"] == "create" and task["bars"] == 8 and task["key"] == "G minor"
    assert len(task["startingPoint"]) == 8


async def test_unparseable_and_locked_chords_are_repaired(fake_llm: tuple[FakeLlm, str]) -> None:
    _, base = fake_llm
    outcome, result = await run_with_llm("reharmonize", AUTUMN, settings_for(base, "junk"))
    progression = result["progression"]
    assert progression[0] == "Cm7" and progression[-1] == "Gm6"  # locked chords restored
    assert progression[2] == "Bbmaj7"  # 'Hmaj7' replaced by the input chord
    assert progression[4] == "Am7b5"  # 42 replaced by the input chord
    warnings = " ".join(result["warnings"])
    assert "'Hmaj7'" in warnings and "locked first chord" in warnings and "final chord" in warnings
    assert result["metadata"]["source"] == "llm"
    assert_no_key(outcome, result)


async def test_bad_json_falls_back_to_the_engine(fake_llm: tuple[FakeLlm, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _, base = fake_llm
    caplog.set_level(logging.DEBUG)
    outcome, result = await run_with_llm("spice-up", AUTUMN, settings_for(base, "bad"))
    assert outcome["state"] is None
    assert result["metadata"]["source"] == "engine"
    [warning] = result["warnings"]
    assert "not valid JSON" in warning and "rule engine" in warning
    assert_no_key(outcome, result, caplog.text)


async def test_timeout_falls_back_to_the_engine(fake_llm: tuple[FakeLlm, str]) -> None:
    _, base = fake_llm
    outcome, result = await run_with_llm("create", {"key": "C", "style": "jazz"}, settings_for(base, "slow"))
    assert result["metadata"]["source"] == "engine"
    assert any("did not answer within 1 s" in w for w in result["warnings"])
    assert_no_key(outcome, result)


async def test_http_error_falls_back_without_leaking_the_body(fake_llm: tuple[FakeLlm, str],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    _, base = fake_llm
    caplog.set_level(logging.DEBUG)
    outcome, result = await run_with_llm("spice-up", AUTUMN, settings_for(base, "error"))
    assert any("HTTP 500" in w for w in result["warnings"])
    assert_no_key(outcome, result, caplog.text)


async def test_unreachable_endpoint_falls_back() -> None:
    settings = LlmSettings.from_env({"LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MODEL": "m",
                                     "LLM_API_KEY": API_KEY})
    outcome, result = await run_with_llm("spice-up", AUTUMN, settings)
    assert outcome["state"] is None and "could not reach" in result["warnings"][0]
    assert_no_key(outcome, result)


async def test_nothing_configured_means_no_call(fake_llm: tuple[FakeLlm, str]) -> None:
    fake, _ = fake_llm
    assert LlmSettings.from_env({}) is None
    assert LlmSettings.from_env({"LLM_BASE_URL": "http://127.0.0.1:1/v1"}) is None  # no model
    outcome, result = await run_with_llm("spice-up", AUTUMN, None)
    assert outcome == {"configured": False, "state": None, "llm": None, "warnings": []}
    assert result["warnings"] == [] and fake.requests == []


def test_settings_never_show_the_key() -> None:
    settings = LlmSettings.from_env({"LLM_BASE_URL": "http://localhost:11434/v1/", "LLM_MODEL": "llama3.2:3b",
                                     "LLM_API_KEY": API_KEY, "LLM_TIMEOUT_S": "500"})
    assert settings is not None
    assert API_KEY not in repr(settings)
    assert settings.endpoint == "http://localhost:11434/v1/chat/completions"
    assert settings.timeout_s == 120.0
    assert settings.redact(f"boom {API_KEY}") == "boom ***"
    default = LlmSettings.from_env({"LLM_BASE_URL": "http://h/v1/chat/completions", "LLM_MODEL": "m",
                                    "LLM_TIMEOUT_S": "soon"})
    assert default is not None and default.timeout_s == 20.0 and default.endpoint == "http://h/v1/chat/completions"


def test_plan_validation_limits() -> None:
    from harmony.llm import LlmError

    with pytest.raises(LlmError):
        validate_plan({"progression": "nope"}, ["C", "G"])
    with pytest.raises(LlmError):
        validate_plan({}, ["C", "G"])
    long = validate_plan({"progression": ["C"] * 20}, ["C", "G"])
    assert len(long.progression) == 4 and long.warnings
    created = validate_plan({"progression": "C | Am F G", "title": "  A   title  "}, [], target_length=4)
    assert created.progression == ["C", "Am", "F", "G"] and created.title == "A title"


async def test_a_spice_up_plan_that_drops_the_users_alterations_is_repaired(fake_llm: tuple[FakeLlm, str]) -> None:
    _, base = fake_llm
    _, result = await run_with_llm("spice-up", ALTERED, settings_for(base, "drops"))
    assert result["metadata"]["source"] == "llm"
    assert result["progression"] == ["Bbmaj7#11", "G13b9", "Cm9", "F7#9", "Bbmaj7"]
    assert [w for w in result["warnings"] if "drops an alteration" in w] == [
        "LLM chord Bbmaj9 at position 1 drops an alteration of Bbmaj7#11; kept Bbmaj7#11",
        "LLM chord F13 at position 4 drops an alteration of F7#9; kept F7#9"]
    assert [change["to"] for change in result["changes"]] == ["G13b9", "Cm9"]


async def test_a_reharmonize_plan_may_replace_alterations_and_says_so(fake_llm: tuple[FakeLlm, str]) -> None:
    _, base = fake_llm
    _, result = await run_with_llm("reharmonize", dict(ALTERED, lockFirstChord=False),
                                   settings_for(base, "drops"))
    assert result["progression"][3] == "F13"
    [change] = [c for c in result["changes"] if c["from"] == "F7#9"]
    assert "gives up the #9 of F7#9" in change["explanation"]
