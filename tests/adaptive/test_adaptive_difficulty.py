"""The difficulty controller: bounds, step size, monotone reactions, flow-zone convergence, replay."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from adaptive_strategies import T0, attempts, events, play
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive.difficulty import (
    DIFFICULTY_MAX,
    DIFFICULTY_MIN,
    FLOW_ZONE_HIGH,
    FLOW_ZONE_LOW,
    MAX_STEP,
    START_DIFFICULTY,
    DifficultyTracker,
    explain,
    replay,
    step,
)
from adaptive.events import Attempt, Event, Performance
from adaptive.session import WINDOW_SIZE

EPS = 1e-12


def attempt(success: bool, time_ms: int = 4000, tries: int = 1, at: int = T0) -> Attempt:
    return Attempt(success=success, time_ms=time_ms, attempts=tries, shape_id="Cmaj7-drop2", at_ms=at)


def test_new_player_starts_mid_band_with_target_equal_to_current() -> None:
    tracker = DifficultyTracker()
    assert tracker.difficulty == START_DIFFICULTY == 0.4  # the middle of the 0.3-0.5 band, not its edge
    assert tracker.target_difficulty == pytest.approx(0.4)
    assert tracker.predicted_success == pytest.approx(0.7)
    assert tracker.learning_rate == 0.0


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=120))
def test_difficulty_stays_in_bounds_and_never_jumps_more_than_max_step(history: list[Event]) -> None:
    tracker = DifficultyTracker()
    for event in history:
        after = step(tracker, event)
        assert DIFFICULTY_MIN <= after.difficulty <= DIFFICULTY_MAX
        assert abs(after.difficulty - tracker.difficulty) <= MAX_STEP + EPS
        assert DIFFICULTY_MIN <= after.target_difficulty <= DIFFICULTY_MAX
        assert 0.0 <= after.learning_rate <= 1.0
        assert 0.0 <= after.recent_success_rate <= 1.0
        tracker = after


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=60), attempts)
def test_a_success_never_lowers_and_a_failure_never_raises_difficulty(prefix: list[Event], last: Attempt) -> None:
    before = replay(prefix)
    after = step(before, last)
    if last.success:
        assert after.difficulty >= before.difficulty
    else:
        assert after.difficulty <= before.difficulty


@settings(max_examples=100, deadline=None)
@given(st.lists(events, max_size=60), st.integers(5, 30))
def test_streaks_move_monotonically(prefix: list[Event], length: int) -> None:
    start = replay(prefix)
    tracker = start
    for i in range(length):  # fast clean successes: one try, quicker every time
        after = step(tracker, attempt(True, time_ms=max(1, 3000 - 100 * i), tries=1))
        assert after.difficulty >= tracker.difficulty
        tracker = after
    tracker = start
    for _ in range(length):  # failures after many tries
        after = step(tracker, attempt(False, time_ms=9000, tries=5))
        assert after.difficulty <= tracker.difficulty
        tracker = after


def test_a_streak_of_clean_successes_raises_and_a_streak_of_hard_failures_lowers_a_lot() -> None:
    up = replay(attempt(True, time_ms=3000 - 100 * i, at=T0 + i) for i in range(15))
    down = replay(attempt(False, time_ms=9000, tries=5, at=T0 + i) for i in range(15))
    assert up.difficulty > 0.85
    assert down.difficulty < 0.2


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=60), st.integers(1, 20_000), st.integers(2, 1000))
def test_fast_clean_successes_step_up_at_least_as_much_and_laboured_failures_step_down_at_least_as_much(
    prefix: list[Event], time_ms: int, tries: int
) -> None:
    before = replay(prefix)
    clean_fast = step(before, attempt(True, time_ms=max(1, time_ms // 4), tries=1))
    laboured_slow = step(before, attempt(True, time_ms=time_ms, tries=tries))
    assert clean_fast.difficulty >= laboured_slow.difficulty
    many = step(before, attempt(False, time_ms=time_ms, tries=tries))
    few = step(before, attempt(False, time_ms=time_ms, tries=1))
    assert many.difficulty <= few.difficulty


def simulate(skill: float, slope: float, seed: int, n: int = 600) -> tuple[list[bool], list[float]]:
    """A player of fixed skill who succeeds with probability sigmoid(slope * (skill - difficulty))."""
    rng = random.Random(seed)
    tracker = DifficultyTracker()
    outcomes: list[bool] = []
    difficulties: list[float] = []
    for i in range(n):
        p = 1.0 / (1.0 + math.exp(-slope * (skill - tracker.difficulty)))
        success = rng.random() < p
        time_ms = round(2000 + 4000 * (1 - p) * rng.uniform(0.7, 1.3))
        tries = 1 if success else rng.randint(1, 5)
        tracker = step(tracker, attempt(success, time_ms=time_ms, tries=tries, at=T0 + i * 5000))
        outcomes.append(success)
        difficulties.append(tracker.difficulty)
    return outcomes, difficulties


@pytest.mark.parametrize("slope", [4.0, 8.0, 12.0])
@pytest.mark.parametrize("skill", [0.45, 0.6, 0.75, 0.9])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_player_of_fixed_skill_settles_in_the_flow_zone(skill: float, slope: float, seed: int) -> None:
    outcomes, difficulties = simulate(skill, slope, seed)
    settled = outcomes[200:]
    rate = sum(settled) / len(settled)
    assert FLOW_ZONE_LOW <= rate <= FLOW_ZONE_HIGH
    # the difficulty where this player's true success chance is 70 %
    ideal = skill - math.log(0.7 / 0.3) / slope
    mean = sum(difficulties[200:]) / len(difficulties[200:])
    assert abs(mean - ideal) < 0.12  # 0.104 at worst over 30 seeds x these 12 players


def test_learning_rate_blends_success_rate_and_time_improvement() -> None:
    improving = replay(attempt(True, time_ms=8000 - 300 * i, at=T0 + i) for i in range(25))
    assert improving.success_rate == 1.0
    assert 0.0 < improving.time_improvement < 1.0
    assert improving.learning_rate == pytest.approx(0.5 + 0.5 * improving.time_improvement)
    assert improving.learning_rate > 0.7
    stuck = replay(attempt(False, time_ms=8000, at=T0 + i) for i in range(25))
    assert stuck.learning_rate == 0.0


def test_performance_reports_move_difficulty_but_not_the_attempt_counters() -> None:
    good = replay(Performance(accuracy=1.0, speed=0.9, consistency=0.9, at_ms=T0 + i) for i in range(10))
    bad = replay(Performance(accuracy=0.1, speed=0.2, consistency=0.2, at_ms=T0 + i) for i in range(10))
    assert good.difficulty > START_DIFFICULTY > bad.difficulty
    assert good.attempts == bad.attempts == 0
    assert good.performance_reports == 10


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=1, max_size=WINDOW_SIZE))
def test_replaying_the_window_from_a_fresh_state_gives_the_incremental_result(history: list[Event]) -> None:
    """The tested guarantee: for histories no longer than the window, replay == incremental, exactly."""
    session = play(history)
    assert session.window == tuple(history)
    replayed = session.replay_window()
    assert replayed.difficulty == session.tracker.difficulty
    assert replayed == session.tracker


@settings(max_examples=60, deadline=None)
@given(st.lists(events, min_size=WINDOW_SIZE + 1, max_size=3 * WINDOW_SIZE))
def test_after_eviction_replaying_the_window_from_its_checkpoint_gives_the_incremental_result(
    history: list[Event],
) -> None:
    session = play(history)
    evicted = len(history) - WINDOW_SIZE
    assert session.window == tuple(history[evicted:])
    assert session.window_start == replay(history[:evicted])
    assert session.replay_window(session.window_start) == session.tracker == replay(history)


def test_step_is_deterministic_and_does_not_depend_on_timestamps_or_shape_names() -> None:
    a = replay(attempt(i % 3 != 0, time_ms=3000 + 100 * i, at=T0 + i) for i in range(30))
    b = replay(replace(attempt(i % 3 != 0, time_ms=3000 + 100 * i, at=T0 + 7 * i), shape_id=f"S{i}")
               for i in range(30))
    assert a == b


def test_explain_names_the_direction_and_the_flow_zone() -> None:
    before = DifficultyTracker()
    event = attempt(True, time_ms=2000)
    text = explain(before, step(before, event), event)
    assert "raised 0.4 -> 0.4084 (target 0.4563)" in text
    assert "flow zone" in text
    failure = attempt(False, tries=5)
    assert "lowered" in explain(before, step(before, failure), failure)


@pytest.mark.parametrize(("successes", "times", "learning_rate"), [
    ([], [], 0.0),
    ([True], [2000], 0.5),
    ([False], [2000], 0.0),
    ([True] * 30, [2000] * 30, 0.5),
    ([i not in (2, 6) for i in range(10)], [2000] * 10, 0.4),
    ([True] * 20, [4000] * 10 + [2000] * 10, 0.7232),
    ([i % 4 != 1 for i in range(10)] * 2, [4000] * 10 + [2000] * 10, 0.5732),
])
def test_the_learning_rate_examples_of_the_api_docs(successes: list[bool], times: list[int],
                                                    learning_rate: float) -> None:
    """The worked examples of docs/api.md, `learningRate` section, row by row."""
    tracker = replay(attempt(ok, time_ms=t) for ok, t in zip(successes, times, strict=True))
    assert round(tracker.learning_rate, 4) == learning_rate
