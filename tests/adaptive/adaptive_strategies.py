"""Hypothesis strategies shared by the adaptive model tests: events, histories, sessions."""

from __future__ import annotations

from hypothesis import strategies as st

from adaptive.events import Attempt, Event, Performance
from adaptive.session import PlayerSession
from adaptive.validation import MAX_ATTEMPTS, MAX_TIME_MS

T0 = 1_700_000_000_000
SHAPES = [f"{root}{quality}-drop{d}" for root in "CDEFGAB" for quality in ("maj7", "m7", "7") for d in (2, 3)]

shape_ids = st.one_of(
    st.sampled_from(SHAPES),
    st.from_regex(r"[A-Za-z0-9._~#+/():-]{1,64}", fullmatch=True),
)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
times = st.one_of(st.integers(200, 30_000), st.integers(1, MAX_TIME_MS))
stamps = st.integers(T0, T0 + 10**9)

attempts = st.builds(
    Attempt,
    success=st.booleans(),
    time_ms=times,
    attempts=st.one_of(st.integers(1, 6), st.integers(1, MAX_ATTEMPTS)),
    shape_id=shape_ids,
    at_ms=stamps,
)
performances = st.builds(Performance, accuracy=unit, speed=unit, consistency=unit, at_ms=stamps)
events: st.SearchStrategy[Event] = st.one_of(attempts, attempts, performances)
contexts = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=40)


def play(events_: list[Event], player_id: str = "p1", context: str = "") -> PlayerSession:
    """A session built incrementally from `events_`, started at the first event's time."""
    session = PlayerSession.new(player_id, events_[0].at_ms if events_ else T0)
    for event in events_:
        if isinstance(event, Attempt):
            session = session.record_attempt(event)
        else:
            session = session.update_performance(event, context)
    return session
