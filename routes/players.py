"""HTTP routes of adaptive player sessions: record attempts, report performance, read views, reset.

Writes run on the PlayerSession entity through `call_entity`, so each answer reflects the caller's
own change (read-your-writes). Reads never touch the entity: they fetch its state with
`read_entity_state` (which cannot create it) and compute the view with the pure model, so a player
never seen stays unseen and reads 404. Every request is validated before any durable call; a rejected
request changes nothing. This module is the only place that reads the wall clock, and passes it to
the entity as `now`.

Note: no `from __future__ import annotations` here, because the Functions worker inspects the
parameter annotations of the functions at runtime.
"""

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import azure.durable_functions as df
import azure.functions as func

import telemetry
from adaptive.errors import StateError, ValidationError
from adaptive.session import PlayerSession
from adaptive.validation import parse_performance_request, parse_record_request, validate_player_id
from adaptive.views import difficulty_view, recommendation_view, session_view, stats_view
from entities.player_session import ENTITY_NAME
from routes import player_changes, update_buffer
from routes.durable_calls import EntityCallError, call_entity
from routes.openapi import unknown_fields
from routes.responses import (
    RequestError,
    backend_error,
    error_response,
    from_request_error,
    invalid_request,
    json_response,
    not_found,
    read_json_object,
)

bp = df.Blueprint()
logger = logging.getLogger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def invalid(exc: ValidationError) -> func.HttpResponse:
    return error_response(400, f"invalid request: {exc}", [e.to_dict() for e in exc.errors])


def _parse_body(req: func.HttpRequest, schema: str, parse: Callable[[dict[str, Any], int], Any]) -> Any:
    """Read the body and parse it; raise RequestError listing every invalid and every unknown field."""
    body = read_json_object(req)
    unknown = unknown_fields(schema, body)
    try:
        parsed = parse(body, _now_ms())
    except ValidationError as exc:
        raise invalid_request([e.to_dict() for e in exc.errors] + unknown) from None
    if unknown:
        raise invalid_request(unknown)
    return parsed


def route_player_id(req: func.HttpRequest) -> str:
    return validate_player_id(req.route_params.get("playerId"), "playerId")


async def _run(client: df.DurableOrchestrationClient, player_id: str, operation: str,
               operation_input: Any = None) -> func.HttpResponse:
    """Run a write operation on the player's entity and answer with its result."""
    telemetry.tag_span({"ga.player_id": player_id, "ga.operation": operation})
    try:
        result = await call_entity(client, ENTITY_NAME, player_id, operation, operation_input)
    except EntityCallError as exc:
        logger.warning("%s@%s %s failed: %s", ENTITY_NAME, player_id, operation, exc)
        if exc.timed_out:
            return backend_error(504, "the player session did not answer in time", exc)
        return backend_error(500, f"{operation} failed", exc)
    except aiohttp.ClientError as exc:
        logger.warning("%s@%s %s: durable backend unreachable: %s", ENTITY_NAME, player_id, operation, exc)
        return backend_error(503, "durable backend unavailable", exc)
    answer = update_buffer.take_update(player_id, operation, result)
    player_changes.notify(player_id)
    return json_response(answer)


class SessionUnreadable(Exception):
    """The stored session could not be read; `response` is the error answer to give."""

    def __init__(self, response: func.HttpResponse) -> None:
        super().__init__("the player session could not be read")
        self.response = response


async def load_session(client: df.DurableOrchestrationClient, player_id: str) -> PlayerSession | None:
    """The player's stored session, None if there is none; never creates it. Raises SessionUnreadable."""
    try:
        response = await client.read_entity_state(df.EntityId(ENTITY_NAME, player_id))
    except aiohttp.ClientError as exc:
        logger.warning("%s@%s read failed: %s", ENTITY_NAME, player_id, exc)
        raise SessionUnreadable(backend_error(503, "durable backend unavailable", exc)) from exc
    except Exception as exc:  # the SDK raises a bare Exception for unexpected status codes
        logger.warning("%s@%s read failed: %s", ENTITY_NAME, player_id, exc)
        raise SessionUnreadable(backend_error(502, "could not read the player session", exc)) from exc
    state = response.entity_state
    if not response.entity_exists or state is None:
        return None
    try:
        return PlayerSession.from_dict(json.loads(state) if isinstance(state, str) else state)
    except (StateError, json.JSONDecodeError) as exc:
        logger.error("%s@%s stored state is unreadable: %s", ENTITY_NAME, player_id, exc)
        raise SessionUnreadable(backend_error(500, "stored player session is unreadable", exc)) from exc


async def _read(req: func.HttpRequest, client: df.DurableOrchestrationClient,
                view: Callable[[PlayerSession], Any]) -> func.HttpResponse:
    """Answer a GET with `view` of the stored session, or 404 when the player has none."""
    try:
        player_id = route_player_id(req)
    except ValidationError as exc:
        return invalid(exc)
    telemetry.tag_span({"ga.player_id": player_id})
    try:
        session = await load_session(client, player_id)
    except SessionUnreadable as exc:
        return exc.response
    if session is None:
        return not_found("player not found", "playerId", player_id)
    return json_response(view(session))


@bp.route(route="adaptive-ai/record-performance", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def players_record_performance(req: func.HttpRequest,
                                     client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Record one attempt `{playerId, success, timeMs, attempts, shapeId}`; answer the stats after it."""
    try:
        player_id, attempt = _parse_body(req, "RecordPerformanceRequest", parse_record_request)
    except RequestError as exc:
        return from_request_error(exc)
    return await _run(client, player_id, "record_attempt", attempt.to_operation_input())


@bp.route(route="adaptive-ai/update-performance", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def players_update_performance(req: func.HttpRequest,
                                     client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Report `{playerId, accuracy, speed, consistency, context}`; answer the new difficulty and why."""
    try:
        player_id, performance, context = _parse_body(req, "UpdatePerformanceRequest", parse_performance_request)
    except RequestError as exc:
        return from_request_error(exc)
    return await _run(client, player_id, "update_performance", performance.to_operation_input(context))


@bp.route(route="adaptive-ai/player-stats/{playerId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def players_stats(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The player's statistics, or 404 for a player never seen."""
    return await _read(req, client, stats_view)


@bp.route(route="adaptive-ai/difficulty/{playerId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def players_difficulty(req: func.HttpRequest,
                             client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The player's current and target difficulty, or 404 for a player never seen."""
    return await _read(req, client, difficulty_view)


@bp.route(route="adaptive-ai/recommended-exercise/{playerId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def players_recommended_exercise(req: func.HttpRequest,
                                       client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The next exercise for the player, or 404 for a player never seen."""
    return await _read(req, client, recommendation_view)


@bp.route(route="adaptive-ai/session/{playerId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def players_session(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The full session (times, history window, per-shape stats), or 404 for a player never seen."""
    return await _read(req, client, session_view)


@bp.route(route="adaptive-ai/reset-session/{playerId}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def players_reset_session(req: func.HttpRequest,
                                client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Delete the player's session; afterwards the player reads as new (404)."""
    try:
        player_id = route_player_id(req)
    except ValidationError as exc:
        return invalid(exc)
    return await _run(client, player_id, "reset")
