"""The in-process registry behind `ga_agent_tasks_running` and `ga_agent_task_progress_ratio`."""

from __future__ import annotations

import pytest

from telemetry.metrics import RunningTasks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_declared_types_report_zero_and_there_is_no_mean_while_nothing_runs() -> None:
    tasks = RunningTasks()
    tasks.declare(["create", "spice-up"])
    assert tasks.snapshot() == ({"create": 0, "spice-up": 0}, None)
    assert tasks.observe_progress() == []
    assert sorted((o.attributes["task_type"], o.value) for o in tasks.observe_running()) == [
        ("create", 0), ("spice-up", 0)]


def test_running_tasks_are_counted_per_type_with_their_mean_progress_until_they_end() -> None:
    tasks = RunningTasks()
    tasks.update("t1", "create", 0.2)
    tasks.update("t2", "create", 0.6)
    tasks.update("t3", "reharmonize", 1.7)  # clamped to 1.0
    counts, mean = tasks.snapshot()
    assert counts == {"create": 2, "reharmonize": 1}
    assert mean == pytest.approx((0.2 + 0.6 + 1.0) / 3)
    tasks.update("t1", "create", 0.5)  # a later step of the same task replaces its entry
    tasks.remove("t3")
    tasks.remove("never-seen")
    assert tasks.snapshot() == ({"create": 2, "reharmonize": 0}, pytest.approx(0.55))
    [observation] = tasks.observe_progress()
    assert observation.value == pytest.approx(0.55) and not observation.attributes


def test_a_task_not_refreshed_for_the_stale_period_stops_counting() -> None:
    clock = Clock()
    tasks = RunningTasks(stale_after_s=60, clock=clock)
    tasks.update("ended-elsewhere", "create", 0.3)
    clock.now += 30
    tasks.update("live", "create", 0.9)
    clock.now += 40  # the first entry is now 70 s old, the second 40 s
    assert tasks.snapshot() == ({"create": 1}, pytest.approx(0.9))


def test_a_running_task_counts_as_past_deadline_once_its_deadline_has_passed() -> None:
    clock = Clock()
    tasks = RunningTasks(stale_after_s=180, clock=clock, wall_clock=clock)
    tasks.declare(["create", "spice-up"])
    tasks.update("late", "create", 0.4)
    tasks.set_deadline("late", clock.now + 10)
    tasks.update("on-time", "create", 0.2)
    tasks.set_deadline("on-time", clock.now + 60)
    tasks.set_deadline("unknown", clock.now - 5)  # not running here: ignored
    assert tasks.past_deadline() == {"create": 0, "spice-up": 0}
    clock.now += 11
    tasks.update("late", "create", 0.5)  # a later step keeps the deadline it was given
    assert tasks.past_deadline() == {"create": 1, "spice-up": 0}
    assert sorted((o.attributes["task_type"], o.value) for o in tasks.observe_past_deadline()) == [
        ("create", 1), ("spice-up", 0)]
    tasks.remove("late")  # it timed out at its next step
    assert tasks.past_deadline() == {"create": 0, "spice-up": 0}
    clock.now += 60  # on-time is past its deadline now, and stuck: it counts until its entry goes stale
    assert tasks.past_deadline()["create"] == 1
    clock.now += 150
    assert tasks.past_deadline()["create"] == 0
