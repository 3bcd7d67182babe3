"""The difficulty updates of a session, one per recorded event, as the live stream sends them.

A pure function of the stored session: the window's events are replayed from `window_start` (the
replay guarantee of `adaptive.session` makes each before/after pair exactly what the entity computed
when the event was recorded), so no extra state is kept for the stream. Each update has a sequence
number, its position in the session (1 for the session's first event), and the session is named by
its start time, so `(startedAtMs, seq)` identifies an update across resets.

The recommendation fields (`exercise`, `challengeLength`, `strategy`) depend on the difficulty and
learning rate alone, so they are computed here from the trackers; the suggested shapes, which also
depend on per-shape history not kept per event, are read from the recommended-exercise route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adaptive.difficulty import DifficultyTracker, explain, step
from adaptive.events import Attempt, Event
from adaptive.figures import figure
from adaptive.recommend import band_for, challenge_length, strategy_for
from adaptive.session import PlayerSession


@dataclass(frozen=True)
class Update:
    """One recorded event and the trackers just before and after it."""

    seq: int
    event: Event
    before: DifficultyTracker
    after: DifficultyTracker


def _events_before(tracker: DifficultyTracker) -> int:
    return tracker.attempts + tracker.performance_reports


def updates(session: PlayerSession) -> list[Update]:
    """The updates still in the session's window, oldest first (their seqs are consecutive)."""
    tracker = session.window_start
    first = _events_before(tracker) + 1
    found = []
    for offset, event in enumerate(session.window):
        after = step(tracker, event)
        found.append(Update(first + offset, event, tracker, after))
        tracker = after
    return found


def last_seq(session: PlayerSession) -> int:
    """The sequence number of the session's latest event."""
    return _events_before(session.tracker)


def latest_update(before: PlayerSession, after: PlayerSession) -> Update:
    """The update of the one event that turned `before` into `after`, without replaying the window.

    Equal to `updates(after)[-1]` (the replay guarantee), so the writer can publish what a reader
    of the stored window would compute.
    """
    return Update(last_seq(after), after.window[-1], before.tracker, after.tracker)


def _recommendation(tracker: DifficultyTracker) -> dict[str, Any]:
    difficulty = figure(tracker.difficulty)
    return {"exercise": band_for(difficulty).exercise, "challengeLength": challenge_length(difficulty),
            "strategy": strategy_for(figure(tracker.learning_rate))}


def update_view(player_id: str, started_at_ms: int, update: Update, reason: str | None = None) -> dict[str, Any]:
    """The `data` of one `difficulty` event of the stream.

    `reason` is `explain(update.before, update.after, update.event)`, passed in by a caller that
    has just computed it for its own answer (the entity's write), else computed here.
    """
    before, after = update.before, update.after
    band = band_for(figure(after.difficulty))
    previous, current = _recommendation(before), _recommendation(after)
    return {
        "playerId": player_id,
        "sessionStartedAtMs": started_at_ms,
        "seq": update.seq,
        "kind": "attempt" if isinstance(update.event, Attempt) else "performance",
        "atMs": update.event.at_ms,
        "previousDifficulty": figure(before.difficulty),
        "currentDifficulty": figure(after.difficulty),
        "targetDifficulty": figure(after.target_difficulty),
        "recentSuccessRate": figure(after.recent_success_rate),
        "inFlowZone": after.in_flow_zone,
        "band": {"exercise": band.exercise, "low": band.low, "high": band.high},
        "recommendation": {**current, "changed": current != previous, "previous": previous},
        "reason": explain(before, after, update.event) if reason is None else reason,
    }
