"""Live difficulty updates of a player as Server-Sent Events (`GET /api/adaptive-ai/session/{playerId}/events`).

The same resumable stream as the agent task events (`routes.sse`): each response carries the updates
the client has not seen, then ends; the client reconnects with `Last-Event-ID` and the next response
waits (up to PLAYER_EVENTS_WAIT_S, default 20 s) for the next recorded attempt or performance report.

Events (`data` is JSON):
- `difficulty`, id `<sessionStartedAtMs>-<seq>`: one per recorded event, in order (`adaptive.updates`):
  new difficulty, target, band, recommendation (and whether it changed) and the reason.
  A first connection (no Last-Event-ID) gets the latest update only; a player with no session yet
  gets nothing until the first attempt (no 404, so a practice screen can subscribe first).
- `gap`, no id: updates the client missed because they left the session's 32-event window.
- `reset`, id `reset`: the session the client was following was reset (deleted). If a new session
  has started since, its updates follow in the same response.

At most PLAYER_EVENTS_MAX_CONNECTIONS (default 4) requests per player are served at once by one
worker process; more get 429 with the error document and `Retry-After`. A stream reads only the
entity of its route's player, so nothing of another player can appear in it.
"""

import os
import re

import azure.durable_functions as df
import azure.functions as func

import telemetry
from adaptive.errors import ValidationError
from adaptive.session import PlayerSession
from adaptive.updates import last_seq, update_view, updates
from routes import player_changes, sse
from routes.players import SessionUnreadable, invalid, load_session, route_player_id
from routes.responses import error_response, field_error

bp = df.Blueprint()

RESET_ID = "reset"
_SEEN = re.compile(r"^(\d{1,16})-(\d{1,16})$")


def _max_connections() -> int:
    try:
        return max(1, min(64, int(os.environ.get("PLAYER_EVENTS_MAX_CONNECTIONS", "4"))))
    except ValueError:
        return 4


LIMIT = sse.ConnectionLimit(_max_connections())


def _update_frames(session: PlayerSession, after_seq: int) -> list[sse.Frame]:
    """The session's updates after `after_seq`, preceded by a `gap` frame if some left the window."""
    found = [u for u in updates(session) if u.seq > after_seq]
    frames = []
    if found and found[0].seq > after_seq + 1:
        frames.append(sse.Frame("gap", {"playerId": session.player_id, "fromSeq": after_seq + 1,
                                        "toSeq": found[0].seq - 1, "missed": found[0].seq - 1 - after_seq}))
    started = session.started_at_ms
    frames.extend(sse.Frame("difficulty", update_view(session.player_id, started, u), f"{started}-{u.seq}")
                  for u in found)
    return frames


def _reset_frame(player_id: str, started_at_ms: int | None) -> sse.Frame:
    return sse.Frame("reset", {"playerId": player_id, "previousSessionStartedAtMs": started_at_ms,
                               "message": "the session was reset; its updates are over"}, RESET_ID)


def frames_for(player_id: str, session: PlayerSession | None, seen: str) -> list[sse.Frame]:
    """What a client whose last event id is `seen` has not seen yet ([]: nothing new)."""
    if seen == "":
        return [] if session is None else _update_frames(session, last_seq(session) - 1)
    if seen == RESET_ID:
        return [] if session is None else _update_frames(session, 0)
    match = _SEEN.match(seen)
    if match is None:
        raise ValueError(seen)
    started, seq = int(match.group(1)), int(match.group(2))
    if session is None:
        return [_reset_frame(player_id, started)]
    if session.started_at_ms != started or seq > last_seq(session):
        return [_reset_frame(player_id, started), *_update_frames(session, 0)]
    return _update_frames(session, seq)


def _fetcher(client: df.DurableOrchestrationClient, player_id: str) -> sse.Fetch:
    async def fetch(seen: str) -> list[sse.Frame] | None:
        return frames_for(player_id, await load_session(client, player_id), seen)

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
    seen = sse.last_event_id(req)
    if seen not in ("", RESET_ID) and not _SEEN.match(seen):
        return error_response(400, "invalid Last-Event-ID", [field_error(
            "Last-Event-ID", "must be an id this stream sent: <sessionStartedAtMs>-<seq> or reset")])
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
