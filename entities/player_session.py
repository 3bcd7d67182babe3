"""The PlayerSession durable entity: one player's adaptive practice session, keyed by player id.

The entity owns the session state (a `PlayerSession.to_dict()` JSON object) and serializes every
change to it; the model in `adaptive` does the work. Operations and their input / result:

- `record_attempt`  {success, timeMs, attempts, shapeId, now} -> stats after the attempt + `reason`
- `update_performance` {accuracy, speed, consistency, context?, now}
  -> {playerId, previousDifficulty, currentDifficulty, targetDifficulty, recentSuccessRate, reason}
- both writes add `update`: the event's live-stream update (`adaptive.updates.update_view`), which
  the write route publishes to the player's event streams and leaves out of its HTTP answer
- `get_stats`, `get_difficulty`, `get_recommended_exercise`, `get_session` -> the matching view
- `get_state` -> the stored state as is
- `reset` -> {playerId, reset: true, existed}; deletes the entity

`now` is the caller's clock (epoch ms or ISO 8601): the entity never reads the wall clock, so the
model stays deterministic. A read on a player never seen returns null and leaves no entity behind.
An invalid input or a corrupt stored state raises, which the SDK reports as that operation's error
without changing the state.
"""


import logging
from collections.abc import Callable, Mapping
from typing import Any

import azure.durable_functions as df

import telemetry
from adaptive.errors import ValidationError
from adaptive.session import PlayerSession
from adaptive.updates import latest_update, update_view
from adaptive.validation import parse_attempt, parse_now, parse_performance, validate_player_id
from adaptive.views import (
    attempt_reason,
    difficulty_view,
    performance_view,
    recommendation_view,
    session_view,
    stats_view,
)
from entities.session_cache import SessionCache

ENTITY_NAME = "PlayerSession"

bp = df.Blueprint()
logger = logging.getLogger(__name__)
_sessions = SessionCache()  # decoded states, reused while the stored state is unchanged (issue 14)


class UnknownOperationError(Exception):
    """The entity was asked for an operation it does not have."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"{ENTITY_NAME} has no operation {operation!r}; known: {', '.join(OPERATIONS)}")
        self.operation = operation


def _record_attempt(session: PlayerSession | None, player_id: str,
                    payload: Mapping[str, Any]) -> tuple[Any, PlayerSession]:
    now_ms = parse_now(payload.get("now"))
    attempt = parse_attempt(payload, now_ms)
    before = session if session is not None else PlayerSession.new(player_id, now_ms)
    after = before.record_attempt(attempt)
    reason = attempt_reason(before, after, attempt)
    telemetry.record_attempt(attempt.success, after.tracker.difficulty)
    logger.info("%s@%s record_attempt: %s", ENTITY_NAME, player_id, reason)
    return {**stats_view(after), "reason": reason, "update": _update(before, after, reason)}, after


def _update_performance(session: PlayerSession | None, player_id: str,
                        payload: Mapping[str, Any]) -> tuple[Any, PlayerSession]:
    now_ms = parse_now(payload.get("now"))
    performance, context = parse_performance(payload, now_ms)
    before = session if session is not None else PlayerSession.new(player_id, now_ms)
    after = before.update_performance(performance, context)
    result = performance_view(before, after, performance, context)
    telemetry.observe_difficulty(after.tracker.difficulty)
    logger.info("%s@%s update_performance: %s", ENTITY_NAME, player_id, result["reason"])
    return {**result, "update": _update(before, after)}, after


def _update(before: PlayerSession, after: PlayerSession, reason: str | None = None) -> dict[str, Any]:
    """The stream update of the event `after` has just recorded (what the stream computes from the window).

    `reason`, when given, is the attempt's `attempt_reason`: the very sentence the update explains.
    """
    return update_view(after.player_id, after.started_at_ms, latest_update(before, after), reason)


WRITES: dict[str, Callable[[PlayerSession | None, str, Mapping[str, Any]], tuple[Any, PlayerSession]]] = {
    "record_attempt": _record_attempt,
    "update_performance": _update_performance,
}
READS: dict[str, Callable[[PlayerSession], Any]] = {
    "get_stats": stats_view,
    "get_difficulty": difficulty_view,
    "get_recommended_exercise": recommendation_view,
    "get_session": session_view,
    "get_state": PlayerSession.to_dict,
}
OPERATIONS: tuple[str, ...] = (*WRITES, *READS, "reset")


def _operation_input(context: df.DurableEntityContext) -> Mapping[str, Any]:
    try:
        value = context.get_input(expected_type=dict)
    except (TypeError, ValueError) as exc:
        raise ValidationError.single("input", f"is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise ValidationError.single("input", f"must be a JSON object, got {type(value).__name__}")
    return value


def run_operation(context: df.DurableEntityContext) -> None:
    """Run one operation of the batch against the stored session (the body of the entity function)."""
    operation = str(context.operation_name)
    player_id = validate_player_id(context.entity_key, "entity key")
    stored = context.get_state(lambda: None, expected_type=dict)
    session = None if stored is None else _sessions.decode(player_id, stored)

    if operation == "reset":
        # set_result marks the entity as existing, so the deletion must come after it.
        context.set_result({"playerId": player_id, "reset": True, "existed": session is not None})
        context.destruct_on_exit()
        _sessions.forget(player_id)
        logger.info("%s@%s reset (existed: %s)", ENTITY_NAME, player_id, session is not None)
        return
    write = WRITES.get(operation)
    if write is not None:
        result, updated = write(session, player_id, _operation_input(context))
        state = updated.state()
        context.set_state(state)
        _sessions.remember(player_id, state, updated.as_decoded())
        context.set_result(result)
        return
    read = READS.get(operation)
    if read is None:
        raise UnknownOperationError(operation)
    if session is None:
        context.set_result(None)
        context.destruct_on_exit()  # a read must not create the entity
        return
    context.set_result(read(session))


@bp.entity_trigger(context_name="context", entity_name=ENTITY_NAME)
def player_session_entity(context: df.DurableEntityContext) -> None:
    """The PlayerSession entity function; see the module docstring for its operations."""
    run_operation(context)
