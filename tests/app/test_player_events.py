"""Live difficulty updates of a player (`GET /api/adaptive-ai/session/{playerId}/events`), read the way
EventSource reads them: reconnects with Last-Event-ID, under concurrent writes, across a reset."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from tests.api.spec import check_reply, load_spec, resolve
from tests.app.test_task_events import parse_events
from tests.hostproc import ROOT, HostProcess, Reply

PLAYERS = "/api/adaptive-ai"
EVENTS = f"{PLAYERS}/session/{{playerId}}/events"
_names = itertools.count()


def new_player(host: HostProcess, tag: str) -> str:
    return f"ev-{tag}-{host.port}-{next(_names)}"


def record(host: HostProcess, player: str, success: bool = True, time_ms: int = 1500) -> dict[str, Any]:
    reply = host.request("POST", f"{PLAYERS}/record-performance", {"playerId": player, "success": success,
                                                                   "timeMs": time_ms, "attempts": 1,
                                                                   "shapeId": "Cmaj7"})
    assert reply.status == 200, reply.body
    assert "update" not in reply.json()  # the entity's stream update stays inside the app
    return dict(reply.json())


def stream(host: HostProcess, player: str, last: str | None = None) -> tuple[Reply, list[dict[str, Any]]]:
    """One request of the stream; its reply (checked against the document) and the events it carried."""
    reply = host.request("GET", f"{PLAYERS}/session/{player}/events",
                         headers={"Last-Event-ID": last} if last is not None else None)
    check_reply("GET", EVENTS, reply)
    events = parse_events(reply.body.decode()) if reply.status == 200 else []
    schemas = load_spec()["components"]["schemas"]
    for event in events:  # every event's data matches its documented schema
        name = {"difficulty": "DifficultyUpdate", "gap": "EventGap", "reset": "SessionReset"}[event["event"]]
        assert set(event["data"]) == set(resolve(load_spec(), schemas[name])["properties"]), event
        assert event["data"]["playerId"] == player, event  # nothing of another player
    return reply, events


def in_background(call: Callable[[], Any]) -> Future[Any]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def follow_until(host: HostProcess, player: str, last: str, seq: int, done: threading.Event) -> list[dict[str, Any]]:
    """Reconnect as EventSource does from `last` until the update `seq` arrives; every event received."""
    received: list[dict[str, Any]] = []
    while not done.is_set():
        reply, events = stream(host, player, last)
        assert reply.status == 200, reply.body
        received.extend(events)
        last = next((e["id"] for e in reversed(events) if e["id"]), last)
        if any(e["event"] == "difficulty" and e["data"]["seq"] >= seq for e in events):
            break
    return received


def assert_is_the_write(event: dict[str, Any], answer: dict[str, Any]) -> None:
    """The stream's update says what the write answered."""
    data = event["data"]
    assert event["event"] == "difficulty" and event["id"] == f"{data['sessionStartedAtMs']}-{data['seq']}"
    for name in ("currentDifficulty", "targetDifficulty", "recentSuccessRate", "inFlowZone", "reason"):
        assert data[name] == answer[name], (name, data, answer)


def test_each_attempt_is_pushed_in_order_under_200_concurrent_attempts(any_app_host: HostProcess) -> None:
    host = any_app_host
    player = new_player(host, "order")
    answers = {1: record(host, player)}
    _, first = stream(host, player)
    assert [e["data"]["seq"] for e in first] == [1]
    done = threading.Event()
    follower = in_background(lambda: follow_until(host, player, first[-1]["id"], 201, done))
    with ThreadPoolExecutor(50) as pool:
        for answer in pool.map(lambda i: record(host, player, success=i % 3 != 0, time_ms=900 + i),
                               range(200)):
            answers[answer["totalAttempts"]] = answer
    try:
        received = follower.result(timeout=120)
    finally:
        done.set()
    assert sorted(answers) == list(range(1, 202))  # every write saw its own attempt (read-your-writes)
    # Lossless: exactly the 200 writes, in the order the entity recorded them, no gap.
    assert [e["event"] for e in received] == ["difficulty"] * 200
    assert [e["data"]["seq"] for e in received] == list(range(2, 202))
    for event in received:
        assert_is_the_write(event, answers[event["data"]["seq"]])
    for before, after in itertools.pairwise(received):
        assert after["data"]["previousDifficulty"] == before["data"]["currentDifficulty"]
    final = host.request("GET", f"{PLAYERS}/difficulty/{player}").json()
    assert received[-1]["data"]["currentDifficulty"] == final["currentDifficulty"]
    assert received[-1]["data"]["band"]["exercise"] == final["band"]


def test_two_players_written_at_once_each_get_exactly_their_own_updates(app_host: HostProcess) -> None:
    players = [new_player(app_host, "mine"), new_player(app_host, "theirs")]
    answers: dict[str, dict[int, dict[str, Any]]] = {p: {1: record(app_host, p)} for p in players}
    done = threading.Event()
    starts = {p: stream(app_host, p)[1][-1]["id"] for p in players}

    def follower(player: str) -> Future[list[dict[str, Any]]]:
        return in_background(lambda: follow_until(app_host, player, starts[player], 81, done))

    followers = {p: follower(p) for p in players}
    with ThreadPoolExecutor(32) as pool:
        jobs = [(players[i % 2], i) for i in range(160)]
        for (player, _), answer in zip(jobs, pool.map(
                lambda job: record(app_host, job[0], success=job[1] % 4 != 0, time_ms=700 + job[1]), jobs),
                strict=True):
            answers[player][answer["totalAttempts"]] = answer
    try:
        received = {p: f.result(timeout=120) for p, f in followers.items()}
    finally:
        done.set()
    for player in players:  # `stream` checked every event names its own player
        assert [e["data"]["seq"] for e in received[player]] == list(range(2, 82))
        for event in received[player]:
            assert_is_the_write(event, answers[player][event["data"]["seq"]])


def test_a_reconnect_from_far_behind_within_the_buffer_skips_nothing(app_host: HostProcess) -> None:
    player = new_player(app_host, "behind")
    with ThreadPoolExecutor(16) as pool:
        answers = {a["totalAttempts"]: a for a in pool.map(lambda i: record(app_host, player, i % 5 != 0),
                                                            range(300))}
    _, latest = stream(app_host, player)
    started = latest[0]["data"]["sessionStartedAtMs"]
    # Seq 1 left the stored 32-event window long ago; the buffer still has everything after it.
    _, first = stream(app_host, player, f"{started}-1")
    assert [e["data"]["seq"] for e in first] == list(range(2, 258))  # one response carries at most 256
    _, rest = stream(app_host, player, first[-1]["id"])
    assert [e["data"]["seq"] for e in rest] == list(range(258, 301))
    for event in first + rest:
        assert_is_the_write(event, answers[event["data"]["seq"]])


def test_a_reconnect_from_beyond_the_buffer_gets_one_gap_naming_what_was_skipped(tmp_path: Path) -> None:
    host = HostProcess(ROOT, tmp_path / "data", env={"PLAYER_EVENTS_BUFFER": "40"}).start()
    try:
        player = new_player(host, "beyond")
        answers = {}
        for i in range(100):
            answer = record(host, player, success=i % 3 != 0)
            answers[answer["totalAttempts"]] = answer
        _, latest = stream(host, player)
        _, events = stream(host, player, f"{latest[0]['data']['sessionStartedAtMs']}-2")
    finally:
        host.stop()
    # The buffer holds 61..100 (40), more than the stored window's 69..100 (32); 3..60 are gone.
    assert events[0] == {"id": None, "event": "gap",
                         "data": {"playerId": player, "fromSeq": 3, "toSeq": 60, "missed": 58}}
    assert [e["event"] for e in events[1:]] == ["difficulty"] * 40
    assert [e["data"]["seq"] for e in events[1:]] == list(range(61, 101))
    for event in events[1:]:
        assert_is_the_write(event, answers[event["data"]["seq"]])


def test_reconnect_with_last_event_id_resumes_after_it(app_host: HostProcess) -> None:
    player = new_player(app_host, "resume")
    for success in (True, False, True):
        record(app_host, player, success)
    _, latest = stream(app_host, player)
    assert [e["data"]["seq"] for e in latest] == [3]
    started = latest[0]["data"]["sessionStartedAtMs"]
    _, missed = stream(app_host, player, f"{started}-1")
    assert [e["data"]["seq"] for e in missed] == [2, 3]
    assert missed[0]["data"]["previousDifficulty"] < missed[0]["data"]["currentDifficulty"] or \
        missed[0]["data"]["reason"].startswith("failure")
    assert missed[1]["data"]["previousDifficulty"] == missed[0]["data"]["currentDifficulty"]
    by_query = app_host.request("GET", f"{PLAYERS}/session/{player}/events?lastEventId={started}-2")
    assert [e["data"]["seq"] for e in parse_events(by_query.body.decode())] == [3]
    waiting = in_background(lambda: stream(app_host, player, latest[0]["id"]))
    answer = record(app_host, player)
    reply, pushed = waiting.result(timeout=60)
    assert reply.status == 200 and [e["data"]["seq"] for e in pushed] == [4]
    assert pushed[0]["data"]["reason"] == answer["reason"]
    change = pushed[0]["data"]["recommendation"]
    assert change["changed"] == (change["previous"] != {k: change[k] for k in change["previous"]})
    # A performance report is pushed the same way.
    waiting = in_background(lambda: stream(app_host, player, pushed[0]["id"]))
    report = app_host.request("POST", f"{PLAYERS}/update-performance", {
        "playerId": player, "accuracy": 0.9, "speed": 0.7, "consistency": 0.8, "context": "ii-V-I"})
    assert report.status == 200 and "update" not in report.json(), report.body  # the answer is unchanged
    _, pushed = waiting.result(timeout=60)
    assert [(e["event"], e["data"]["seq"], e["data"]["kind"]) for e in pushed] == [("difficulty", 5, "performance")]
    assert pushed[0]["data"]["reason"] + " (context: ii-V-I)" == report.json()["reason"]
    assert pushed[0]["data"]["currentDifficulty"] == report.json()["currentDifficulty"]


def test_reset_mid_stream_is_pushed_and_the_new_session_follows(app_host: HostProcess) -> None:
    player = new_player(app_host, "reset")
    record(app_host, player)
    record(app_host, player)
    _, latest = stream(app_host, player)
    old_id = latest[0]["id"]
    waiting = in_background(lambda: stream(app_host, player, old_id))
    assert app_host.request("POST", f"{PLAYERS}/reset-session/{player}").json()["existed"] is True
    reply, events = waiting.result(timeout=60)
    assert reply.status == 200
    assert [(e["event"], e["id"]) for e in events] == [("reset", "reset")]
    assert events[0]["data"]["previousSessionStartedAtMs"] == latest[0]["data"]["sessionStartedAtMs"]
    assert app_host.request("GET", f"{PLAYERS}/session/{player}").status == 404  # the stream created nothing
    waiting = in_background(lambda: stream(app_host, player, "reset"))
    answer = record(app_host, player, success=False)
    _, events = waiting.result(timeout=60)
    assert [(e["event"], e["data"]["seq"]) for e in events] == [("difficulty", 1)]
    assert events[0]["data"]["reason"] == answer["reason"]
    # A client that slept through the reset and the new attempt gets both at once.
    _, events = stream(app_host, player, old_id)
    assert [e["event"] for e in events] == ["reset", "difficulty"] and events[1]["data"]["seq"] == 1


def test_connections_per_player_are_bounded_and_players_do_not_mix(app_host: HostProcess) -> None:
    player, other = new_player(app_host, "bound"), new_player(app_host, "other")
    record(app_host, player)
    record(app_host, other)
    _, latest = stream(app_host, player)
    waiting = [in_background(lambda: stream(app_host, player, latest[0]["id"])) for _ in range(5)]
    finished, _ = wait(waiting, timeout=60, return_when=FIRST_COMPLETED)  # only a refusal answers now
    assert len(finished) == 1
    refused = finished.pop()
    reply, _ = refused.result()
    assert reply.status == 429 and reply.headers["Retry-After"] == "1"
    assert reply.json()["details"][0]["field"] == "playerId"
    _, others = stream(app_host, other)  # another player's stream is not limited by this one's
    record(app_host, other)  # ... and its attempts reach none of this player's streams
    answer = record(app_host, player)
    results = [f.result(timeout=60) for f in waiting if f is not refused]
    assert len(results) == 4
    for reply, events in results:
        assert reply.status == 200 and [e["data"]["seq"] for e in events] == [2]
        assert events[0]["data"]["reason"] == answer["reason"]
    assert others[0]["data"]["playerId"] == other


def test_bad_ids_are_400_and_a_new_player_is_not_404(app_host: HostProcess) -> None:
    player = new_player(app_host, "bad")
    record(app_host, player)
    for bad in ("12", "x-1", "1-2-3", "final"):
        reply, _ = stream(app_host, player, bad)
        assert reply.status == 400 and reply.json()["details"][0]["field"] == "Last-Event-ID", (bad, reply.body)
    assert stream(app_host, "a%40b")[0].status == 400
    fresh = new_player(app_host, "fresh")
    waiting = in_background(lambda: stream(app_host, fresh))
    record(app_host, fresh)
    reply, events = waiting.result(timeout=60)
    assert reply.status == 200 and [e["data"]["seq"] for e in events] == [1]
