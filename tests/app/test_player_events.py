"""Live difficulty updates of a player (`GET /api/adaptive-ai/session/{playerId}/events`), read the way
EventSource reads them: reconnects with Last-Event-ID, under concurrent writes, across a reset."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from tests.api.spec import check_reply, load_spec, resolve
from tests.app.test_task_events import parse_events
from tests.hostproc import HostProcess, Reply

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


def test_each_attempt_is_pushed_in_order_under_200_concurrent_attempts(app_host: HostProcess) -> None:
    player = new_player(app_host, "order")
    answers = {1: record(app_host, player)}
    _, first = stream(app_host, player)
    assert [e["data"]["seq"] for e in first] == [1]
    received: list[dict[str, Any]] = list(first)
    done = threading.Event()

    def follow() -> None:
        last = first[-1]["id"]
        while not done.is_set():
            reply, events = stream(app_host, player, last)
            assert reply.status == 200, reply.body
            received.extend(events)
            last = next((e["id"] for e in reversed(events) if e["id"]), last)
            if any(e["event"] == "difficulty" and e["data"]["seq"] == 201 for e in events):
                return

    follower = in_background(follow)
    with ThreadPoolExecutor(50) as pool:
        for answer in pool.map(lambda i: record(app_host, player, success=i % 3 != 0, time_ms=900 + i),
                               range(200)):
            answers[answer["totalAttempts"]] = answer
    try:
        follower.result(timeout=120)
    finally:
        done.set()
    assert sorted(answers) == list(range(1, 202))  # every write saw its own attempt (read-your-writes)
    expected = 1
    for event in received:
        data = event["data"]
        if event["event"] == "gap":  # allowed only if it says exactly what was skipped
            assert data["fromSeq"] == expected + 1 and data["missed"] == data["toSeq"] - data["fromSeq"] + 1
            expected = data["toSeq"]
            continue
        assert event["event"] == "difficulty" and data["seq"] == expected + (event is not received[0]), event
        expected = data["seq"]
        assert event["id"] == f"{data['sessionStartedAtMs']}-{data['seq']}"
        answer = answers[data["seq"]]  # the stream says what the write answered
        assert (data["currentDifficulty"], data["reason"]) == (answer["currentDifficulty"], answer["reason"])
    assert expected == 201
    final = app_host.request("GET", f"{PLAYERS}/difficulty/{player}").json()
    assert received[-1]["data"]["currentDifficulty"] == final["currentDifficulty"]
    assert received[-1]["data"]["band"]["exercise"] == final["band"]


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
