"""The in-process buffer of player updates and how a stream merges it with the stored window (no host)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so `pytest tests/app/...` works without an installed package
    sys.path.insert(0, _ROOT)

from adaptive.events import Attempt  # noqa: E402
from adaptive.session import PlayerSession  # noqa: E402
from adaptive.updates import latest_update, update_view  # noqa: E402
from routes import update_buffer  # noqa: E402
from routes.player_events import buffered_frames, frames_for  # noqa: E402
from routes.update_buffer import UpdateBuffer  # noqa: E402

START = 1_700_000_000_000


def played(player: str, count: int, buffer: UpdateBuffer | None = None,
           started: int = START) -> tuple[PlayerSession, list[dict[str, Any]]]:
    """A session of `count` attempts and each one's update, published to `buffer` as the write route does."""
    session = PlayerSession.new(player, started)
    published = []
    for i in range(count):
        after = session.record_attempt(Attempt(i % 3 != 0, 900 + i, 1, "Cmaj7", started + i))
        published.append(update_view(player, started, latest_update(session, after)))
        if buffer is not None:
            buffer.publish(player, published[-1])
        session = after
    return session, published


def update(player: str, seq: int, started: int = START) -> dict[str, Any]:
    return {"playerId": player, "sessionStartedAtMs": started, "seq": seq}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_out_of_order_publishes_are_read_in_seq_order_and_stop_at_the_first_missing() -> None:
    buffer = UpdateBuffer(per_player=8)
    for seq in (3, 1, 2, 5):
        buffer.publish("ana", update("ana", seq))
    assert [u["seq"] for u in buffer.run_after("ana", START, 0, 100)] == [1, 2, 3]
    assert buffer.run_after("ana", START, 3, 100) == []  # 4 is not here yet: nothing past it
    buffer.publish("ana", update("ana", 4))
    assert [u["seq"] for u in buffer.run_after("ana", START, 2, 2)] == [3, 4]  # at most `limit`
    assert buffer.run_after("ana", START + 1, 0, 100) == []  # another session's ids find nothing


def test_a_ring_keeps_the_last_per_player_updates_and_ignores_older_ones() -> None:
    buffer = UpdateBuffer(per_player=4)
    for seq in range(1, 11):
        buffer.publish("ana", update("ana", seq))
    assert buffer.seqs_between("ana", START, 1, 100) == [7, 8, 9, 10] and len(buffer) == 4
    buffer.publish("ana", update("ana", 5))  # too late: its slot holds a newer update
    assert buffer.get("ana", START, 5) is None and buffer.get("ana", START, 9) == update("ana", 9)


def test_a_newer_session_replaces_the_ring_and_an_older_one_is_ignored() -> None:
    buffer = UpdateBuffer()
    buffer.publish("ana", update("ana", 1))
    buffer.publish("ana", update("ana", 1, START + 50))
    buffer.publish("ana", update("ana", 2))  # a write of the old session that finished late
    assert buffer.get("ana", START, 1) is None and buffer.get("ana", START + 50, 1) is not None
    assert len(buffer) == 1
    buffer.drop("ana")
    assert len(buffer) == 0 and buffer.players() == []


def test_memory_is_bounded_by_players_total_updates_and_idleness() -> None:
    clock = Clock()
    buffer = UpdateBuffer(per_player=10, max_players=3, max_updates=25, idle_s=60.0, clock=clock)
    for player in ("a", "b", "c", "d"):
        buffer.publish(player, update(player, 1))
    assert buffer.players() == ["b", "c", "d"]  # past 3 players the least recently written goes
    for seq in range(2, 11):
        buffer.publish("b", update("b", seq))
        buffer.publish("c", update("c", seq))
    assert len(buffer) == 21
    for seq in range(2, 7):
        buffer.publish("d", update("d", seq))
    assert buffer.players() == ["c", "d"] and len(buffer) == 16  # past 25 updates: "b" (written before "c")
    clock.now = 61.0
    buffer.publish("e", update("e", 1))
    assert buffer.players() == ["e"]  # "c" and "d" had no write for 60 s


def test_one_players_updates_never_reach_another_players_reads() -> None:
    buffer = UpdateBuffer()
    _, ana = played("ana", 40, buffer)
    session, bob = played("bob", 40, buffer)
    seen = f"{START}-3"
    assert all(f.data["playerId"] == "bob" for f in buffered_frames("bob", seen, buffer))
    assert all(f.data["playerId"] == "bob" for f in frames_for("bob", session, seen, buffer) if f.data)
    assert buffered_frames("carl", seen, buffer) == [] and ana != bob


def test_the_stream_merges_the_buffer_with_the_window_and_names_each_hole() -> None:
    buffer = UpdateBuffer(per_player=64)
    session, published = played("ana", 100, buffer)
    buffer.drop("ana")
    for data in published[9:19] + published[39:49]:  # this process saw 10..19 and 40..49 only
        buffer.publish("ana", data)
    frames = frames_for("ana", session, f"{START}-4", buffer)
    assert [(f.event, f.data.get("seq"), f.data.get("fromSeq")) for f in frames if f.event == "gap"] == [
        ("gap", None, 5), ("gap", None, 20), ("gap", None, 50)]
    got = [f.data["seq"] for f in frames if f.event == "difficulty"]
    assert got == [*range(10, 20), *range(40, 50), *range(69, 101)]  # buffer, buffer, the 32-event window
    assert [f.data for f in frames if f.event == "difficulty"] == [published[s - 1] for s in got]
    gaps = [f.data for f in frames if f.event == "gap"]
    assert [(g["toSeq"], g["missed"]) for g in gaps] == [(9, 5), (39, 20), (68, 19)]


def test_a_stored_read_older_than_a_buffered_write_is_not_a_reset() -> None:
    buffer = UpdateBuffer()
    stale, _ = played("ana", 5)
    played("ana", 6, buffer)
    assert frames_for("ana", stale, f"{START}-6", buffer) == []  # wait for the store to catch up
    reset = frames_for("ana", stale, f"{START}-7", buffer)  # an id no write of this session had
    assert reset[0].event == "reset" and reset[0].data["previousSessionStartedAtMs"] == START


def test_the_write_answer_leaves_the_update_out_and_a_reset_forgets_the_player() -> None:
    _, published = played("take-ana", 2)
    answer = update_buffer.take_update("take-ana", "record_attempt", {"totalAttempts": 2, "update": published[1]})
    assert answer == {"totalAttempts": 2}
    assert update_buffer.BUFFER.get("take-ana", START, 2) == published[1]
    broken = update_buffer.take_update("take-ana", "record_attempt", {"totalAttempts": 3, "update": {"seq": 3}})
    assert broken == {"totalAttempts": 3}  # an unusable update is logged, the answer still goes out
    assert update_buffer.take_update("take-ana", "reset", {"reset": True}) == {"reset": True}
    assert "take-ana" not in update_buffer.BUFFER.players()
