"""The difficulty controller: a pure fold of practice events into a small `DifficultyTracker`.

Difficulty lives in [0.05, 0.95] and new players start at 0.4, the middle of the intermediate band
(0.3-0.5), so that no single first attempt decides between two exercise levels (a start on the 0.5
band edge did: one success moved a new player to advanced, one failure kept them intermediate).
The bounds keep a margin from the ends of the [0, 1] scale (a difficulty of exactly 0 or 1 would
mean "nothing to play" or "unplayable") while leaving every recommendation band (< 0.3, < 0.5,
< 0.7, >= 0.7) comfortably reachable; the original 0.2..0.9 would leave the beginner band only 0.1
wide.

Player model. The chance that a player of skill θ succeeds at difficulty d is modelled as the logistic
p(θ, d) = sigmoid(β·(θ - d)) with β = 6, the Elo / one-parameter item-response model of adaptive tutors.
After every observation the skill estimate takes an Elo step

    θ ← clamp(θ + K·w·(o - p(θ, d)), 0.05 - 0.5, 0.95 + 0.5)        K = 0.15

where o is the outcome (1 success, 0 failure; the accuracy for a performance report) and the evidence
weight w in [1, 1.5] carries the original system's step table ("success+fast +0.1, success+slow +0.02,
fail+many attempts -0.1, fail+few -0.05"): a fast clean success weighs w = 1 + 0.5·pace·(1 - struggle),
a failure w = 1 + 0.5·struggle, where pace = clamp01(1.5 - timeMs / recentTimeMs) compares the attempt
with the player's own recent time (0.5 while no time is known) and struggle = clamp01((attempts - 1)/4).
For a performance report pace is `speed` and struggle is 1 - `consistency`.

Flow-zone target. The target difficulty is the one at which the model predicts a 70 % success rate,
the middle of the 60-80 % flow zone:

    target = clamp(θ - logit(0.7)/β, 0.05, 0.95)        (logit(0.7)/β ≈ 0.141)

A new player's θ starts at 0.4 + 0.141, so target = current = 0.4 until evidence arrives.

Movement. The difficulty moves a fraction k of the way to the target, k = 0.1 + 0.4·learningRate (the
2026 re-implementation's rule), halved while the recent success rate (an EWMA with alpha = 0.2, starting at
0.7) is already inside the flow zone, so that it settles there rather than chasing noise. Two guards
follow: a sign guard (an outcome above the predicted success probability, such as any success, never
lowers the difficulty; one below it, such as any failure, never raises it), then |Δd| <= 0.1 and the
clamp into [0.05, 0.95].

Why it settles in the flow zone: θ is at rest when the observed success rate equals the predicted one,
and d rests at θ - 0.141 where the prediction is 0.7, so the observed rate is 0.7. The evidence weights
tilt that balance by at most a factor 1.5 either way; solving p·1.5·0.3 = (1 - p)·0.7 and its mirror
moves the resting success rate to 0.61..0.78, still inside the zone. The argument needs only a true
success curve that falls as difficulty rises, not a logistic with slope β (sampling noise aside).
Where the target would leave [0.05, 0.95] (a player beyond the scale) the rate leaves the zone too.

Learning rate = 0.5·sessionSuccessRate + 0.5·timeImprovement, with timeImprovement =
clamp01((early - recent)/early), early = mean time of the session's first 10 attempts and recent = the
EWMA (alpha = 0.2) of attempt times; the improvement is 0 until those 10 attempts are in.

Determinism and replay. `step(tracker, event)` depends only on the tracker and the event: no clock, no
randomness, no per-shape statistics, and performance reports feed the estimate but not the attempt
counters. `replay(events, start)` is therefore exactly the incremental result: floats are combined in
the same order, and JSON round-trips Python floats exactly. The session keeps the tracker as it stood
before the oldest windowed event, so the guarantee holds for histories of any length (see
`adaptive.session`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adaptive.errors import StateError
from adaptive.events import Attempt, Event, Performance
from adaptive.figures import figure, text

DIFFICULTY_MIN = 0.05
DIFFICULTY_MAX = 0.95
START_DIFFICULTY = 0.4
MAX_STEP = 0.1
FLOW_ZONE_LOW = 0.6
FLOW_ZONE_HIGH = 0.8
TARGET_SUCCESS = 0.7
SLOPE = 6.0
SKILL_GAIN = 0.15
MAX_EVIDENCE_BONUS = 0.5
EWMA_ALPHA = 0.2
EARLY_ATTEMPTS = 10
SKILL_MARGIN = 0.5
TARGET_OFFSET = math.log(TARGET_SUCCESS / (1.0 - TARGET_SUCCESS)) / SLOPE


def clamp(value: float, low: float, high: float) -> float:
    """`value` limited to [low, high]."""
    return max(low, min(high, value))


def clamp01(value: float) -> float:
    """`value` limited to [0, 1]."""
    return clamp(value, 0.0, 1.0)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# The tracker's derived figures as functions of its fields, so that `step` can compute them for the
# tracker it is about to build without building an intermediate one (the same operations, in the
# same order, as the properties of the built tracker: the results are bit-for-bit the same).
def _success_rate(successes: int, attempts: int) -> float:
    return successes / attempts if attempts else 0.0


def _time_improvement(early_attempts: int, early_time_sum_ms: float, recent_time_ms: float | None) -> float:
    if early_attempts < EARLY_ATTEMPTS or recent_time_ms is None:
        return 0.0
    early = early_time_sum_ms / early_attempts
    return clamp01((early - recent_time_ms) / early)


def _learning_rate(successes: int, attempts: int, early_attempts: int, early_time_sum_ms: float,
                   recent_time_ms: float | None) -> float:
    return 0.5 * _success_rate(successes, attempts) + 0.5 * _time_improvement(
        early_attempts, early_time_sum_ms, recent_time_ms)


def _target_difficulty(skill: float) -> float:
    return clamp(skill - TARGET_OFFSET, DIFFICULTY_MIN, DIFFICULTY_MAX)


def _in_flow_zone(recent_success_rate: float) -> bool:
    return FLOW_ZONE_LOW <= figure(recent_success_rate) <= FLOW_ZONE_HIGH


@dataclass(frozen=True)
class DifficultyTracker:
    """Everything the difficulty depends on, folded from the session's events in order.

    Small and fixed-size whatever the history length: estimates are exponentially weighted and the
    early-time average stops growing after `EARLY_ATTEMPTS` attempts.
    """

    difficulty: float = START_DIFFICULTY
    skill: float = START_DIFFICULTY + TARGET_OFFSET
    recent_success_rate: float = TARGET_SUCCESS
    recent_time_ms: float | None = None
    early_time_sum_ms: float = 0.0
    early_attempts: int = 0
    attempts: int = 0
    successes: int = 0
    total_time_ms: float = 0.0
    performance_reports: int = 0

    @property
    def success_rate(self) -> float:
        """Successes over attempts for the whole session (0 before any attempt)."""
        return _success_rate(self.successes, self.attempts)

    @property
    def average_time_ms(self) -> float:
        """Mean attempt time for the whole session (0 before any attempt)."""
        return self.total_time_ms / self.attempts if self.attempts else 0.0

    @property
    def time_improvement(self) -> float:
        """How much faster recent attempts are than the session's first ones, in [0, 1].

        0 until the early baseline is complete: while an attempt still counts toward the baseline, a
        slow attempt would raise the baseline and so look like improvement.
        """
        return _time_improvement(self.early_attempts, self.early_time_sum_ms, self.recent_time_ms)

    @property
    def learning_rate(self) -> float:
        """0.5 x session success rate + 0.5 x time improvement, in [0, 1]."""
        return _learning_rate(self.successes, self.attempts, self.early_attempts, self.early_time_sum_ms,
                              self.recent_time_ms)

    @property
    def predicted_success(self) -> float:
        """The model's probability that the player succeeds at the current difficulty."""
        return _sigmoid(SLOPE * (self.skill - self.difficulty))

    @property
    def target_difficulty(self) -> float:
        """The difficulty at which the model predicts a 70 % success rate, within the bounds."""
        return _target_difficulty(self.skill)

    @property
    def in_flow_zone(self) -> bool:
        """Whether the recent success rate, as reported (4 decimals), is within 60-80 %."""
        return _in_flow_zone(self.recent_success_rate)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (camelCase keys); `from_dict` restores an equal tracker."""
        return {
            "difficulty": self.difficulty,
            "skill": self.skill,
            "recentSuccessRate": self.recent_success_rate,
            "recentTimeMs": self.recent_time_ms,
            "earlyTimeSumMs": self.early_time_sum_ms,
            "earlyAttempts": self.early_attempts,
            "attempts": self.attempts,
            "successes": self.successes,
            "totalTimeMs": self.total_time_ms,
            "performanceReports": self.performance_reports,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "tracker") -> DifficultyTracker:
        """Read a tracker written by `to_dict`; raise StateError naming the bad key otherwise."""
        if not isinstance(data, Mapping):
            raise StateError(path, "expected an object")
        recent_time = data.get("recentTimeMs")
        tracker = cls(
            difficulty=_float(data, "difficulty", path, DIFFICULTY_MIN, DIFFICULTY_MAX),
            skill=_float(data, "skill", path, DIFFICULTY_MIN - SKILL_MARGIN, DIFFICULTY_MAX + SKILL_MARGIN),
            recent_success_rate=_float(data, "recentSuccessRate", path, 0.0, 1.0),
            recent_time_ms=None if recent_time is None else _float(data, "recentTimeMs", path, 0.0, math.inf),
            early_time_sum_ms=_float(data, "earlyTimeSumMs", path, 0.0, math.inf),
            early_attempts=_int(data, "earlyAttempts", path, 0, EARLY_ATTEMPTS),
            attempts=_int(data, "attempts", path, 0, None),
            successes=_int(data, "successes", path, 0, None),
            total_time_ms=_float(data, "totalTimeMs", path, 0.0, math.inf),
            performance_reports=_int(data, "performanceReports", path, 0, None),
        )
        if tracker.successes > tracker.attempts or tracker.early_attempts > tracker.attempts:
            raise StateError(path, "counts are inconsistent (successes or earlyAttempts exceed attempts)")
        if (tracker.recent_time_ms is not None and tracker.recent_time_ms <= 0) or (
            tracker.early_attempts > 0 and tracker.early_time_sum_ms <= 0
        ):
            raise StateError(path, "times must be positive once an attempt was counted")
        return tracker


def _float(data: Mapping[str, Any], key: str, path: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateError(f"{path}.{key}", "expected a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise StateError(f"{path}.{key}", f"expected a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def _int(data: Mapping[str, Any], key: str, path: str, low: int, high: int | None) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(f"{path}.{key}", "expected an integer")
    if value < low or (high is not None and value > high):
        raise StateError(f"{path}.{key}", f"expected an integer in [{low}, {high}], got {value!r}")
    return value


@dataclass(frozen=True)
class Evidence:
    """How one event is read by the controller: outcome, predicted outcome, evidence weight."""

    outcome: float
    predicted: float
    weight: float
    pace: float
    struggle: float


def evidence(tracker: DifficultyTracker, event: Event) -> Evidence:
    """Read `event` against the tracker *before* it: the inputs of the skill update."""
    return Evidence(*_evidence(tracker, event))


def _evidence(tracker: DifficultyTracker, event: Event) -> tuple[float, float, float, float, float]:
    """`evidence` as a tuple (outcome, predicted, weight, pace, struggle), for `step`'s hot path."""
    predicted = _sigmoid(SLOPE * (tracker.skill - tracker.difficulty))
    if isinstance(event, Attempt):
        outcome = 1.0 if event.success else 0.0
        reference = tracker.recent_time_ms
        pace = 0.5 if reference is None else clamp01(1.5 - event.time_ms / reference)
        struggle = clamp01((event.attempts - 1) / 4)
    else:
        outcome = event.accuracy
        pace = event.speed
        struggle = 1.0 - event.consistency
    if outcome >= predicted:
        weight = 1.0 + MAX_EVIDENCE_BONUS * pace * (1.0 - struggle)
    else:
        weight = 1.0 + MAX_EVIDENCE_BONUS * struggle
    return outcome, predicted, weight, pace, struggle


def _ewma(previous: float, value: float) -> float:
    return previous + EWMA_ALPHA * (value - previous)


def step(tracker: DifficultyTracker, event: Event) -> DifficultyTracker:
    """The tracker after `event`: a pure function of its two arguments (see the module docstring).

    Builds the one new tracker directly from the fields it computes (no intermediate trackers):
    this runs once or twice per recorded event, on the entity's hot path.
    """
    outcome, predicted, weight, _pace, _struggle = _evidence(tracker, event)
    skill = clamp(
        tracker.skill + SKILL_GAIN * weight * (outcome - predicted),
        DIFFICULTY_MIN - SKILL_MARGIN,
        DIFFICULTY_MAX + SKILL_MARGIN,
    )
    recent_time = tracker.recent_time_ms
    early_sum, early_attempts = tracker.early_time_sum_ms, tracker.early_attempts
    attempts, successes, total_time = tracker.attempts, tracker.successes, tracker.total_time_ms
    reports = tracker.performance_reports
    if isinstance(event, Attempt):
        recent_time = event.time_ms if recent_time is None else _ewma(recent_time, event.time_ms)
        early = early_attempts < EARLY_ATTEMPTS
        early_sum = early_sum + (event.time_ms if early else 0.0)
        early_attempts = early_attempts + (1 if early else 0)
        attempts += 1
        successes += 1 if event.success else 0
        total_time = total_time + event.time_ms
    else:
        reports += 1
    recent_rate = _ewma(tracker.recent_success_rate, outcome)
    fraction = 0.1 + 0.4 * _learning_rate(successes, attempts, early_attempts, early_sum, recent_time)
    if _in_flow_zone(recent_rate):
        fraction *= 0.5
    delta = fraction * (_target_difficulty(skill) - tracker.difficulty)
    if outcome > predicted:
        delta = max(delta, 0.0)
    elif outcome < predicted:
        delta = min(delta, 0.0)
    delta = clamp(delta, -MAX_STEP, MAX_STEP)
    return DifficultyTracker(
        difficulty=clamp(tracker.difficulty + delta, DIFFICULTY_MIN, DIFFICULTY_MAX),
        skill=skill,
        recent_success_rate=recent_rate,
        recent_time_ms=recent_time,
        early_time_sum_ms=early_sum,
        early_attempts=early_attempts,
        attempts=attempts,
        successes=successes,
        total_time_ms=total_time,
        performance_reports=reports,
    )


def replay(events: Iterable[Event], start: DifficultyTracker | None = None) -> DifficultyTracker:
    """Fold `events` through `step`, from `start` or from a new player's tracker."""
    tracker = start if start is not None else DifficultyTracker()
    for event in events:
        tracker = step(tracker, event)
    return tracker


def explain(before: DifficultyTracker, after: DifficultyTracker, event: Event) -> str:
    """One sentence saying why the difficulty moved (or did not) after `event`.

    Every figure in it is the reported figure of the matching answer field (`previousDifficulty`,
    `currentDifficulty`, `targetDifficulty`, `recentSuccessRate`, `inFlowZone`), and every comparison
    it states is made on those figures (see `adaptive.figures`).
    """
    seen = evidence(before, event)
    if isinstance(event, Performance):
        observed = (f"accuracy {text(event.accuracy)} (speed {text(event.speed)}, "
                    f"consistency {text(event.consistency)})")
    else:
        observed = (f"{'success' if event.success else 'failure'} on {event.shape_id} in "
                    f"{event.time_ms} ms after {event.attempts} attempt(s)")
    outcome, predicted = figure(seen.outcome), figure(seen.predicted)
    comparison = "above" if outcome > predicted else "below" if outcome < predicted else "equal to"
    old, new = figure(before.difficulty), figure(after.difficulty)
    if new > old:
        movement = f"difficulty raised {text(old)} -> {text(new)}"
    elif new < old:
        movement = f"difficulty lowered {text(old)} -> {text(new)}"
    else:
        movement = f"difficulty kept at {text(new)}"
    zone = "inside" if after.in_flow_zone else "outside"
    return (
        f"{observed} is {comparison} the predicted success chance {text(predicted)}; {movement} "
        f"(target {text(after.target_difficulty)}); recent success rate {text(after.recent_success_rate)} "
        f"is {zone} the {FLOW_ZONE_LOW:.0%}-{FLOW_ZONE_HIGH:.0%} flow zone"
    )
