"""The JSON answers of the player routes, computed from a session alone (no clock, no I/O).

Rates and difficulties are rounded to 4 decimals and times to 0.1 ms for readability; the stored
state keeps full precision.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from adaptive.difficulty import (
    DIFFICULTY_MAX,
    DIFFICULTY_MIN,
    FLOW_ZONE_HIGH,
    FLOW_ZONE_LOW,
    DifficultyTracker,
    explain,
)
from adaptive.events import Attempt, Event, Performance
from adaptive.figures import figure
from adaptive.recommend import band_for, recommend
from adaptive.session import MAX_SHAPES, WINDOW_SIZE, PlayerSession, ShapeStats

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_utc(epoch_ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC string with millisecond precision."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _r(value: float) -> float:
    return figure(value)


# Also by value, for the stats a cold entity has just decoded (new objects, equal to earlier ones).
@functools.lru_cache(maxsize=8192)
def _shape_fields(stats: ShapeStats) -> dict[str, Any]:
    return {
        "attempts": stats.attempts,
        "successes": stats.successes,
        "successRate": _r(stats.success_rate),
        "mastery": _r(stats.mastery),
        "averageTimeMs": round(stats.average_time_ms, 1),
        "bestTimeMs": stats.best_time_ms,
        "lastSeenAt": iso_utc(stats.last_seen_at_ms),
        "lastSeenAtMs": stats.last_seen_at_ms,
    }


def _recency(item: tuple[str, ShapeStats]) -> int:
    return -item[1].last_seen_attempt


def shapes_view(session: PlayerSession) -> dict[str, dict[str, Any]]:
    """Per-shape mastery, most recently played first.

    A shape's view is a pure function of its (frozen) stats, and most shapes are unchanged from one
    attempt to the next while every answer lists them all, so each stats' view is built once
    (`ShapeStats.derived`, issue 14), and equal stats share a view (a cold entity decodes new ones);
    the copies keep those views safe from callers changing an answer.
    """
    build = _shape_fields
    return {shape: dict(stats.derived(build)) for shape, stats in sorted(session.shapes.items(), key=_recency)}


def _difficulty_fields(tracker: DifficultyTracker) -> dict[str, Any]:
    return {
        "currentDifficulty": _r(tracker.difficulty),
        "targetDifficulty": _r(tracker.target_difficulty),
        "learningRate": _r(tracker.learning_rate),
        "recentSuccessRate": _r(tracker.recent_success_rate),
    }


def stats_view(session: PlayerSession) -> dict[str, Any]:
    """The player's statistics: what record-performance and player-stats answer."""
    tracker = session.tracker
    return {
        "playerId": session.player_id,
        "totalAttempts": tracker.attempts,
        "totalSuccesses": tracker.successes,
        "successRate": _r(tracker.success_rate),
        "averageTimeMs": round(tracker.average_time_ms, 1),
        **_difficulty_fields(tracker),
        "inFlowZone": tracker.in_flow_zone,
        "shapes": shapes_view(session),
    }


def difficulty_view(session: PlayerSession) -> dict[str, Any]:
    """The current difficulty, its target, the flow zone and the band it selects."""
    tracker = session.tracker
    return {
        "playerId": session.player_id,
        **_difficulty_fields(tracker),
        "inFlowZone": tracker.in_flow_zone,
        "flowZone": {"low": FLOW_ZONE_LOW, "high": FLOW_ZONE_HIGH},
        "bounds": {"min": DIFFICULTY_MIN, "max": DIFFICULTY_MAX},
        "band": band_for(figure(tracker.difficulty)).exercise,
    }


def recommendation_view(session: PlayerSession) -> dict[str, Any]:
    """The recommended exercise with rationale and parameters."""
    return recommend(session).to_dict(session.player_id)


def _event_view(event: Event) -> dict[str, Any]:
    view = event.to_dict()
    view["at"] = iso_utc(event.at_ms)
    return view


def session_view(session: PlayerSession) -> dict[str, Any]:
    """The full session: times, aggregates, difficulty, the history window and per-shape stats."""
    tracker = session.tracker
    return {
        "playerId": session.player_id,
        "startedAt": iso_utc(session.started_at_ms),
        "startedAtMs": session.started_at_ms,
        "lastActivityAt": iso_utc(session.last_activity_at_ms),
        "lastActivityAtMs": session.last_activity_at_ms,
        "durationMs": session.duration_ms,
        "totalAttempts": tracker.attempts,
        "totalSuccesses": tracker.successes,
        "performanceReports": tracker.performance_reports,
        "successRate": _r(tracker.success_rate),
        "averageTimeMs": round(tracker.average_time_ms, 1),
        **_difficulty_fields(tracker),
        "estimatedSkill": _r(tracker.skill),
        "predictedSuccess": _r(tracker.predicted_success),
        "lastContext": session.last_context,
        "windowSize": WINDOW_SIZE,
        "maxShapes": MAX_SHAPES,
        "history": [_event_view(event) for event in session.window],
        "shapes": shapes_view(session),
    }


def performance_view(before: PlayerSession, after: PlayerSession, performance: Performance,
                     context: str) -> dict[str, Any]:
    """The answer to update-performance: the new difficulty and why it moved."""
    reason = explain(before.tracker, after.tracker, performance)
    if context:
        reason = f"{reason} (context: {context})"
    return {
        "playerId": after.player_id,
        "previousDifficulty": _r(before.tracker.difficulty),
        "currentDifficulty": _r(after.tracker.difficulty),
        "targetDifficulty": _r(after.tracker.target_difficulty),
        "recentSuccessRate": _r(after.tracker.recent_success_rate),
        "reason": reason,
    }


def attempt_reason(before: PlayerSession, after: PlayerSession, attempt: Attempt) -> str:
    """Why the difficulty moved after an attempt (for logs and the stats answer)."""
    return explain(before.tracker, after.tracker, attempt)
