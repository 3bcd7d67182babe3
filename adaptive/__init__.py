"""Adaptive practice difficulty: a pure, deterministic model of a player's session (no Azure imports).

Modules: `events` (what is observed), `difficulty` (the flow-zone controller), `session` (bounded
per-player state), `recommend` (next exercise), `views` (route answers), `validation` (untrusted
input), `errors`.
"""

from adaptive.difficulty import DifficultyTracker, replay, step
from adaptive.errors import AdaptiveError, FieldError, StateError, ValidationError
from adaptive.events import Attempt, Event, Performance
from adaptive.recommend import Recommendation, recommend
from adaptive.session import PlayerSession

__all__ = [
    "AdaptiveError",
    "Attempt",
    "DifficultyTracker",
    "Event",
    "FieldError",
    "Performance",
    "PlayerSession",
    "Recommendation",
    "StateError",
    "ValidationError",
    "recommend",
    "replay",
    "step",
]
