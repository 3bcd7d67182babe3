"""Activities in flight: each runs as a task on the loop, and its result comes back as a mailbox message.

An activity row is written with the episode that scheduled it; `start` runs it (through the
activity runner, or the built-in HTTP call) and, when it ends, enqueues its completion for the
orchestration with `activity_seq` naming the row, which the consuming episode deletes. Owned by
the dispatcher's loop thread. Cancellation tokens let a terminate stop the instance's activities.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from .activities import ActivityOutcome, ActivityRunner
from .cancellation import CancellationToken
from .durable_http import call_http
from .history import EventType, event, from_epoch
from .instances import LiveInstances
from .mailboxes import Mailboxes
from .messages import traceparent_of
from .stats import DispatcherStats
from .store import StoredActivity
from .telemetry import HostTelemetry


class ActivityRuns:
    """Starts activities, tracks their tasks and cancellation tokens, and delivers their results."""

    def __init__(self, runner: ActivityRunner, telemetry: HostTelemetry, clock: Callable[[], float],
                 stats: DispatcherStats, instances: LiveInstances, mailboxes: Mailboxes) -> None:
        self._runner = runner
        self._telemetry = telemetry
        self._clock = clock
        self._stats = stats
        self._instances = instances
        self._mailboxes = mailboxes
        self._tasks: set[asyncio.Task[None]] = set()
        self._tokens: dict[str, set[CancellationToken]] = {}

    def __len__(self) -> int:
        """Activities in flight."""
        return len(self._tasks)

    def start(self, activity: StoredActivity) -> None:
        """Run a committed activity row; its completion is enqueued when it ends."""
        task = asyncio.get_running_loop().create_task(self._run(activity))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def running_for(self, instance_id: str) -> bool:
        """Whether an activity of the instance is running (started and not finished)."""
        return instance_id in self._tokens

    def cancel(self, instance_id: str) -> None:
        """Flip the cancellation tokens of the instance's activities (they may stop early)."""
        for token in list(self._tokens.get(instance_id, ())):
            token.cancel()

    async def drain(self, grace_s: float) -> None:
        """Wait up to `grace_s` for the activities in flight, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self) -> None:
        self._runner.shutdown()

    async def _run(self, activity: StoredActivity) -> None:
        token = CancellationToken(activity.instance_id)
        self._tokens.setdefault(activity.instance_id, set()).add(token)
        start = time.perf_counter()
        row = self._instances.get(activity.instance_id)
        traceparent = traceparent_of(row.instance, []) if row else None
        try:
            with self._telemetry.span(f"activity {activity.name}", traceparent,
                                      {"durable.instance_id": activity.instance_id,
                                       "durable.activity": activity.name}):
                if activity.kind == "http":
                    outcome = await call_http(json.loads(activity.input or "{}"))
                else:
                    outcome = await self._runner.run(activity.name, activity.input, token)
        except Exception as exc:  # pragma: no cover - runner converts user errors already
            outcome = ActivityOutcome(False, reason=f"Activity function '{activity.name}' failed: {exc}")
        finally:
            tokens = self._tokens.get(activity.instance_id)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._tokens[activity.instance_id]
        self._stats.activities += 1
        self._telemetry.activity(activity.name, time.perf_counter() - start, outcome.ok)
        self._deliver(activity, outcome)

    def _deliver(self, activity: StoredActivity, outcome: ActivityOutcome) -> None:
        now = from_epoch(self._clock())
        if outcome.ok:
            done = event(EventType.TASK_COMPLETED, now, TaskScheduledId=activity.task_id, Result=outcome.result)
        else:
            done = event(EventType.TASK_FAILED, now, TaskScheduledId=activity.task_id, Reason=outcome.reason,
                         Details=outcome.details)
        message = self._mailboxes.orchestration_message(activity.instance_id, done, activity.execution_id)
        message.activity_seq = activity.seq
        self._mailboxes.enqueue(message)
