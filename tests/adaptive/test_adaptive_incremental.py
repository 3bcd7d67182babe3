"""The session's incremental paths equal the plain ones: `state()` is `to_dict()`, `as_decoded()` is decoding.

`state()` is built from the previous session's state (one event in, at most one out) and `as_decoded`
is what the PlayerSession entity keeps in its cache instead of decoding the state it just wrote; both
must give, byte for byte and type for type, what the plain path gives, over histories longer than the
window and with more shapes than a session keeps.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from adaptive_strategies import SHAPES, T0, contexts, events
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive import session as session_module
from adaptive.errors import StateError
from adaptive.events import Attempt, Event
from adaptive.session import MAX_SHAPES, WINDOW_SIZE, PlayerSession, ShapeStats
from adaptive.views import shapes_view, stats_view


def _typed(value: Any) -> Any:
    """`value` with every number tagged by its type, so `900` and `900.0` (and `1` and `True`) differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _decoded(session: PlayerSession) -> PlayerSession:
    return PlayerSession.from_dict(json.loads(json.dumps(session.to_dict())))


def _fields(session: PlayerSession) -> Any:
    return _typed([session.tracker.__dict__, session.window_start.__dict__, session.to_dict()])


@settings(max_examples=60, deadline=None)
@given(st.lists(events, max_size=3 * WINDOW_SIZE), contexts, st.integers(0, 3 * WINDOW_SIZE))
def test_state_built_event_by_event_is_to_dict_and_as_decoded_is_decoding(
        history: list[Event], context: str, cold_at: int) -> None:
    session = PlayerSession.new("p1", history[0].at_ms if history else T0)
    session.state()  # from here on each state is built from the previous one
    for index, event in enumerate(history):
        if index == cold_at:  # as after a cold decode: no state to build from, built whole once
            session = _decoded(session)
        session = session.record_attempt(event) if isinstance(event, Attempt) else \
            session.update_performance(event, context)
        assert json.dumps(session.state()) == json.dumps(session.to_dict())
        assert _typed(session.state()) == _typed(session.to_dict())
        kept = session.as_decoded()
        assert kept == session and _fields(kept) == _fields(_decoded(session))
        assert json.dumps(kept.state()) == json.dumps(kept.to_dict())
        session = kept


def test_many_shapes_evict_and_the_built_state_keeps_them_sorted() -> None:
    session = PlayerSession.new("p1", T0)
    session.state()
    names = [*SHAPES, *SHAPES[:5]]
    for index in range(4 * WINDOW_SIZE):
        attempt = Attempt(index % 3 != 0, 500 + 37 * index, 1 + index % 4, names[(index * 7) % len(names)],
                          T0 + 1000 * index)
        session = session.record_attempt(attempt).as_decoded()
        state = session.state()
        assert list(state["shapes"]) == sorted(state["shapes"]) and len(state["shapes"]) <= MAX_SHAPES
        assert json.dumps(state) == json.dumps(session.to_dict())
    assert len(session.shapes) == MAX_SHAPES


def test_shape_views_kept_on_the_stats_are_not_changed_by_a_caller() -> None:
    session = PlayerSession.new("p1", T0).record_attempt(Attempt(True, 900, 1, SHAPES[0], T0))
    first = stats_view(session)
    first["shapes"][SHAPES[0]]["attempts"] = 99
    assert stats_view(session) == {**first, "shapes": shapes_view(session)}
    assert shapes_view(session)[SHAPES[0]]["attempts"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(events, max_size=2 * WINDOW_SIZE), contexts)
def test_decoding_well_formed_entries_directly_gives_what_the_full_validation_gives(
        history: list[Event], context: str) -> None:
    session = PlayerSession.new("p1", T0)
    for event in history:
        session = session.record_attempt(event) if isinstance(event, Attempt) else \
            session.update_performance(event, context)
    stored = json.loads(json.dumps(session.to_dict()))
    for index, entry in enumerate(stored["window"]):
        direct = session_module._well_formed_event(entry)
        assert direct is not None, entry
        assert _typed(direct.__dict__) == _typed(session_module._validated_event(entry, f"window[{index}]").__dict__)
    for shape, entry in stored["shapes"].items():
        stats = ShapeStats._well_formed(entry)
        assert stats is not None, entry
        assert _typed(stats.__dict__) == _typed(ShapeStats._validated(entry, shape).__dict__)


MALFORMED_EVENTS: list[Any] = [
    {"kind": "attempt", "success": 1, "timeMs": 900, "attempts": 1, "shapeId": "C", "atMs": T0},
    {"kind": "attempt", "success": True, "timeMs": 0, "attempts": 1, "shapeId": "C", "atMs": T0},
    {"kind": "attempt", "success": True, "timeMs": 900.5, "attempts": 1, "shapeId": "C", "atMs": T0},
    {"kind": "attempt", "success": True, "timeMs": 900, "attempts": 2.0, "shapeId": "C", "atMs": T0},
    {"kind": "attempt", "success": True, "timeMs": 900, "attempts": 1, "shapeId": "C maj", "atMs": T0},
    {"kind": "attempt", "success": True, "timeMs": 900, "attempts": 1, "shapeId": "C", "atMs": True},
    {"kind": "attempt", "success": True, "timeMs": 900, "attempts": 1, "shapeId": "C", "atMs": "2023-11-14T22:13:20Z"},
    {"kind": "performance", "accuracy": 1, "speed": 0.5, "consistency": 0.5, "atMs": T0},
    {"kind": "performance", "accuracy": 0.5, "speed": float("nan"), "consistency": 0.5, "atMs": T0},
    {"kind": "performance", "accuracy": 0.5, "speed": 0.5, "consistency": 0.5, "atMs": T0, "context": "x" * 300},
    {"kind": "chord", "atMs": T0},
    [1, 2],
]
MALFORMED_SHAPES: list[Any] = [
    {"attempts": 2, "successes": 3, "totalTimeMs": 900, "bestTimeMs": 400, "lastSeenAtMs": T0, "lastSeenAttempt": 1},
    {"attempts": 2, "successes": 0, "totalTimeMs": 900, "bestTimeMs": 400, "lastSeenAtMs": T0, "lastSeenAttempt": 1},
    {"attempts": True, "successes": 0, "totalTimeMs": 900, "bestTimeMs": None, "lastSeenAtMs": T0,
     "lastSeenAttempt": 1},
    {"attempts": 2, "successes": 1, "totalTimeMs": 900.0, "bestTimeMs": 400, "lastSeenAtMs": T0, "lastSeenAttempt": 1},
]


def test_anything_but_a_well_formed_entry_takes_the_full_validation() -> None:
    """Entries the full path reads differently or rejects are never accepted directly (a few are valid)."""
    for entry in MALFORMED_EVENTS:
        assert session_module._well_formed_event(entry) is None, entry
    for entry in MALFORMED_SHAPES:
        assert ShapeStats._well_formed(entry) is None, entry
        with pytest.raises(StateError):
            ShapeStats.from_dict(entry, "shapes['C']")
    iso = MALFORMED_EVENTS[6]
    assert session_module._event_from_json(iso, "w").at_ms == T0  # read by the full path: ISO time
