"""The admission queue's metrics: the in-process report behind `ga_agent_tasks_queued` and
`ga_agent_task_queue_oldest_wait_seconds`, and the join times the admission entity keeps for it."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrations.agent_admission import _oldest_joined, admit
from telemetry.admission import AdmissionQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_nothing_reported_yet_is_an_empty_queue() -> None:
    queue = AdmissionQueue(clock=Clock())
    assert queue.snapshot() == (0, 0.0)
    assert [o.value for o in queue.observe_queued()] == [0]
    assert [o.value for o in queue.observe_oldest_wait()] == [0.0]


def test_the_oldest_wait_grows_between_reports_and_an_empty_queue_waits_zero() -> None:
    clock = Clock()
    queue = AdmissionQueue(clock=clock)
    queue.report(3, clock.now - 4)
    assert queue.snapshot() == (3, pytest.approx(4.0))
    clock.now += 10  # no operation since: the head of the queue has now waited 14 s
    assert queue.snapshot() == (3, pytest.approx(14.0))
    queue.report(0, None)
    assert queue.snapshot() == (0, 0.0)


def test_a_report_older_than_the_entitys_own_stale_limit_reads_as_empty() -> None:
    clock = Clock()
    queue = AdmissionQueue(stale_after_s=120, clock=clock)
    queue.report(2, clock.now)
    clock.now += 119
    assert queue.snapshot()[0] == 2
    clock.now += 2  # queued tasks ask every second; silent this long, the entity would drop them all
    assert queue.snapshot() == (0, 0.0)


def test_the_entity_keeps_when_each_queued_task_joined() -> None:
    state: dict[str, Any] = {"running": {}, "queue": []}
    assert admit(state, "enqueue", "a", 100.0, 1, 10) == {"admitted": True}
    assert _oldest_joined(state, 100.0) is None  # admitted at once: nobody waits
    admit(state, "enqueue", "b", 101.0, 1, 10)
    assert _oldest_joined(state, 101.0) == 101.0
    admit(state, "enqueue", "c", 103.0, 1, 10)
    assert _oldest_joined(state, 103.0) == 101.0
    admit(state, "poll", "b", 107.0, 1, 10)  # b's queue entry now says 107 (when it last asked)
    assert state["queue"][0] == ["b", 107.0]
    assert _oldest_joined(state, 107.0) == 101.0  # but it joined at 101
    admit(state, "release", "a", 108.0, 1, 10)  # b is promoted; c is the head now
    assert _oldest_joined(state, 108.0) == 103.0
    assert state["joined"] == {"c": 103.0}
    admit(state, "release", "b", 109.0, 1, 10)
    assert _oldest_joined(state, 109.0) is None
    assert state == {"running": {"c": 109.0}, "queue": []}  # idle again: no bookkeeping left behind
