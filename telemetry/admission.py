"""What this process last saw of the agent-task admission queue: feeds `ga_agent_tasks_queued` and
`ga_agent_task_queue_oldest_wait_seconds`.

The admission entity (`orchestrations/agent_admission.py`, one instance for the whole app) reports its
queue after every operation it runs: how many tasks wait and when the longest-waiting one joined. The
gauges show that report, with the oldest task's wait computed at collection time, so a queue that is
stuck shows a wait that keeps growing between operations.

A queued task asks the entity once a second, and the entity drops a queued task not heard from for
`QUEUED_STALE_S` (120 s); so a report older than that describes a queue the entity itself would find
empty at its next operation, and the gauges then show 0. On an Azure host with several worker
processes the entity's operations may run in any of them: each process shows its own latest report,
and `max` over the processes' series is the queue (a process that stopped seeing the entity falls
back to 0 within 120 s).

Owned by no thread in particular (the entity's batch and the metric reader's collection both reach
it), so every access takes the lock; the observe callbacks never raise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

QUEUED_STALE_S = 120.0  # the admission entity's own limit for a queued task that stopped asking


class AdmissionQueue:
    """The latest report of the admission queue seen in this process (see the module docstring)."""

    def __init__(self, stale_after_s: float = QUEUED_STALE_S, clock: Callable[[], float] = time.time) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock  # epoch seconds: the entity's times are the orchestrations' UTC timestamps
        self._lock = threading.Lock()
        self._queued = 0
        self._oldest_enqueued_at: float | None = None
        self._reported_at: float | None = None

    def report(self, queued: int, oldest_enqueued_at: float | None) -> None:
        """The entity's queue after an operation: `queued` tasks, the longest-waiting one since then."""
        with self._lock:
            self._queued = max(0, int(queued))
            self._oldest_enqueued_at = oldest_enqueued_at if self._queued else None
            self._reported_at = self.clock()

    def snapshot(self) -> tuple[int, float]:
        """(tasks queued, seconds the oldest has waited until now); (0, 0.0) when empty or stale."""
        with self._lock:
            now = self.clock()
            if self._reported_at is None or now - self._reported_at > self.stale_after_s:
                return 0, 0.0
            oldest = self._oldest_enqueued_at
            return self._queued, 0.0 if oldest is None else max(0.0, now - oldest)

    def observe_queued(self, _options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(self.snapshot()[0])]

    def observe_oldest_wait(self, _options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(self.snapshot()[1])]
