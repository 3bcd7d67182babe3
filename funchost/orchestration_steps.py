"""One orchestration step: run an episode over an instance's mailbox, plan it, commit it, apply it.

The step reads the instance's visible messages, runs the replay engine on them (user code runs
here, inside the SDK's orchestrator handle), plans the outcome (`episode_plan`), queues the
writes for the group commit and, after the commit, releases the consumed messages, enqueues the
new ones, starts the activities and tells listeners. Runs on the dispatcher's loop thread.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from . import console, replay
from .activity_runs import ActivityRuns
from .discovery import FunctionSet
from .episode_plan import Ids, Plan, plan_episode, split_stale
from .group_commit import GroupCommit
from .history import from_epoch
from .instances import LiveInstances
from .mailboxes import Mailboxes
from .messages import Message, deletions, traceparent_of
from .model import TERMINAL_STATUSES
from .stats import DispatcherStats
from .store import InstanceRow, Store
from .telemetry import HostTelemetry


class OrchestrationSteps:
    """Processes orchestration targets taken from the mailboxes; one step per target at a time."""

    def __init__(self, store: Store, functions: FunctionSet, telemetry: HostTelemetry,
                 clock: Callable[[], float], stats: DispatcherStats, mailboxes: Mailboxes, commits: GroupCommit,
                 instances: LiveInstances, activities: ActivityRuns) -> None:
        self._store = store
        self._functions = functions
        self._registry = functions.registry()
        self._telemetry = telemetry
        self._clock = clock
        self._stats = stats
        self._mailboxes = mailboxes
        self._commits = commits
        self._instances = instances
        self._activities = activities
        self._ids = Ids(mailboxes.next_seq, lambda: uuid.uuid4().hex)

    def process(self, target: str) -> None:
        """Run one episode of instance `target` over its visible messages and queue its commit."""
        messages = list(self._mailboxes.messages(target))
        row = self._instances.get(target)
        if row is None:
            self._drop_messages(target, messages)
            return
        inst = row.instance
        live, stale = split_stale(messages, inst.execution_id)
        now_s = self._clock()
        handle = self._functions.orchestrator(inst.name)
        episode_start = time.perf_counter()
        events = [m.event for m in live]
        now = from_epoch(now_s)
        with self._telemetry.span(f"orchestration {inst.name}", traceparent_of(inst, events),
                                  {"durable.instance_id": target, "durable.orchestrator": inst.name}):
            episode = console.orchestrator_episode(inst.name, target, inst.status, replay.run_episode, inst, events,
                                                   handle, self._registry, now)
        self._stats.episodes += 1
        used = [live[i] for i in episode.consumed] + stale
        if not used:
            self._mailboxes.put_back(target)
            return
        plan = plan_episode(episode, now_s, self._ids, self._instances, now)
        if episode.invoked:
            self._telemetry.episode(inst.name, time.perf_counter() - episode_start)
        self._commit(target, plan, used, row.created, now_s)

    def _commit(self, target: str, plan: Plan, used: list[Message], created: float, now_s: float) -> None:
        """Write the episode's outcome in the group commit, then release its effects in memory."""
        new = plan.instance
        terminal = new.status in TERMINAL_STATUSES
        message_rows, activity_rows = deletions(used)
        store = self._store

        def write() -> None:
            if message_rows:
                store.delete_messages(message_rows)
            if activity_rows:
                store.delete_activities(activity_rows)
            if terminal:
                store.delete_messages_for(target)
                store.delete_activities_for(target)
            for child in plan.children:
                store.put_instance(child, now_s, now_s)
            store.update_instance(new, created, now_s)  # its row was written when it started
            if plan.messages:
                store.add_messages([m.row() for m in plan.messages])
            if plan.activities:
                store.add_activities(plan.activities)

        def after() -> None:
            self._apply(target, plan, used, created, now_s)

        self._commits.submit(write, after, failed=lambda: self._mailboxes.retry_later(target))

    def _apply(self, target: str, plan: Plan, used: list[Message], created: float, now_s: float) -> None:
        """After the commit: update the live table, release the mailbox, start the new work."""
        new = plan.instance
        mailboxes = self._mailboxes
        if new.status in TERMINAL_STATUSES:
            mailboxes.forget_timers(target)
            self._instances.pop(target)
            self._activities.cancel(target)
        else:
            self._instances.put(new, created, now_s)
        for child in plan.children:
            self._instances.put(child, now_s, now_s)
        mailboxes.release(target, {m.seq for m in used})
        for message in plan.messages:
            mailboxes.enqueue(message)
        for activity in plan.activities:
            self._activities.start(activity)
        self._instances.notify(InstanceRow(new, created, now_s))
        if mailboxes.has_messages(target):
            mailboxes.mark_ready(target)
        elif not plan.activities and not self._activities.running_for(target):
            # Waiting for a timer, an event or a child: the SDK objects kept for the next episode would
            # only hold memory meanwhile; that episode builds them again.
            new.sdk_memo.clear()

    def _drop_messages(self, target: str, messages: list[Message]) -> None:
        """Messages for an instance that is not live (finished or purged) are deleted unread."""
        message_rows, activity_rows = deletions(messages)
        store = self._store

        def write() -> None:
            store.delete_messages(message_rows)
            store.delete_activities(activity_rows)

        self._commits.submit(write, lambda: self._mailboxes.release(target, {m.seq for m in messages}),
                             failed=lambda: self._mailboxes.retry_later(target))

