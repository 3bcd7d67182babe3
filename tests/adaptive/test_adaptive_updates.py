"""The stream's difficulty updates, computed from the stored window, are what each write computed."""

from __future__ import annotations

from adaptive_strategies import events, play
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive.events import Attempt, Event
from adaptive.session import WINDOW_SIZE, PlayerSession
from adaptive.updates import last_seq, latest_update, update_view, updates
from adaptive.views import attempt_reason, performance_view, stats_view


@settings(max_examples=150, deadline=None)
@given(st.lists(events, min_size=1, max_size=50))
def test_each_update_is_what_its_write_answered(history: list[Event]) -> None:
    session = PlayerSession.new("p1", history[0].at_ms)
    answers = []
    for event in history:
        after = session.record_attempt(event) if isinstance(event, Attempt) else session.update_performance(event, "")
        if isinstance(event, Attempt):
            answers.append({**stats_view(after), "reason": attempt_reason(session, after, event)})
        else:
            answers.append(performance_view(session, after, event, ""))
        session = after
    found = updates(session)
    assert [u.seq for u in found] == list(range(len(history) - len(found) + 1, len(history) + 1))
    assert len(found) == min(len(history), WINDOW_SIZE) and last_seq(session) == len(history)
    assert found[-1].after == session.tracker
    for update in found:
        view = update_view("p1", session.started_at_ms, update)
        answer = answers[update.seq - 1]
        assert (view["currentDifficulty"], view["reason"]) == (answer["currentDifficulty"], answer["reason"])
        assert view["recommendation"]["changed"] == (view["recommendation"]["previous"] != {
            k: view["recommendation"][k] for k in ("exercise", "challengeLength", "strategy")})


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=1, max_size=45))
def test_the_update_a_write_publishes_is_the_one_the_window_replays(history: list[Event]) -> None:
    session = PlayerSession.new("p1", history[0].at_ms)
    for event in history:
        after = session.record_attempt(event) if isinstance(event, Attempt) else session.update_performance(event, "")
        published = update_view("p1", after.started_at_ms, latest_update(session, after))
        assert published == update_view("p1", after.started_at_ms, updates(after)[-1])
        session = after


def test_a_session_played_in_one_go_equals_the_incremental_one() -> None:
    history = [Attempt(i % 2 == 0, 1000 + i, 1, "C", 1_700_000_000_000 + i) for i in range(40)]
    assert updates(play(history))[-1].after == play(history).tracker
