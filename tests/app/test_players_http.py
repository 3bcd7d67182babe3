"""Player sessions through the real host over HTTP: concurrency, isolation, durability, errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.hostproc import ROOT, HostProcess

RECORD = "/api/adaptive-ai/record-performance"


def attempt(player: str, success: bool = True, time_ms: int = 1500, shape: str = "Cmaj7-drop2") -> dict[str, Any]:
    return {"playerId": player, "success": success, "timeMs": time_ms, "attempts": 1, "shapeId": shape}


async def post_many(base: str, bodies: list[dict[str, Any]], concurrency: int) -> list[tuple[int, Any]]:
    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def one(body: dict[str, Any]) -> tuple[int, Any]:
            async with semaphore, session.post(base + RECORD, json=body) as resp:
                return resp.status, await resp.json(content_type=None)
        return await asyncio.gather(*(one(b) for b in bodies))


@pytest.fixture
def fresh_app_host(tmp_path: Path) -> Iterator[HostProcess]:
    host = HostProcess(ROOT, tmp_path / "data")
    yield host
    host.stop()


def test_record_returns_stats_including_this_attempt(app_host: HostProcess) -> None:
    reply = app_host.request("POST", RECORD, attempt("reader-1", time_ms=1200))
    assert reply.status == 200, reply.body
    stats = reply.json()
    assert stats["playerId"] == "reader-1" and stats["totalAttempts"] == 1
    assert stats["successRate"] == 1.0 and stats["averageTimeMs"] == 1200
    assert 0.0 <= stats["currentDifficulty"] <= 1.0 and 0.0 <= stats["learningRate"] <= 1.0
    assert "Cmaj7-drop2" in json.dumps(stats["shapes"])
    for path in ("player-stats", "difficulty", "recommended-exercise", "session"):
        read = app_host.request("GET", f"/api/adaptive-ai/{path}/reader-1")
        assert read.status == 200, (path, read.body)
    assert app_host.request("GET", "/api/adaptive-ai/player-stats/reader-1").json()["totalAttempts"] == 1
    exercise = app_host.request("GET", "/api/adaptive-ai/recommended-exercise/reader-1").json()
    assert exercise and "rationale" in json.dumps(exercise)


async def test_200_concurrent_attempts_for_one_player_are_all_counted(any_app_host: HostProcess) -> None:
    player = f"hot-player-{any_app_host.port}"
    results = await post_many(any_app_host.base, [attempt(player, i % 3 != 0) for i in range(200)], 64)
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
    assert sorted(body["totalAttempts"] for _, body in results) == list(range(1, 201))
    stats = any_app_host.request("GET", f"/api/adaptive-ai/player-stats/{player}").json()
    assert stats["totalAttempts"] == 200


async def test_1000_players_in_parallel_keep_separate_state(app_host: HostProcess) -> None:
    bodies = [attempt(f"p-{i}", success=i % 2 == 0, time_ms=1000 + i) for i in range(1000)]
    results = await post_many(app_host.base, bodies, 64)
    assert all(status == 200 for status, _ in results)
    for i in (0, 1, 499, 998, 999):
        stats = app_host.request("GET", f"/api/adaptive-ai/player-stats/p-{i}").json()
        assert stats["totalAttempts"] == 1
        assert stats["successRate"] == (1.0 if i % 2 == 0 else 0.0)
        assert stats["averageTimeMs"] == 1000 + i


def test_reset_makes_the_player_read_as_new(any_app_host: HostProcess) -> None:
    assert any_app_host.request("POST", RECORD, attempt("to-reset")).status == 200
    reply = any_app_host.request("POST", "/api/adaptive-ai/reset-session/to-reset")
    assert reply.status == 200
    assert any_app_host.request("GET", "/api/adaptive-ai/player-stats/to-reset").status == 404
    again = any_app_host.request("POST", RECORD, attempt("to-reset")).json()
    assert again["totalAttempts"] == 1


def test_portable_path_leaves_no_orchestration_history(portable_app_host: HostProcess) -> None:
    assert portable_app_host.request("POST", RECORD, attempt("portable-purge")).status == 200
    listing: list[dict[str, Any]] = []
    for _ in range(50):  # the purge runs in the background after the answer
        listing = portable_app_host.request(
            "GET", "/runtime/webhooks/durabletask/instances?instanceIdPrefix=entity-call-").json()
        if not listing:
            break
        time.sleep(0.05)
    assert listing == []


def test_reads_of_unknown_players_are_404_and_create_nothing(app_host: HostProcess) -> None:
    for path in ("player-stats", "difficulty", "recommended-exercise", "session"):
        reply = app_host.request("GET", f"/api/adaptive-ai/{path}/never-seen")
        assert reply.status == 404 and reply.json()["error"]
    state = app_host.request("GET", "/runtime/webhooks/durabletask/entities/PlayerSession/never-seen")
    assert state.status == 404


def test_update_performance(app_host: HostProcess) -> None:
    body = {"playerId": "perf-1", "accuracy": 0.9, "speed": 0.8, "consistency": 0.85, "context": "C-major-scale"}
    reply = app_host.request("POST", "/api/adaptive-ai/update-performance", body)
    assert reply.status == 200, reply.body
    result = reply.json()
    assert result["playerId"] == "perf-1" and result["reason"]
    assert 0 <= result["currentDifficulty"] <= 1 and 0 <= result["targetDifficulty"] <= 1


BAD_RECORDS: list[tuple[str, bytes, int, str]] = [
    ("malformed JSON", b'{"playerId": ', 400, "malformed JSON"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
    ("missing success", json.dumps({"playerId": "x", "timeMs": 1, "attempts": 1, "shapeId": "C"}).encode(), 400,
     "success"),
    ("bool timeMs", json.dumps({**attempt("x"), "timeMs": True}).encode(), 400, "timeMs"),
    ("zero timeMs", json.dumps({**attempt("x"), "timeMs": 0}).encode(), 400, "timeMs"),
    ("int success", json.dumps({**attempt("x"), "success": 1}).encode(), 400, "success"),
    ("zero attempts", json.dumps({**attempt("x"), "attempts": 0}).encode(), 400, "attempts"),
    ("empty player", json.dumps(attempt("")).encode(), 400, "playerId"),
    ("slash player", json.dumps(attempt("a/b")).encode(), 400, "playerId"),
    ("at player", json.dumps(attempt("a@b")).encode(), 400, "playerId"),
    ("space player", json.dumps(attempt("a b")).encode(), 400, "playerId"),
    ("control player", json.dumps(attempt("a\u0001b")).encode(), 400, "playerId"),
    ("long player", json.dumps(attempt("p" * 129)).encode(), 400, "playerId"),
    ("oversized", json.dumps({**attempt("x"), "pad": "x" * 70000}).encode(), 413, "too large"),
    ("unknown field", json.dumps({**attempt("x"), "tempo": 90}).encode(), 400, "tempo"),
    ("unknown field beside an invalid one", json.dumps({**attempt("x"), "attempts": 0, "shape": "C"}).encode(), 400,
     "shape"),
]


@pytest.mark.parametrize(("case", "raw", "status", "names"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_bad_record_requests_are_rejected_and_change_nothing(app_host: HostProcess, case: str, raw: bytes,
                                                             status: int, names: str) -> None:
    reply = app_host.request("POST", RECORD, raw=raw)
    assert reply.status == status, (case, reply.body)
    body = reply.json()
    assert set(body) == {"error", "details"} and names in json.dumps(body), body
    assert body["details"] and all(set(d) <= {"field", "message", "allowed"} for d in body["details"]), body
    if case.startswith("unknown field"):
        unknown = [d for d in body["details"] if d["field"] in ("tempo", "shape")]
        assert unknown and unknown[0]["message"] == "is not a field of this request", body
        assert unknown[0]["allowed"] == ["attempts", "playerId", "shapeId", "success", "timeMs"]
    if case.endswith("invalid one"):
        assert {d["field"] for d in body["details"]} == {"attempts", "shape"}, body
    assert app_host.request("GET", "/api/adaptive-ai/player-stats/x").status == 404


def test_bad_performance_and_route_ids(app_host: HostProcess) -> None:
    body = {"playerId": "perf-bad", "accuracy": 1.5, "speed": 0.5, "consistency": 0.5, "context": "c"}
    reply = app_host.request("POST", "/api/adaptive-ai/update-performance", body)
    assert reply.status == 400 and "accuracy" in json.dumps(reply.json())
    reply = app_host.request("GET", "/api/adaptive-ai/player-stats/bad%40id")
    assert reply.status == 400 and "playerId" in json.dumps(reply.json())
    reply = app_host.request("POST", "/api/adaptive-ai/reset-session/" + "p" * 129)
    assert reply.status == 400
    assert app_host.request("GET", "/api/adaptive-ai/player-stats/perf-bad").status == 404


async def test_state_survives_kill9_and_restart(fresh_app_host: HostProcess) -> None:
    host = fresh_app_host.start()
    results = await post_many(host.base, [attempt("durable-player", i % 2 == 0) for i in range(20)], 8)
    assert all(status == 200 for status, _ in results)
    host.kill9()
    host.start()
    stats = host.request("GET", "/api/adaptive-ai/player-stats/durable-player").json()
    assert stats["totalAttempts"] == 20 and stats["successRate"] == 0.5
    after = host.request("POST", RECORD, attempt("durable-player")).json()
    assert after["totalAttempts"] == 21


def test_an_integral_float_attempts_is_accepted_and_a_fraction_rejected(app_host: HostProcess) -> None:
    body = attempt("float-reader")
    body["attempts"] = 3.0
    assert app_host.request("POST", RECORD, body).status == 200
    body["attempts"] = 3.5
    reply = app_host.request("POST", RECORD, body)
    assert reply.status == 400 and "attempts" in reply.body.decode(), reply.body
    assert app_host.request("GET", "/api/adaptive-ai/player-stats/float-reader").json()["totalAttempts"] == 1
