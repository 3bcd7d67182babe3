"""The next exercise for a player: a pure function of the session state.

- Exercise by difficulty band: beginner-chord-transitions below 0.3, intermediate-progressions below
  0.5, advanced-voicings below 0.7, expert-jazz-reharmonization from 0.7.
- Challenge length: round(4 + 8·difficulty) shapes, within 4..12 (4, 8, 12 at difficulty 0, 0.5, 1).
- Strategy by learning rate (the original's table): below 0.3 minimize-voice-leading, up to 0.7
  explore-families, above maximize-information-gain.
- Suggested shapes: as many tracked shapes as the challenge has places (fewer when fewer are tracked),
  by priority = 0.7·weakness + 0.3·staleness, where weakness = 1 - (successes + 1)/(attempts + 2) and
  staleness grows from 0 to 1 over 20 attempts spent on other shapes; ties go to the shape played
  longest ago, then to the name. The remaining places (`newShapes`) are for shapes of the band the
  player has not played yet, so challengeLength = len(suggestedShapes) + newShapes always.
- Each suggested shape's reason states only its own numbers: `weak: s/a successes` below a 60 %
  success rate, `review: s/a successes` otherwise, then how recently it was played (`stale: not played
  for N attempts` after 10 attempts on other shapes; a stale shape that is not weak says only that).

Band, challenge length and strategy are chosen from the reported figures (`adaptive.figures`), the
same numbers the rationale quotes, so the sentence and the parameters beside it always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptive.figures import figure, text
from adaptive.session import STALE_AFTER_ATTEMPTS, PlayerSession, ShapeStats


@dataclass(frozen=True)
class Band:
    """A difficulty range [low, high) and the exercise family that suits it."""

    exercise: str
    low: float
    high: float


BANDS: tuple[Band, ...] = (
    Band("beginner-chord-transitions", 0.0, 0.3),
    Band("intermediate-progressions", 0.3, 0.5),
    Band("advanced-voicings", 0.5, 0.7),
    Band("expert-jazz-reharmonization", 0.7, 1.0),
)
WEAK_BELOW = 0.6
WEAKNESS_WEIGHT = 0.7
STALENESS_WEIGHT = 0.3
MIN_CHALLENGE, MAX_CHALLENGE = 4, 12


def band_for(difficulty: float) -> Band:
    """The band containing `difficulty` (the last band also takes 1.0)."""
    for band in BANDS:
        if difficulty < band.high:
            return band
    return BANDS[-1]


def challenge_length(difficulty: float) -> int:
    """How many shapes the next challenge strings together: 4..12, growing with difficulty."""
    return max(MIN_CHALLENGE, min(MAX_CHALLENGE, round(MIN_CHALLENGE + 8 * difficulty)))


def strategy_for(learning_rate: float) -> str:
    """How to pick the shapes of the challenge, by how fast the player is learning."""
    if learning_rate < 0.3:
        return "minimize-voice-leading"
    if learning_rate <= 0.7:
        return "explore-families"
    return "maximize-information-gain"


@dataclass(frozen=True)
class ShapeFocus:
    """A tracked shape proposed for practice, with the reason it was picked."""

    shape_id: str
    priority: float
    success_rate: float
    successes: int
    attempts: int
    attempts_since_seen: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown in the recommendation's `parameters.focus`."""
        return {
            "shapeId": self.shape_id,
            "priority": figure(self.priority),
            "successRate": figure(self.success_rate),
            "successes": self.successes,
            "attempts": self.attempts,
            "attemptsSinceSeen": self.attempts_since_seen,
            "reason": self.reason,
        }


def _focus(shape_id: str, stats: ShapeStats, total_attempts: int) -> ShapeFocus:
    weakness = 1.0 - stats.mastery
    staleness = stats.staleness(total_attempts)
    since = stats.attempts_since_seen(total_attempts)
    counts = f"{stats.successes}/{stats.attempts} successes"
    recency = "just played" if since == 0 else f"last played {since} attempt(s) ago"
    if since >= STALE_AFTER_ATTEMPTS // 2:
        recency = f"stale: not played for {since} attempts"
    if figure(stats.success_rate) < WEAK_BELOW:
        reason = f"weak: {counts}, {recency}"
    else:
        reason = recency if recency.startswith("stale") else f"review: {counts}, {recency}"
    return ShapeFocus(
        shape_id=shape_id,
        priority=WEAKNESS_WEIGHT * weakness + STALENESS_WEIGHT * staleness,
        success_rate=stats.success_rate,
        successes=stats.successes,
        attempts=stats.attempts,
        attempts_since_seen=since,
        reason=reason,
    )


def focus_shapes(session: PlayerSession, top_k: int) -> list[ShapeFocus]:
    """The `top_k` weakest or stalest tracked shapes, highest priority first."""
    total = session.tracker.attempts
    ranked = sorted(
        (_focus(shape, stats, total) for shape, stats in session.shapes.items()),
        key=lambda f: (-f.priority, -f.attempts_since_seen, f.shape_id),
    )
    return ranked[:top_k]


@dataclass(frozen=True)
class Recommendation:
    """The next exercise, its parameters and a human-readable rationale."""

    exercise: str
    band: Band
    difficulty: float
    challenge_length: int
    strategy: str
    focus: tuple[ShapeFocus, ...]
    rationale: str

    def to_dict(self, player_id: str) -> dict[str, Any]:
        """The JSON answer of the recommended-exercise route."""
        return {
            "playerId": player_id,
            "exercise": self.exercise,
            "rationale": self.rationale,
            "parameters": {
                "difficulty": round(self.difficulty, 4),
                "band": {"low": self.band.low, "high": self.band.high},
                "challengeLength": self.challenge_length,
                "newShapes": self.challenge_length - len(self.focus),
                "strategy": self.strategy,
                "suggestedShapes": [f.shape_id for f in self.focus],
                "focus": [f.to_dict() for f in self.focus],
            },
        }


def recommend(session: PlayerSession) -> Recommendation:
    """The exercise that suits the session's current difficulty, focused on its weakest shapes."""
    tracker = session.tracker
    difficulty = figure(tracker.difficulty)
    learning_rate = figure(tracker.learning_rate)
    band = band_for(difficulty)
    length = challenge_length(difficulty)
    strategy = strategy_for(learning_rate)
    focus = tuple(focus_shapes(session, length))
    parts = [
        f"difficulty {text(difficulty)} is in the {band.exercise} band ({text(band.low)}-{text(band.high)})",
        f"learning rate {text(learning_rate)} suggests {strategy}",
    ]
    if focus:
        parts.append("focus on " + ", ".join(f"{f.shape_id} ({f.reason})" for f in focus))
    new = length - len(focus)
    if not focus:
        parts.append(f"challenge of {length} shapes, all new: no shapes played yet, so any shapes of the band will do")
    elif new:
        parts.append(f"challenge of {length} shapes: the {len(focus)} suggested and {new} new from the band")
    else:
        parts.append(f"challenge of {length} shapes: the {len(focus)} suggested")
    return Recommendation(
        exercise=band.exercise,
        band=band,
        difficulty=difficulty,
        challenge_length=length,
        strategy=strategy,
        focus=focus,
        rationale="; ".join(parts) + ".",
    )
