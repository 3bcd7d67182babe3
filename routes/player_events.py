"""Live difficulty updates of a player as Server-Sent Events (`GET /api/adaptive-ai/session/{playerId}/events`).

The same resumable stream as the agent task events (`routes.sse`): each response carries the updates
the client has not seen, then ends; the client reconnects with `Last-Event-ID` and the next response
waits (up to PLAYER_EVENTS_WAIT_S, default 20 s) for the next recorded attempt or performance report.

Events (`data` is JSON):
- `difficulty`, id `<sessionStartedAtMs>-<seq>`: one per recorded event, in order (`adaptive.updates`):
  new difficulty, target, band, recommendation (and whether it changed) and the reason.
  A first connection (no Last-Event-ID) gets the latest update only; a player with no session yet
  gets nothing until the first attempt (no 404, so a practice screen can subscribe first).
- `gap`, no id: updates the client missed because they are neither in this process's buffer nor in
  the session's stored 32-event window.
- `reset`, id `reset`: the session the client was following was reset (deleted). If a new session
  has started since, its updates follow in the same response.

Where the updates come from: each write route publishes the update its entity call returned to the
in-process `routes.update_buffer` (the last PLAYER_EVENTS_BUFFER, default 1024, per player), and a
stream serves the updates right after the client's id from it without reading the entity. Anything
else (a first connection, a reset, updates this process did not see) comes from the stored session,
merged with the buffer. So within one worker process and the buffer's reach no update is skipped,
however fast the writes come; past it (or for writes served elsewhere) the window and `gap` answer.
One response carries at most MAX_FRAMES (256) updates; the client's reconnect gets the rest.

At most PLAYER_EVENTS_MAX_CONNECTIONS (default 4) requests per player are served at once by one
worker process; more get 429 with the error document and `Retry-After`. A stream reads only the
entity and the buffer ring of its route's player, so nothing of another player can appear in it.
"""

import os
import re
from typing import Any

import azure.durable_functions as df
import azure.functions as func

import telemetry
from adaptive.errors import ValidationError
from adaptive.session import PlayerSession
from adaptive.updates import last_seq, update_view, updates
from routes import player_changes, sse
from routes.players import SessionUnreadable, invalid, load_session, route_player_id
from routes.responses import error_response, field_error
from routes.update_buffer import BUFFER, UpdateBuffer

bp = df.Blueprint()

RESET_ID = "reset"
MAX_FRAMES = 256
_SEEN = re.compile(r"^(\d{1,16})-(\d{1,16})$")


def _max_connections() -> int:
    try:
        return max(1, min(64, int(os.environ.get("PLAYER_EVENTS_MAX_CONNECTIONS", "4"))))
    except ValueError:
        return 4


LIMIT = sse.ConnectionLimit(_max_connections())


def _difficulty_frame(data: dict[str, Any]) -> sse.Frame:
    return sse.Frame("difficulty", data, f"{data['sessionStartedAtMs']}-{data['seq']}")


def _gap_frame(player_id: str, from_seq: int, to_seq: int) -> sse.Frame:
    return sse.Frame("gap", {"playerId": player_id, "fromSeq": from_seq, "toSeq": to_seq,
                             "missed": to_seq - from_seq + 1})


def _update_frames(session: PlayerSession, after_seq: int, buffer: UpdateBuffer) -> list[sse.Frame]:
    """The session's updates after `after_seq` (at most MAX_FRAMES), from the buffer or the stored
    window, with a `gap` frame before each run of updates that is in neither."""
    player_id, started = session.player_id, session.started_at_ms
    window = {u.seq: u for u in updates(session) if u.seq > after_seq}
    buffered = buffer.seqs_between(player_id, started, after_seq + 1, last_seq(session))
    frames: list[sse.Frame] = []
    expected = after_seq + 1
    for seq in sorted(set(window) | set(buffered))[:MAX_FRAMES]:
        if seq > expected:
            frames.append(_gap_frame(player_id, expected, seq - 1))
        data = buffer.get(player_id, started, seq) or update_view(player_id, started, window[seq])
        frames.append(_difficulty_frame(data))
        expected = seq + 1
    return frames


def _reset_frame(player_id: str, started_at_ms: int | None) -> sse.Frame:
    return sse.Frame("reset", {"playerId": player_id, "previousSessionStartedAtMs": started_at_ms,
                               "message": "the session was reset; its updates are over"}, RESET_ID)


def buffered_frames(player_id: str, seen: str, buffer: UpdateBuffer) -> list[sse.Frame]:
    """The updates right after `seen` that this process buffered ([]: none, or `seen` names no update)."""
    match = _SEEN.match(seen)
    if match is None:
        return []
    found = buffer.run_after(player_id, int(match.group(1)), int(match.group(2)), MAX_FRAMES)
    return [_difficulty_frame(data) for data in found]


def frames_for(player_id: str, session: PlayerSession | None, seen: str, buffer: UpdateBuffer) -> list[sse.Frame]:
    """What a client whose last event id is `seen` has not seen yet ([]: nothing new), given the stored session."""
    if seen == "":
        return [] if session is None else _update_frames(session, last_seq(session) - 1, buffer)
    if seen == RESET_ID:
        return [] if session is None else _update_frames(session, 0, buffer)
    match = _SEEN.match(seen)
    if match is None:
        raise ValueError(seen)
    started, seq = int(match.group(1)), int(match.group(2))
    if session is None:
        return [_reset_frame(player_id, started)]
    # A seq past the stored latest is a reset, unless this process buffered it (a read older than the write).
    if session.started_at_ms != started or (seq > last_seq(session) and buffer.get(player_id, started, seq) is None):
        return [_reset_frame(player_id, started), *_update_frames(session, 0, buffer)]
    return _update_frames(session, seq, buffer)


def _fetcher(client: df.DurableOrchestrationClient, player_id: str) -> sse.Fetch:
    """`fetch(seen)`: the buffered updates after `seen` if there are any, else what the stored session says."""

    async def fetch(seen: str) -> list[sse.Frame] | None:
        return buffered_frames(player_id, seen, BUFFER) or frames_for(
            player_id, await load_session(client, player_id), seen, BUFFER)

    return fetch


def _waker(player_id: str) -> sse.Wake:
    async def wake(timeout_s: float) -> None:
        await player_changes.wait(player_id, timeout_s)

    return wake


def _too_many(player_id: str) -> func.HttpResponse:
    return error_response(429, "too many event streams for this player", [field_error(
        "playerId", f"at most {LIMIT.limit} open event streams per player; close one or retry later")],
        headers={"Retry-After": "1"})


@bp.route(route="adaptive-ai/session/{playerId}/events", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def players_session_events(req: func.HttpRequest,
                                 client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The player's difficulty updates as resumable Server-Sent Events (see the module docstring)."""
    try:
        player_id = route_player_id(req)
    except ValidationError as exc:
        return invalid(exc)
    telemetry.tag_span({"ga.player_id": player_id})
    # Both places are checked (the header wins when both are sent, but a malformed value is never ignored).
    bad = [name for name, value in (("Last-Event-ID", req.headers.get("Last-Event-ID")),
                                    ("lastEventId", req.params.get("lastEventId")))
           if value not in (None, "", RESET_ID) and not _SEEN.match(value)]
    if bad:
        return error_response(400, "invalid Last-Event-ID", [field_error(
            name, "must be an id this stream sent: <sessionStartedAtMs>-<seq> or reset") for name in bad])
    seen = sse.last_event_id(req)
    with LIMIT.hold(player_id) as admitted:
        if not admitted:
            return _too_many(player_id)
        fetch = _fetcher(client, player_id)
        try:
            first = await fetch(seen)
            return await sse.respond(seen, first or [], fetch, _waker(player_id),
                                     sse.wait_budget_s("PLAYER_EVENTS_WAIT_S"))
        except SessionUnreadable as exc:
            return exc.response
