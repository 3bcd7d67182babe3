"""The two observations a practice session records: a chord-shape attempt and a graded performance.

Both are immutable values stamped with the caller's clock (`at_ms`, epoch milliseconds); the model
never reads the wall clock. Build them from untrusted data with `adaptive.validation`, which checks
every field; the constructors here trust their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attempt:
    """One try at a chord shape or exercise: did it succeed, how long it took, after how many tries."""

    success: bool
    time_ms: int
    attempts: int
    shape_id: str
    at_ms: int

    def to_dict(self) -> dict[str, Any]:
        """The window entry stored in the session (camelCase JSON)."""
        return {
            "kind": "attempt",
            "success": self.success,
            "timeMs": self.time_ms,
            "attempts": self.attempts,
            "shapeId": self.shape_id,
            "atMs": self.at_ms,
        }

    def to_operation_input(self) -> dict[str, Any]:
        """The `record_attempt` entity operation input: the request fields plus `now`."""
        return {
            "success": self.success,
            "timeMs": self.time_ms,
            "attempts": self.attempts,
            "shapeId": self.shape_id,
            "now": self.at_ms,
        }


@dataclass(frozen=True)
class Performance:
    """A graded performance report: accuracy, speed and consistency, each in [0, 1].

    The free-text `context` of the request is deliberately not part of the event: it does not
    influence the difficulty, and keeping up to 256 characters per window entry would break the
    session's size bound. The session keeps only the latest context.
    """

    accuracy: float
    speed: float
    consistency: float
    at_ms: int

    def to_dict(self) -> dict[str, Any]:
        """The window entry stored in the session (camelCase JSON)."""
        return {
            "kind": "performance",
            "accuracy": self.accuracy,
            "speed": self.speed,
            "consistency": self.consistency,
            "atMs": self.at_ms,
        }

    def to_operation_input(self, context: str) -> dict[str, Any]:
        """The `update_performance` entity operation input: the request fields plus `now`."""
        return {
            "accuracy": self.accuracy,
            "speed": self.speed,
            "consistency": self.consistency,
            "context": context,
            "now": self.at_ms,
        }


Event = Attempt | Performance
