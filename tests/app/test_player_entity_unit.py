"""The PlayerSession entity run by the SDK's own entity handle on hand-built batches (no host).

Payloads follow the extension's encoding: the stored state is JSON text, each operation input is
JSON text wrapped once more as a JSON string, and each result comes back as JSON text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so `pytest tests/app/...` works without an installed package
    sys.path.insert(0, _ROOT)

from adaptive.session import PlayerSession  # noqa: E402
from adaptive.updates import update_view, updates  # noqa: E402
from entities import player_session  # noqa: E402

NOW = 1_700_000_000_000
ATTEMPT = {"success": True, "timeMs": 1800, "attempts": 1, "shapeId": "Cmaj7-drop2", "now": NOW}


@pytest.fixture(scope="module")
def entity_handle() -> Callable[[str], str]:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(player_session.bp)
    (function,) = [f for f in app.get_functions() if f.get_function_name() == "player_session_entity"]
    raw = json.loads(function.get_raw_bindings()[0])
    assert raw == {"direction": "IN", "type": "entityTrigger", "name": "context", "entityName": "PlayerSession"}
    handle: Callable[[str], str] = function.get_user_function()
    return handle


class Outcome:
    """The decoded answer of one batch: per-operation (is_error, result), and the state left behind."""

    def __init__(self, raw: str) -> None:
        data = json.loads(raw)
        self.exists: bool = data["entityExists"]
        self.state: Any = json.loads(data["entityState"])
        self.results: list[tuple[bool, Any]] = [(r["isError"], json.loads(r["result"])) for r in data["results"]]


def run(handle: Callable[[str], str], ops: list[tuple[str, Any]], state: Any = None,
        key: str = "alice") -> Outcome:
    context = {
        "self": {"name": "playersession", "key": key},
        "state": None if state is None else json.dumps(state),
        "exists": state is not None,
        "batch": [{"name": name, "input": json.dumps(json.dumps(value)), "isSignal": False}
                  for name, value in ops],
    }
    return Outcome(handle(json.dumps(context)))


def test_record_attempt_creates_the_session_and_returns_stats_after_it(entity_handle: Callable[[str], str]) -> None:
    out = run(entity_handle, [("record_attempt", ATTEMPT)])
    assert out.exists
    ((is_error, stats),) = out.results
    assert not is_error
    assert stats["playerId"] == "alice"
    assert stats["totalAttempts"] == 1 and stats["successRate"] == 1.0 and stats["averageTimeMs"] == 1800
    assert stats["currentDifficulty"] > 0.4  # a new player starts at 0.4
    assert stats["shapes"]["Cmaj7-drop2"]["attempts"] == 1
    assert "reason" in stats
    assert out.state["playerId"] == "alice" and out.state["startedAtMs"] == NOW


def test_a_batch_sees_its_own_writes_and_the_state_carries_over(entity_handle: Callable[[str], str]) -> None:
    first = run(entity_handle, [("record_attempt", ATTEMPT), ("record_attempt", {**ATTEMPT, "success": False})])
    second = run(entity_handle, [("get_stats", None), ("get_difficulty", None)], state=first.state)
    (_, after_two), = first.results[1:]
    (_, stats), (_, difficulty) = second.results
    assert stats == {k: v for k, v in after_two.items() if k not in ("reason", "update")}
    assert stats["totalAttempts"] == 2
    # Each write's stream update is what a reader replaying the stored window computes for that event.
    session = PlayerSession.from_dict(first.state)
    assert after_two["update"] == update_view("alice", NOW, updates(session)[-1])
    assert [r["update"]["seq"] for _, r in first.results] == [1, 2]
    assert after_two["update"]["reason"] == after_two["reason"]
    assert difficulty["currentDifficulty"] == stats["currentDifficulty"]
    assert second.state == first.state


def test_update_performance_explains_the_new_difficulty(entity_handle: Callable[[str], str]) -> None:
    out = run(entity_handle, [("update_performance", {"accuracy": 0.95, "speed": 0.8, "consistency": 0.9,
                                                      "context": "ii-V-I", "now": "2023-11-14T22:13:20Z"})])
    ((is_error, result),) = out.results
    assert not is_error
    assert result["previousDifficulty"] == 0.4 < result["currentDifficulty"]
    assert "raised" in result["reason"] and "ii-V-I" in result["reason"]
    assert result["update"]["kind"] == "performance" and result["update"]["seq"] == 1
    assert result["update"]["currentDifficulty"] == result["currentDifficulty"]
    assert out.state["lastContext"] == "ii-V-I"


def test_reads_on_a_player_never_seen_return_null_and_create_nothing(entity_handle: Callable[[str], str]) -> None:
    ops = [(name, None) for name in ("get_stats", "get_difficulty", "get_recommended_exercise", "get_state",
                                     "get_session")]
    out = run(entity_handle, ops)
    assert out.results == [(False, None)] * len(ops)
    assert not out.exists and out.state is None


def test_reset_deletes_the_session(entity_handle: Callable[[str], str]) -> None:
    created = run(entity_handle, [("record_attempt", ATTEMPT)])
    out = run(entity_handle, [("reset", None)], state=created.state)
    assert out.results == [(False, {"playerId": "alice", "reset": True, "existed": True})]
    assert not out.exists and out.state is None
    again = run(entity_handle, [("reset", None), ("get_stats", None)])
    assert again.results == [(False, {"playerId": "alice", "reset": True, "existed": False}), (False, None)]
    assert not again.exists


def test_a_rejected_input_is_an_operation_error_and_changes_nothing(entity_handle: Callable[[str], str]) -> None:
    created = run(entity_handle, [("record_attempt", ATTEMPT)])
    out = run(entity_handle, [("record_attempt", {**ATTEMPT, "timeMs": True}),
                              ("record_attempt", {k: v for k, v in ATTEMPT.items() if k != "now"}),
                              ("no_such_op", None)], state=created.state)
    assert [is_error for is_error, _ in out.results] == [True, True, True]
    assert "timeMs" in out.results[0][1]
    assert "now" in out.results[1][1]
    assert "no_such_op" in out.results[2][1]
    assert out.state == created.state


def test_recommendation_and_state_reads(entity_handle: Callable[[str], str]) -> None:
    created = run(entity_handle, [("record_attempt", {**ATTEMPT, "success": False, "attempts": 4})])
    out = run(entity_handle, [("get_recommended_exercise", None), ("get_state", None)], state=created.state)
    (_, exercise), (_, state) = out.results
    assert exercise["exercise"] in {"intermediate-progressions", "advanced-voicings"}
    assert exercise["parameters"]["suggestedShapes"] == ["Cmaj7-drop2"]
    assert state == created.state


def test_an_unsafe_entity_key_is_refused(entity_handle: Callable[[str], str]) -> None:
    out = run(entity_handle, [("record_attempt", ATTEMPT)], key="a/b")
    assert out.results[0][0] is True
    assert not out.exists
