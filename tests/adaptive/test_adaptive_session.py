"""The player session: JSON round trip, bounded size, shape mastery and eviction, aggregates, views."""

from __future__ import annotations

import json
import random

import pytest
from adaptive_strategies import SHAPES, T0, contexts, events, play
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive.errors import StateError
from adaptive.events import Attempt, Event, Performance
from adaptive.session import MAX_SHAPES, WINDOW_SIZE, PlayerSession
from adaptive.validation import CONTEXT_MAX_CHARS, MAX_ATTEMPTS, MAX_TIME_MS, PLAYER_ID_MAX_CHARS
from adaptive.views import difficulty_view, iso_utc, session_view, stats_view

SIZE_LIMIT = 16 * 1024


def json_round_trip(session: PlayerSession) -> PlayerSession:
    return PlayerSession.from_dict(json.loads(json.dumps(session.to_dict())))


def state_size(session: PlayerSession) -> int:
    return len(json.dumps(session.to_dict()).encode())


def test_a_new_session_round_trips_with_camel_case_keys() -> None:
    session = PlayerSession.new("player-1", T0)
    data = session.to_dict()
    assert set(data) == {"schemaVersion", "playerId", "startedAtMs", "lastActivityAtMs", "tracker",
                         "windowStart", "window", "shapes", "lastContext"}
    assert "recentSuccessRate" in data["tracker"]
    assert json_round_trip(session) == session


@settings(max_examples=100, deadline=None)
@given(st.lists(events, max_size=2 * WINDOW_SIZE), contexts)
def test_any_session_round_trips_through_json_exactly(history: list[Event], context: str) -> None:
    session = play(history, context=context)
    restored = json_round_trip(session)
    assert restored == session
    assert restored.to_dict() == session.to_dict()
    # the restored session keeps evolving exactly like the original
    nxt = Attempt(success=True, time_ms=1234, attempts=1, shape_id="G7-drop3", at_ms=T0 + 10**10)
    assert restored.record_attempt(nxt) == session.record_attempt(nxt)


def random_history(rng: random.Random, n: int, shape_ids: list[str]) -> list[Event]:
    history: list[Event] = []
    for i in range(n):
        at = T0 + i * 3000
        if rng.random() < 0.1:
            history.append(Performance(rng.random(), rng.random(), rng.random(), at))
        else:
            history.append(Attempt(success=rng.random() < 0.7, time_ms=rng.randint(1, MAX_TIME_MS),
                                   attempts=rng.randint(1, MAX_ATTEMPTS), shape_id=rng.choice(shape_ids),
                                   at_ms=at))
    return history


def test_state_stays_bounded_over_a_long_random_history() -> None:
    rng = random.Random(7)
    shape_ids = [f"{i:03d}-" + "x" * 60 for i in range(300)]  # 64-character ids, far more than MAX_SHAPES
    session = PlayerSession.new("p" * PLAYER_ID_MAX_CHARS, T0)
    sizes = []
    for i, event in enumerate(random_history(rng, 5000, shape_ids)):
        if isinstance(event, Attempt):
            session = session.record_attempt(event)
        else:
            session = session.update_performance(event, "c" * CONTEXT_MAX_CHARS)
        if i % 250 == 0:
            sizes.append(state_size(session))
    assert len(session.window) == WINDOW_SIZE
    assert len(session.shapes) == MAX_SHAPES
    assert session.tracker.attempts + session.tracker.performance_reports == 5000
    assert max(sizes) < 13 * 1024 < SIZE_LIMIT
    assert sizes[-1] - sizes[len(sizes) // 2] < 200  # no growth beyond a few more digits


def test_worst_case_state_is_well_under_16_kb() -> None:
    """Every field at its longest: 128-char player id, 64-char shapes, max times and tries, long context."""
    session = PlayerSession.new("p" * PLAYER_ID_MAX_CHARS, 253_402_300_000_000)
    for i in range(20_000):
        shape = f"{i % (MAX_SHAPES + 1):03d}" + "x" * 61
        session = session.record_attempt(Attempt(success=i % 2 == 0, time_ms=MAX_TIME_MS - i % 997,
                                                 attempts=MAX_ATTEMPTS, shape_id=shape,
                                                 at_ms=253_402_300_000_000 + i))
    session = session.update_performance(Performance(0.123456789, 0.987654321, 0.55555555555, 253_402_400_000_000),
                                         "c" * CONTEXT_MAX_CHARS)
    assert state_size(session) < 13 * 1024


def test_the_stalest_shape_is_evicted_and_the_most_recent_ones_kept() -> None:
    history = [Attempt(True, 2000, 1, f"shape-{i}", T0 + i) for i in range(MAX_SHAPES)]
    history.append(Attempt(True, 2000, 1, "shape-0", T0 + 100))  # shape-0 is fresh again; shape-1 is stalest
    history.append(Attempt(False, 2000, 1, "newcomer", T0 + 101))
    session = play(history)
    assert len(session.shapes) == MAX_SHAPES
    assert "shape-1" not in session.shapes
    assert {"shape-0", "newcomer", f"shape-{MAX_SHAPES - 1}"} <= set(session.shapes)


def test_shape_mastery_counts_best_and_average_times() -> None:
    session = play([
        Attempt(False, 5000, 3, "Cmaj7-drop2", T0),
        Attempt(True, 4000, 1, "Cmaj7-drop2", T0 + 1000),
        Attempt(True, 3000, 2, "Cmaj7-drop2", T0 + 2000),
        Attempt(True, 9000, 1, "G7-drop3", T0 + 3000),
    ])
    c = session.shapes["Cmaj7-drop2"]
    assert (c.attempts, c.successes, c.best_time_ms, c.average_time_ms) == (3, 2, 3000, 4000)
    assert c.last_seen_at_ms == T0 + 2000
    assert c.mastery == pytest.approx(3 / 5)
    assert session.shapes["G7-drop3"].attempts_since_seen(session.tracker.attempts) == 0
    assert c.attempts_since_seen(session.tracker.attempts) == 1
    failed_only = play([Attempt(False, 5000, 3, "Bb13", T0)]).shapes["Bb13"]
    assert failed_only.best_time_ms is None


@settings(max_examples=50, deadline=None)
@given(st.lists(events, min_size=1, max_size=4 * WINDOW_SIZE))
def test_aggregates_cover_the_whole_history_not_just_the_window(history: list[Event]) -> None:
    session = play(history)
    tried = [e for e in history if isinstance(e, Attempt)]
    assert session.tracker.attempts == len(tried)
    assert session.tracker.successes == sum(e.success for e in tried)
    assert session.tracker.total_time_ms == sum(e.time_ms for e in tried)
    assert len(session.window) == min(len(history), WINDOW_SIZE)
    assert session.last_activity_at_ms == max(history[0].at_ms, *(e.at_ms for e in history))


def test_views_answer_what_the_routes_promise() -> None:
    session = play([Attempt(i % 4 != 0, 3000 + 50 * i, 1 + i % 3, SHAPES[i % 5], T0 + 4000 * i)
                    for i in range(12)])
    stats = stats_view(session)
    for key in ("playerId", "totalAttempts", "successRate", "averageTimeMs", "currentDifficulty",
                "targetDifficulty", "learningRate", "shapes"):
        assert key in stats
    assert stats["totalAttempts"] == 12 and stats["successRate"] == 0.75
    assert set(stats["shapes"]) == set(SHAPES[:5])
    difficulty = difficulty_view(session)
    assert difficulty["flowZone"] == {"low": 0.6, "high": 0.8}
    full = session_view(session)
    assert full["startedAt"] == iso_utc(T0) == "2023-11-14T22:13:20.000Z"
    assert full["durationMs"] == 11 * 4000
    assert len(full["history"]) == 12 and full["history"][0]["at"] == "2023-11-14T22:13:20.000Z"
    json.dumps([stats, difficulty, full])  # plain JSON


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("tracker"), "tracker"),
        (lambda d: d.update(schemaVersion=99), "schemaVersion"),
        (lambda d: d["tracker"].update(difficulty=1.5), "tracker.difficulty"),
        (lambda d: d["tracker"].update(attempts=True), "tracker.attempts"),
        (lambda d: d.update(playerId="a/b"), "playerId"),
        (lambda d: d.update(window=[{"kind": "attempt"}] * 1), "window[0]"),
        (lambda d: d.update(window=[{"kind": "nap", "atMs": 1}]), "window[0].kind"),
        (lambda d: d.update(window=d["window"] * (WINDOW_SIZE + 1)), "window"),
        (lambda d: d["shapes"].update({"bad id": d["shapes"]["Cmaj7-drop2"]}), "shapes"),
        (lambda d: d["shapes"]["Cmaj7-drop2"].update(successes=9), "shapes['Cmaj7-drop2']"),
    ],
)
def test_a_malformed_stored_state_is_rejected_naming_where(mutate: object, path: str) -> None:
    data = play([Attempt(True, 2000, 1, "Cmaj7-drop2", T0)]).to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(StateError) as info:
        PlayerSession.from_dict(data)
    assert info.value.path == path
