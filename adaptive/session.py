"""A player's practice session: the difficulty tracker, a bounded event window and per-shape mastery.

State is bounded whatever the history length, so it fits a durable entity: at most `WINDOW_SIZE` (32)
recent events and `MAX_SHAPES` (24) shapes; when a 25th shape is played, the shape whose last attempt
is oldest is evicted. Counters grow only in digits. With every id, string and number at its longest the
state serializes to about 12 KB of JSON (tested); sessions with ordinary chord names take about 8 KB.

Replay guarantee. `window_start` is the tracker as it stood before the oldest event still in the
window; when an event leaves the window it is folded into `window_start`. Hence, for every session
built by `record_attempt` / `update_performance`:

    replay(session.window, session.window_start) == session.tracker            (any history length)

and, for histories no longer than the window, `window_start` is a new player's tracker, so replaying
the stored window from a fresh state gives exactly the incremental difficulty and aggregates.

The session never reads the clock: every event carries the caller's `at_ms`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from adaptive.difficulty import DifficultyTracker, replay, step
from adaptive.errors import StateError, ValidationError
from adaptive.events import Attempt, Event, Performance
from adaptive.validation import (
    MAX_ATTEMPTS,
    MAX_EPOCH_MS,
    MAX_TIME_MS,
    SHAPE_ID_MAX_CHARS,
    SHAPE_ID_PATTERN,
    parse_attempt,
    parse_now,
    parse_performance,
    validate_player_id,
)

SCHEMA_VERSION = 1
WINDOW_SIZE = 32
MAX_SHAPES = 24
STALE_AFTER_ATTEMPTS = 20

_T = TypeVar("_T")


@dataclass(frozen=True)
class ShapeStats:
    """Mastery of one chord shape over the session."""

    attempts: int
    successes: int
    total_time_ms: int
    best_time_ms: int | None
    last_seen_at_ms: int
    last_seen_attempt: int
    # One value derived from these stats, kept by `derived` (not part of the value)
    _derived: tuple[Callable[[ShapeStats], Any], Any] | None = field(
        default=None, init=False, repr=False, compare=False)

    def derived(self, build: Callable[[ShapeStats], _T]) -> _T:
        """`build(self)`, computed once per instance for the latest `build` asked for (stats are immutable).

        Every answer lists every shape and most shapes are unchanged from one attempt to the next, so
        the per-shape view (`adaptive.views`) is built once per stats rather than once per answer.
        """
        memo = self._derived
        if memo is not None and memo[0] is build:
            return cast(_T, memo[1])
        value = build(self)
        object.__setattr__(self, "_derived", (build, value))
        return value

    @property
    def success_rate(self) -> float:
        """Successes over attempts on this shape."""
        return self.successes / self.attempts

    @property
    def average_time_ms(self) -> float:
        """Mean time of the attempts on this shape."""
        return self.total_time_ms / self.attempts

    @property
    def mastery(self) -> float:
        """Laplace-smoothed success rate, (successes + 1) / (attempts + 2): one lucky try is not mastery."""
        return (self.successes + 1) / (self.attempts + 2)

    def attempts_since_seen(self, total_attempts: int) -> int:
        """How many session attempts have happened since this shape was last played."""
        return max(0, total_attempts - self.last_seen_attempt)

    def staleness(self, total_attempts: int) -> float:
        """0 when just played, 1 after `STALE_AFTER_ATTEMPTS` attempts on other shapes."""
        return min(1.0, self.attempts_since_seen(total_attempts) / STALE_AFTER_ATTEMPTS)

    @classmethod
    def first(cls, attempt: Attempt, attempt_number: int) -> ShapeStats:
        """The stats of a shape after its first attempt, the session's `attempt_number`-th."""
        return cls(
            attempts=1,
            successes=1 if attempt.success else 0,
            total_time_ms=attempt.time_ms,
            best_time_ms=attempt.time_ms if attempt.success else None,
            last_seen_at_ms=attempt.at_ms,
            last_seen_attempt=attempt_number,
        )

    def updated(self, attempt: Attempt, attempt_number: int) -> ShapeStats:
        """These stats after one more attempt, the session's `attempt_number`-th."""
        best = self.best_time_ms
        if attempt.success and (best is None or attempt.time_ms < best):
            best = attempt.time_ms
        return ShapeStats(
            attempts=self.attempts + 1,
            successes=self.successes + (1 if attempt.success else 0),
            total_time_ms=self.total_time_ms + attempt.time_ms,
            best_time_ms=best,
            last_seen_at_ms=max(self.last_seen_at_ms, attempt.at_ms),
            last_seen_attempt=attempt_number,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (camelCase keys); `from_dict` restores equal stats."""
        return {
            "attempts": self.attempts,
            "successes": self.successes,
            "totalTimeMs": self.total_time_ms,
            "bestTimeMs": self.best_time_ms,
            "lastSeenAtMs": self.last_seen_at_ms,
            "lastSeenAttempt": self.last_seen_attempt,
        }

    @classmethod
    def from_dict(cls, data: object, path: str) -> ShapeStats:
        """Read stats written by `to_dict`; raise StateError naming the bad key under `path`."""
        stats = cls._well_formed(data)
        return stats if stats is not None else cls._validated(data, path)

    @classmethod
    def _well_formed(cls, data: object) -> ShapeStats | None:
        """The stats of an entry as `to_dict` writes it, accepted on the tests `_validated` makes (None
        for anything else): a cold entity decodes all its shapes on every operation."""
        if type(data) is dict:
            attempts, successes, total, best, at_ms, number = (
                data.get("attempts"), data.get("successes"), data.get("totalTimeMs"), data.get("bestTimeMs"),
                data.get("lastSeenAtMs"), data.get("lastSeenAttempt"))
            if (type(attempts) is int and type(successes) is int and type(total) is int and type(at_ms) is int
                    and type(number) is int and (best is None or type(best) is int)
                    and attempts >= 1 and 0 <= successes <= attempts and total >= 1 and at_ms >= 0 and number >= 1
                    and (best is None or best >= 1) and (best is None) == (successes == 0)):
                return cls(attempts, successes, total, best, at_ms, number)
        return None

    @classmethod
    def _validated(cls, data: object, path: str) -> ShapeStats:
        if not isinstance(data, Mapping):
            raise StateError(path, "expected an object")
        attempts = _int(data, "attempts", path, low=1)
        successes = _int(data, "successes", path)
        best = data.get("bestTimeMs")
        stats = cls(
            attempts=attempts,
            successes=successes,
            total_time_ms=_int(data, "totalTimeMs", path, low=1),
            best_time_ms=None if best is None else _int(data, "bestTimeMs", path, low=1),
            last_seen_at_ms=_int(data, "lastSeenAtMs", path),
            last_seen_attempt=_int(data, "lastSeenAttempt", path, low=1),
        )
        if successes > attempts or (best is None) != (successes == 0):
            raise StateError(path, "successes and bestTimeMs are inconsistent with attempts")
        return stats


def _int(data: Mapping[str, Any], key: str, path: str, low: int = 0) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise StateError(f"{path}.{key}", f"expected an integer >= {low}")
    return value


def _with_attempt(shapes: Mapping[str, ShapeStats], attempt: Attempt,
                  attempt_number: int) -> dict[str, ShapeStats]:
    """`shapes` updated with `attempt`, evicting the stalest shape beyond `MAX_SHAPES`."""
    updated = dict(shapes)
    current = updated.get(attempt.shape_id)
    updated[attempt.shape_id] = (
        ShapeStats.first(attempt, attempt_number) if current is None
        else current.updated(attempt, attempt_number)
    )
    while len(updated) > MAX_SHAPES:
        stalest = min(updated, key=lambda shape: (updated[shape].last_seen_attempt, shape))
        del updated[stalest]
    return updated


@dataclass(frozen=True)
class PlayerSession:
    """One player's session state: what the PlayerSession entity stores, as a value.

    Instances are immutable by convention (`shapes` is a dict that is never mutated in place); every
    update returns a new session.
    """

    player_id: str
    started_at_ms: int
    last_activity_at_ms: int
    tracker: DifficultyTracker = field(default_factory=DifficultyTracker)
    window_start: DifficultyTracker = field(default_factory=DifficultyTracker)
    window: tuple[Event, ...] = ()
    shapes: Mapping[str, ShapeStats] = field(default_factory=dict)
    last_context: str = ""
    # `state()`'s JSON, once asked for (not part of the value: replace() and from_dict start without it)
    _state: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def new(cls, player_id: str, now_ms: int) -> PlayerSession:
        """A fresh session for `player_id` started at `now_ms` (difficulty 0.4, see `adaptive.difficulty`)."""
        return cls(player_id=player_id, started_at_ms=now_ms, last_activity_at_ms=now_ms)

    @property
    def duration_ms(self) -> int:
        """Time from the session's start to its latest event."""
        return self.last_activity_at_ms - self.started_at_ms

    def _with_event(self, event: Event, shapes: Mapping[str, ShapeStats], last_context: str) -> PlayerSession:
        """The session after `event` (already folded into `shapes` if an attempt), built in one go."""
        window = (*self.window, event)
        window_start = self.window_start
        while len(window) > WINDOW_SIZE:
            window_start = step(window_start, window[0])
            window = window[1:]
        after = PlayerSession(
            player_id=self.player_id,
            started_at_ms=self.started_at_ms,
            last_activity_at_ms=max(self.last_activity_at_ms, event.at_ms),
            tracker=step(self.tracker, event),
            window_start=window_start,
            window=window,
            shapes=shapes,
            last_context=last_context,
        )
        if self._state is not None:
            object.__setattr__(after, "_state", _next_state(self._state, after, event))
        return after

    def record_attempt(self, attempt: Attempt) -> PlayerSession:
        """The session after `attempt`: difficulty, aggregates, window and shape mastery updated."""
        attempt_number = self.tracker.attempts + 1  # the attempt count `step` gives the new tracker
        shapes = _with_attempt(self.shapes, attempt, attempt_number)
        return self._with_event(attempt, shapes, self.last_context)

    def update_performance(self, performance: Performance, context: str) -> PlayerSession:
        """The session after a graded performance report; `context` replaces the last one."""
        return self._with_event(performance, self.shapes, context)

    def replay_window(self, start: DifficultyTracker | None = None) -> DifficultyTracker:
        """Fold the stored window from `start` (default: a new player's tracker)."""
        return replay(self.window, start)

    def as_decoded(self) -> PlayerSession:
        """This session exactly as `from_dict(self.to_dict())` reads it back: equal, and of the same types.

        The one difference decoding makes: a tracker's `recent_time_ms` set by its first attempt is
        that attempt's integer time, which decoding (and every later step) turns into a float. A cache
        of decoded sessions must hold what decoding gives, or a later write would store `900` where
        the decoded path stores `900.0`.
        """
        tracker, window_start = _as_decoded(self.tracker), _as_decoded(self.window_start)
        if tracker is self.tracker and window_start is self.window_start:
            return self
        decoded = replace(self, tracker=tracker, window_start=window_start)
        if self._state is not None:
            state = {**self._state, "tracker": tracker.to_dict(), "windowStart": window_start.to_dict()}
            object.__setattr__(decoded, "_state", state)
        return decoded

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with camelCase keys; `from_dict` restores an equal session."""
        return {
            "schemaVersion": SCHEMA_VERSION,
            "playerId": self.player_id,
            "startedAtMs": self.started_at_ms,
            "lastActivityAtMs": self.last_activity_at_ms,
            "tracker": self.tracker.to_dict(),
            "windowStart": self.window_start.to_dict(),
            "window": [event.to_dict() for event in self.window],
            "shapes": {shape: self.shapes[shape].to_dict() for shape in sorted(self.shapes)},
            "lastContext": self.last_context,
        }

    def state(self) -> dict[str, Any]:
        """`to_dict()`, shared: equal to it, but its nested values are shared with the states of the
        sessions this one was built from and will build, so nobody may change it (the entity only
        stores it and compares it). Built from the previous session's state when that one was asked
        for (one event in, at most one out), so an entity pays for what changed, not for the window.
        """
        state = self._state
        if state is None:
            state = self.to_dict()
            object.__setattr__(self, "_state", state)
        return state

    @classmethod
    def from_dict(cls, data: object) -> PlayerSession:
        """Read a session written by `to_dict`; raise StateError saying where it is malformed."""
        if not isinstance(data, Mapping):
            raise StateError("$", "expected an object")
        if data.get("schemaVersion") != SCHEMA_VERSION:
            raise StateError("schemaVersion", f"expected {SCHEMA_VERSION}, got {data.get('schemaVersion')!r}")
        try:
            player_id = validate_player_id(data.get("playerId"))
            started = parse_now(data.get("startedAtMs"), "startedAtMs")
            last = parse_now(data.get("lastActivityAtMs"), "lastActivityAtMs")
        except ValidationError as exc:
            raise StateError(exc.fields[0], str(exc)) from None
        context = data.get("lastContext", "")
        if not isinstance(context, str):
            raise StateError("lastContext", "expected a string")
        return cls(
            player_id=player_id,
            started_at_ms=started,
            last_activity_at_ms=last,
            tracker=DifficultyTracker.from_dict(data.get("tracker"), "tracker"),
            window_start=DifficultyTracker.from_dict(data.get("windowStart"), "windowStart"),
            window=_window_from_json(data.get("window")),
            shapes=_shapes_from_json(data.get("shapes")),
            last_context=context,
        )


def _event_from_json(entry: object, path: str) -> Event:
    stored = _well_formed_event(entry)
    return stored if stored is not None else _validated_event(entry, path)


def _validated_event(entry: object, path: str) -> Event:
    """A window entry read through the full request validation; StateError saying what is wrong."""
    if not isinstance(entry, Mapping):
        raise StateError(path, "expected an object")
    try:
        at_ms = parse_now(entry.get("atMs"), "atMs")
        kind = entry.get("kind")
        if kind == "attempt":
            return parse_attempt(entry, at_ms)
        if kind == "performance":
            return parse_performance(entry, at_ms)[0]
    except ValidationError as exc:
        raise StateError(path, str(exc)) from None
    raise StateError(f"{path}.kind", f"expected 'attempt' or 'performance', got {kind!r}")


def _well_formed_event(entry: object) -> Event | None:
    """The event of a window entry as `to_dict` writes it, accepted on a few type and range tests (the
    ones `parse_attempt` / `parse_performance` make, which give the very same event for such an entry);
    None for anything else, which the full validation then reads or rejects with its messages.

    Decoding is what an entity pays on every operation when its worker has no cached session (on
    Azure, after the entity was unloaded), and the full validation is built for requests: it collects
    every error of a body at once, about 3 us per stored event.
    """
    if type(entry) is not dict:
        return None
    at_ms = entry.get("atMs")
    if type(at_ms) is not int or not 0 <= at_ms <= MAX_EPOCH_MS:
        return None
    kind = entry.get("kind")
    if kind == "attempt":
        success, time_ms, attempts, shape = (entry.get("success"), entry.get("timeMs"), entry.get("attempts"),
                                             entry.get("shapeId"))
        if (type(success) is bool and type(time_ms) is int and 0 < time_ms <= MAX_TIME_MS
                and type(attempts) is int and 1 <= attempts <= MAX_ATTEMPTS and type(shape) is str
                and 0 < len(shape) <= SHAPE_ID_MAX_CHARS and SHAPE_ID_PATTERN.fullmatch(shape) is not None):
            return Attempt(success, time_ms, attempts, shape, at_ms)
    elif kind == "performance" and "context" not in entry:  # a context is validated by the full path
        accuracy, speed, consistency = entry.get("accuracy"), entry.get("speed"), entry.get("consistency")
        if (type(accuracy) is float and type(speed) is float and type(consistency) is float
                and 0.0 <= accuracy <= 1.0 and 0.0 <= speed <= 1.0 and 0.0 <= consistency <= 1.0):  # NaN fails
            return Performance(accuracy, speed, consistency, at_ms)
    return None


def _window_from_json(data: object) -> tuple[Event, ...]:
    if not isinstance(data, list):
        raise StateError("window", "expected an array")
    if len(data) > WINDOW_SIZE:
        raise StateError("window", f"holds {len(data)} events, more than {WINDOW_SIZE}")
    return tuple(_event_from_json(entry, f"window[{i}]") for i, entry in enumerate(data))


def _shapes_from_json(data: object) -> dict[str, ShapeStats]:
    if not isinstance(data, Mapping):
        raise StateError("shapes", "expected an object")
    if len(data) > MAX_SHAPES:
        raise StateError("shapes", f"holds {len(data)} shapes, more than {MAX_SHAPES}")
    shapes: dict[str, ShapeStats] = {}
    for shape, stats in data.items():
        if not isinstance(shape, str) or not 0 < len(shape) <= SHAPE_ID_MAX_CHARS \
                or SHAPE_ID_PATTERN.fullmatch(shape) is None:
            raise StateError("shapes", f"invalid shape id {shape!r}")
        shapes[shape] = ShapeStats.from_dict(stats, f"shapes[{shape!r}]")
    return shapes


def _as_decoded(tracker: DifficultyTracker) -> DifficultyTracker:
    recent = tracker.recent_time_ms
    return tracker if recent is None or type(recent) is float else replace(tracker, recent_time_ms=float(recent))


def _next_state(previous: dict[str, Any], after: PlayerSession, event: Event) -> dict[str, Any]:
    """`after.to_dict()`, built from `previous` (the state of the session `event` turned into `after`)."""
    window: list[Any] = previous["window"]
    kept = len(after.window) - 1
    shapes: dict[str, Any] = previous["shapes"]
    if isinstance(event, Attempt):
        shape = event.shape_id
        if shape in shapes and len(after.shapes) == len(shapes):  # same shapes, same (sorted) order
            shapes = {**shapes, shape: after.shapes[shape].to_dict()}
        else:
            shapes = {name: after.shapes[name].to_dict() if name == shape else shapes[name]
                      for name in sorted(after.shapes)}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "playerId": after.player_id,
        "startedAtMs": after.started_at_ms,
        "lastActivityAtMs": after.last_activity_at_ms,
        "tracker": after.tracker.to_dict(),
        "windowStart": after.window_start.to_dict(),
        "window": [*window[len(window) - kept:], event.to_dict()],
        "shapes": shapes,
        "lastContext": after.last_context,
    }
