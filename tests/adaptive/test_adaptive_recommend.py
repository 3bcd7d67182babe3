"""The recommended exercise: bands, challenge length, strategy, weakest and stalest shapes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from adaptive_strategies import T0, events, play
from hypothesis import given
from hypothesis import strategies as st

from adaptive.difficulty import DIFFICULTY_MAX, DIFFICULTY_MIN
from adaptive.events import Attempt, Event
from adaptive.recommend import band_for, challenge_length, recommend, strategy_for
from adaptive.session import PlayerSession
from adaptive.views import recommendation_view


@pytest.mark.parametrize(
    ("difficulty", "exercise"),
    [
        (DIFFICULTY_MIN, "beginner-chord-transitions"),
        (0.2999, "beginner-chord-transitions"),
        (0.3, "intermediate-progressions"),
        (0.4999, "intermediate-progressions"),
        (0.5, "advanced-voicings"),
        (0.6999, "advanced-voicings"),
        (0.7, "expert-jazz-reharmonization"),
        (DIFFICULTY_MAX, "expert-jazz-reharmonization"),
        (1.0, "expert-jazz-reharmonization"),
    ],
)
def test_exercise_follows_the_difficulty_band(difficulty: float, exercise: str) -> None:
    assert band_for(difficulty).exercise == exercise
    session = PlayerSession.new("p1", T0)
    session = replace(session, tracker=replace(session.tracker, difficulty=difficulty))
    assert recommend(session).exercise == exercise


def test_challenge_length_matches_the_original_anchors() -> None:
    assert [challenge_length(d) for d in (0.0, 0.5, 1.0)] == [4, 8, 12]


@given(st.floats(0, 1), st.floats(0, 1))
def test_challenge_length_is_4_to_12_and_grows_with_difficulty(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert 4 <= challenge_length(low) <= challenge_length(high) <= 12


def test_strategy_follows_the_learning_rate() -> None:
    assert strategy_for(0.1) == "minimize-voice-leading"
    assert strategy_for(0.5) == "explore-families"
    assert strategy_for(0.9) == "maximize-information-gain"


def test_a_new_player_starts_mid_band_with_no_shapes() -> None:
    view = recommendation_view(PlayerSession.new("p1", T0))
    assert view["exercise"] == "intermediate-progressions"
    assert view["parameters"]["difficulty"] == 0.4  # the middle of 0.3-0.5, not on an edge
    assert view["parameters"]["challengeLength"] == view["parameters"]["newShapes"] == 7
    assert view["parameters"]["suggestedShapes"] == []
    assert "challenge of 7 shapes, all new: no shapes played yet" in view["rationale"]


@given(events)
def test_a_first_event_does_not_change_the_exercise_level(first: Event) -> None:
    """Whatever a new player's first attempt or report, the exercise stays the starting band's."""
    assert recommendation_view(play([first]))["exercise"] == "intermediate-progressions"


def test_a_perfect_player_is_not_called_least_mastered() -> None:
    history = [Attempt(True, 2000, 1, f"S{i % 4}", T0 + i) for i in range(32)]
    view = recommendation_view(play(history))
    reasons = [f["reason"] for f in view["parameters"]["focus"]]
    assert reasons and all(r.startswith("review: 8/8 successes, ") for r in reasons), reasons
    assert "least" not in view["rationale"] and "weak" not in view["rationale"]


def test_the_weakest_and_stalest_shapes_are_suggested_first() -> None:
    history = []
    at = T0
    # "Ebm7b5" fails often; "Old7" was last played 25 attempts ago; eight others always succeed
    for _ in range(3):
        history.append(Attempt(False, 5000, 4, "Ebm7b5", at := at + 1000))
    history.append(Attempt(True, 3000, 1, "Old7", at := at + 1000))
    for i in range(25):
        history.append(Attempt(True, 2500, 1, f"Easy{i % 8}", at := at + 1000))
    view = recommendation_view(play(history))
    suggested = view["parameters"]["suggestedShapes"]
    assert len(suggested) == 10  # all tracked shapes fit in the challenge; the other places are new shapes
    assert view["parameters"]["newShapes"] == view["parameters"]["challengeLength"] - 10 >= 0
    assert suggested[:2] == ["Ebm7b5", "Old7"]
    reasons = {f["shapeId"]: f["reason"] for f in view["parameters"]["focus"]}
    assert reasons["Ebm7b5"] == "weak: 0/3 successes, stale: not played for 26 attempts"
    assert reasons["Old7"] == "stale: not played for 25 attempts"
    assert "Ebm7b5 (weak" in view["rationale"]


def test_recommendation_is_a_pure_function_of_state() -> None:
    session = play([Attempt(i % 3 == 0, 3000, 1, f"S{i % 6}", T0 + i) for i in range(40)])
    assert recommendation_view(session) == recommendation_view(PlayerSession.from_dict(session.to_dict()))
