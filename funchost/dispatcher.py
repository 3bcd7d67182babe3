"""The dispatcher: one asyncio loop owns the mailboxes, runs episodes and batches, and commits.

Every durable fact goes through the store before anyone is told about it. Work is driven from
memory: each target (an orchestration instance id or an entity id `@name@key`) has an ordered
mailbox mirrored from the `messages` table; a target is processed by one step at a time, and the
step's writes are queued for a group commit that runs at the end of the loop iteration, after
which the step's effects (new messages, activities, waiter wake-ups) are applied in memory.
State owned by the loop thread only: `_pending`, `_ready`, `_running`, `_instances`, `_delayed`.
If an after-commit hook raises, it is logged and the target is released; nothing is lost since
the store already holds the result.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import console, replay
from .activities import ActivityOutcome, ActivityRunner
from .cancellation import CancellationToken
from .discovery import FunctionSet
from .durable_http import call_http
from .entity_batch import Operation, OperationResult, response_event, run_batch
from .entity_cache import EntityStateCache
from .errors import (
    HostShuttingDown,
    InstanceAlreadyExists,
    InstanceFinished,
    InstanceNotFound,
    UnknownFunction,
)
from .history import EventType, HistoryEvent, event, from_epoch
from .ids import is_entity_id, split_entity_id
from .messages import Message, MessageRow, deletions, started_event, traceparent_of
from .replay import Instance, ParentRef
from .store import InstanceQuery, InstanceRow, Store, StoredActivity
from .telemetry import HostTelemetry

log = logging.getLogger("funchost.dispatcher")

MAX_ENTITY_BATCH = 5000
STEPS_PER_YIELD = 64


@dataclass
class _Record:
    instance: Instance
    created: float
    updated: float


@dataclass
class _Commit:
    write: Callable[[], None] | None
    after: Callable[[], None] | None
    future: asyncio.Future[None]
    rows: list[MessageRow] | None = None  # messages to insert; a flush inserts all of them in one call


@dataclass
class DispatcherStats:
    episodes: int = 0
    entity_batches: int = 0
    entity_operations: int = 0
    commits: int = 0
    activities: int = 0


class Dispatcher:
    """Owns mailboxes and runs the durable work of one host. Create and use it on one event loop."""

    def __init__(self, store: Store, functions: FunctionSet, runner: ActivityRunner,
                 telemetry: HostTelemetry | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.functions = functions
        self.registry = functions.registry()
        self.runner = runner
        self.telemetry = telemetry or HostTelemetry(None)
        self.clock = clock
        self.stats = DispatcherStats()
        self._seq = store.max_seq()
        self._pending: dict[str, list[Message]] = {}
        self._ready: deque[str] = deque()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._instances: dict[str, _Record] = {}
        self._delayed: list[tuple[float, int]] = []
        self._delayed_msgs: dict[int, Message] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._entity_waiters: dict[str, asyncio.Future[OperationResult]] = {}
        self._entity_states = EntityStateCache()
        self._listeners: dict[str, list[Callable[[InstanceRow], None]]] = {}
        self._tokens: dict[str, set[CancellationToken]] = {}
        self._commits: list[_Commit] = []
        self._flush_scheduled = False
        self._wake = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._activity_tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the store (after a clean stop or a crash) and start the loops."""
        now = self.clock()
        for row in self.store.active_instances(tuple(replay.ACTIVE_STATUSES)):
            self._instances[row.instance.instance_id] = _Record(row.instance, row.created, row.updated)
        for stored in self.store.all_messages():
            self._enqueue(Message(stored.seq, stored.target, stored.body, stored.visible_at), now)
        recovered = self.store.all_activities()
        for activity in recovered:
            self._start_activity(activity)
        if recovered:
            log.info("recovered %d in-flight activities; running them again (at-least-once)", len(recovered))
        self._tasks = [asyncio.create_task(self._pump(), name="funchost-pump"),
                       asyncio.create_task(self._timer_loop(), name="funchost-timers")]
        self.telemetry.bind_dispatcher(self)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking work, let in-flight activities finish for `grace_s`, commit, fail waiters."""
        self._closing = True
        if self._activity_tasks:
            await asyncio.wait(set(self._activity_tasks), timeout=grace_s)
        for task in self._tasks:
            task.cancel()
        for task in list(self._activity_tasks):
            task.cancel()
        self._persist_completions()
        self._flush()
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(HostShuttingDown())
        self._waiters.clear()
        for waiter in self._entity_waiters.values():
            if not waiter.done():
                waiter.set_exception(HostShuttingDown())
        self._entity_waiters.clear()
        self.runner.shutdown()

    def _persist_completions(self) -> None:
        """On a clean stop, keep finished activities' results rather than re-running them on restart."""
        done = [m for messages in self._pending.values() for m in messages if m.activity_seq is not None]
        if not done:
            return

        def write() -> None:
            self.store.delete_activities(sorted(m.activity_seq for m in done if m.activity_seq is not None))
            self.store.add_messages([(m.seq, m.target, json.dumps(m.body), 0.0) for m in done])

        self._commits.append(_Commit(write, None, asyncio.get_running_loop().create_future()))

    # -- commit ---------------------------------------------------------------------------------
    def _submit(self, write: Callable[[], None] | None, after: Callable[[], None] | None = None,
                rows: list[MessageRow] | None = None) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._commits.append(_Commit(write, after, future, rows))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        """Group commit: every write queued in this loop iteration goes into one transaction."""
        self._flush_scheduled = False
        commits, self._commits = self._commits, []
        if not commits:
            return
        start = time.perf_counter()
        try:
            with self.store.transaction():
                for commit in commits:
                    if commit.write is not None:
                        commit.write()
                self.store.add_messages([row for commit in commits if commit.rows for row in commit.rows])
            outcomes: list[BaseException | None] = [None] * len(commits)
        except Exception:
            log.exception("group commit of %d writes failed; committing them one by one", len(commits))
            outcomes = [self._commit_alone(c) for c in commits]
        self.stats.commits += 1
        self.telemetry.commit(time.perf_counter() - start)
        for commit, error in zip(commits, outcomes, strict=True):
            if error is None and commit.after is not None:
                try:
                    commit.after()
                except Exception:
                    log.exception("after-commit hook failed")
            if not commit.future.done():
                if error is None:
                    commit.future.set_result(None)
                else:
                    commit.future.set_exception(error)

    def _commit_alone(self, commit: _Commit) -> BaseException | None:
        try:
            with self.store.transaction():
                if commit.write is not None:
                    commit.write()
                if commit.rows:
                    self.store.add_messages(commit.rows)
            return None
        except Exception as exc:
            return exc

    # -- mailboxes ------------------------------------------------------------------------------
    def _new_message(self, target: str, body: dict[str, Any], visible_at: float | None = None) -> Message:
        self._seq += 1
        return Message(self._seq, target, body, visible_at if visible_at is not None else 0.0)

    def _enqueue(self, message: Message, now: float | None = None) -> None:
        if message.visible_at > (now if now is not None else self.clock()):
            heapq.heappush(self._delayed, (message.visible_at, message.seq))
            self._delayed_msgs[message.seq] = message
            self._timer_wake.set()
            return
        self._pending.setdefault(message.target, []).append(message)
        self._mark_ready(message.target)

    def _mark_ready(self, target: str) -> None:
        if target not in self._running and target not in self._queued:
            self._queued.add(target)
            self._ready.append(target)
            self._wake.set()

    def fire_due_timers(self, now: float) -> int:
        """Make every delayed message due at `now` visible; returns how many fired (testable step)."""
        fired = 0
        while self._delayed and self._delayed[0][0] <= now:
            _, seq = heapq.heappop(self._delayed)
            message = self._delayed_msgs.pop(seq, None)
            if message is None:
                continue
            message.visible_at = 0.0
            self._pending.setdefault(message.target, []).append(message)
            self._mark_ready(message.target)
            fired += 1
        return fired

    async def _timer_loop(self) -> None:
        while True:
            self.fire_due_timers(self.clock())
            timeout = max(0.0, self._delayed[0][0] - self.clock()) if self._delayed else None
            try:
                await asyncio.wait_for(self._timer_wake.wait(), timeout)
            except TimeoutError:
                pass
            self._timer_wake.clear()

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            steps = 0
            while self._ready:
                target = self._ready.popleft()
                self._queued.discard(target)
                if target in self._running or not self._pending.get(target):
                    continue
                self._running.add(target)
                try:
                    if is_entity_id(target):
                        self._process_entity(target)
                    else:
                        self._process_orchestration(target)
                except Exception:
                    log.exception("engine error while processing %s; retrying it in 1 s", target)
                    self._running.discard(target)
                    asyncio.get_running_loop().call_later(1.0, self._mark_ready, target)
                steps += 1
                if steps % STEPS_PER_YIELD == 0:
                    await asyncio.sleep(0)

    def _release(self, target: str, consumed: set[int]) -> None:
        remaining = [m for m in self._pending.get(target, []) if m.seq not in consumed]
        if remaining:
            self._pending[target] = remaining
        else:
            self._pending.pop(target, None)
        self._running.discard(target)

    # -- orchestrations -------------------------------------------------------------------------
    def _process_orchestration(self, target: str) -> None:
        messages = list(self._pending.get(target, []))
        record = self._instances.get(target)
        if record is None:
            self._drop_messages(target, messages)
            return
        inst = record.instance
        stale = [m for m in messages if m.body.get("x") and m.body["x"] != inst.execution_id]
        live = [m for m in messages if m not in stale]
        now_s = self.clock()
        now = from_epoch(now_s)
        handle = self.functions.orchestrator(inst.name)
        episode_start = time.perf_counter()
        events = [m.body["e"] for m in live]
        with self.telemetry.span(f"orchestration {inst.name}", traceparent_of(inst, events),
                                 {"durable.instance_id": target, "durable.orchestrator": inst.name}):
            episode = console.orchestrator_episode(inst.name, target, inst.status, replay.run_episode, inst, events,
                                                   handle, self.registry, now)
        self.stats.episodes += 1
        used = [live[i] for i in episode.consumed] + stale
        if not used:
            self._running.discard(target)
            return
        new = episode.instance
        plan = _Plan()
        if episode.continue_input is not None:
            new = self._continue_as_new(new, episode.continue_input, now, plan)
        self._plan_work(new, episode.work, now_s, now, plan)
        if new.status in replay.TERMINAL_STATUSES and new.parent is not None:
            completion = replay.completion_event_for_parent(new, now)
            if completion is not None:
                plan.messages.append(self._new_message(new.parent.instance_id,
                                                       {"e": completion, "x": new.parent.execution_id}))
        if episode.invoked:
            self.telemetry.episode(inst.name, time.perf_counter() - episode_start)
        self._commit_episode(target, new, used, plan, record.created, now_s)

    def _commit_episode(self, target: str, new: Instance, used: list[Message], plan: _Plan, created: float,
                        now_s: float) -> None:
        """Write the episode's outcome in the group commit, then release its effects in memory."""
        terminal = new.status in replay.TERMINAL_STATUSES
        message_rows, activity_rows = deletions(used)

        def write() -> None:
            self.store.delete_messages(message_rows)
            self.store.delete_activities(activity_rows)
            if terminal:
                self.store.delete_messages_for(target)
                self.store.delete_activities_for(target)
            for child in plan.children:
                self.store.put_instance(child, now_s, now_s)
            self.store.put_instance(new, created, now_s)
            self.store.add_messages([(m.seq, m.target, json.dumps(m.body), m.visible_at) for m in plan.messages])
            self.store.add_activities(plan.activities)

        def after() -> None:
            if terminal:
                self._drop_mailbox(target)
                self._instances.pop(target, None)
                self._cancel_activities(target)
            else:
                self._instances[target] = _Record(new, created, now_s)
            for child in plan.children:
                self._instances[child.instance_id] = _Record(child, now_s, now_s)
            self._release(target, {m.seq for m in used})
            for message in plan.messages:
                self._enqueue(message)
            for activity in plan.activities:
                self._start_activity(activity)
            self._notify(InstanceRow(new, created, now_s))
            if self._pending.get(target):
                self._mark_ready(target)

        self._submit(write, after)

    def _drop_messages(self, target: str, messages: list[Message]) -> None:
        message_rows, activity_rows = deletions(messages)

        def write() -> None:
            self.store.delete_messages(message_rows)
            self.store.delete_activities(activity_rows)

        self._submit(write, lambda: self._release(target, {m.seq for m in messages}))

    def _drop_mailbox(self, target: str) -> None:
        for message in self._pending.get(target, []):
            self._delayed_msgs.pop(message.seq, None)
        for seq, message in list(self._delayed_msgs.items()):
            if message.target == target:
                del self._delayed_msgs[seq]

    def _continue_as_new(self, inst: Instance, new_input: str | None, now: datetime, plan: _Plan) -> Instance:
        fresh = Instance(instance_id=inst.instance_id, name=inst.name, execution_id=uuid.uuid4().hex,
                         input=new_input, status=replay.RUNNING, custom_status=inst.custom_status,
                         parent=inst.parent)
        started = started_event(fresh, now, traceparent_of(inst, []))
        plan.messages.append(self._new_message(inst.instance_id, {"e": started, "x": fresh.execution_id}))
        return fresh

    def _plan_work(self, inst: Instance, work: list[replay.Work], now_s: float, now: datetime,
                   plan: _Plan) -> None:
        for item in work:
            if isinstance(item, replay.ScheduleActivity | replay.CallHttp):
                kind = "activity" if isinstance(item, replay.ScheduleActivity) else "http"
                name = item.name if isinstance(item, replay.ScheduleActivity) else replay.HTTP_ACTIVITY_NAME
                data = item.input if isinstance(item, replay.ScheduleActivity) else json.dumps(item.request)
                self._seq += 1
                plan.activities.append(StoredActivity(self._seq, inst.instance_id, inst.execution_id,
                                                      item.task_id, name, data, kind))
            elif isinstance(item, replay.StartTimer):
                fired = event(EventType.TIMER_FIRED, item.fire_at, TimerId=item.timer_id,
                              FireAt=item.fire_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                plan.messages.append(self._new_message(inst.instance_id, {"e": fired, "x": inst.execution_id},
                                                       item.fire_at.timestamp()))
            elif isinstance(item, replay.SendEntityMessage):
                op = Operation(seq=0, name=item.operation, input=item.input, signal=item.signal,
                               request_id=item.request_id,
                               parent=None if item.signal else inst.instance_id,
                               parent_execution=None if item.signal else inst.execution_id, enqueued_at=now_s,
                               traceparent=traceparent_of(inst, []))
                plan.messages.append(self._new_message(item.entity_id, op.to_json()))
            elif isinstance(item, replay.StartSubOrchestration):
                self._plan_child(inst, item, now, plan)
            else:  # pragma: no cover - run_episode only emits the kinds above
                raise ValueError(f"unknown work item {item!r}")

    def _plan_child(self, parent: Instance, item: replay.StartSubOrchestration, now: datetime,
                    plan: _Plan) -> None:
        existing = self._instances.get(item.instance_id)
        if existing is not None or any(c.instance_id == item.instance_id for c in plan.children):
            failed = event(EventType.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=item.task_id,
                           Reason=f"an orchestration instance with id '{item.instance_id}' is already running",
                           Details="")
            plan.messages.append(self._new_message(parent.instance_id, {"e": failed, "x": parent.execution_id}))
            return
        child = Instance(instance_id=item.instance_id, name=item.name, execution_id=uuid.uuid4().hex,
                         input=item.input, status=replay.PENDING,
                         parent=ParentRef(parent.instance_id, parent.execution_id, item.task_id))
        plan.children.append(child)
        child_started = started_event(child, now, traceparent_of(parent, []))
        plan.messages.append(self._new_message(child.instance_id, {"e": child_started, "x": child.execution_id}))

    # -- activities -----------------------------------------------------------------------------
    def _start_activity(self, activity: StoredActivity) -> None:
        task = asyncio.get_running_loop().create_task(self._run_activity(activity))
        self._activity_tasks.add(task)
        task.add_done_callback(self._activity_tasks.discard)

    async def _run_activity(self, activity: StoredActivity) -> None:
        token = CancellationToken(activity.instance_id)
        self._tokens.setdefault(activity.instance_id, set()).add(token)
        start = time.perf_counter()
        record = self._instances.get(activity.instance_id)
        traceparent = traceparent_of(record.instance, []) if record else None
        try:
            with self.telemetry.span(f"activity {activity.name}", traceparent,
                                     {"durable.instance_id": activity.instance_id, "durable.activity": activity.name}):
                if activity.kind == "http":
                    outcome = await call_http(json.loads(activity.input or "{}"))
                else:
                    outcome = await self.runner.run(activity.name, activity.input, token)
        except Exception as exc:  # pragma: no cover - runner converts user errors already
            outcome = ActivityOutcome(False, reason=f"Activity function '{activity.name}' failed: {exc}")
        finally:
            tokens = self._tokens.get(activity.instance_id)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._tokens[activity.instance_id]
        self.stats.activities += 1
        self.telemetry.activity(activity.name, time.perf_counter() - start, outcome.ok)
        now = from_epoch(self.clock())
        if outcome.ok:
            done = event(EventType.TASK_COMPLETED, now, TaskScheduledId=activity.task_id, Result=outcome.result)
        else:
            done = event(EventType.TASK_FAILED, now, TaskScheduledId=activity.task_id, Reason=outcome.reason,
                         Details=outcome.details)
        message = self._new_message(activity.instance_id, {"e": done, "x": activity.execution_id})
        message.activity_seq = activity.seq
        self._enqueue(message)

    def _cancel_activities(self, instance_id: str) -> None:
        for token in list(self._tokens.get(instance_id, ())):
            token.cancel()

    # -- entities -------------------------------------------------------------------------------
    def _process_entity(self, target: str) -> None:
        messages = self._pending.get(target, [])[:MAX_ENTITY_BATCH]
        operations = [Operation.from_json(m.seq, m.body) for m in messages]
        name, key = split_entity_id(target)
        known, exists, state = self._entity_states.get(target)
        if not known:
            row = self.store.get_entity(target)
            exists, state = row is not None, row.state if row is not None else None
        now_s = self.clock()
        start = time.perf_counter()
        started_ns = time.time_ns()
        outcome = console.entity_batch(self.functions.entities.get(name, (name, None))[0], target, len(operations),
                                       run_batch, self.functions.entity(name), target, state, exists, operations)
        elapsed = time.perf_counter() - start
        self.telemetry.entity_spans(name, target, operations, outcome.results, started_ns, time.time_ns())
        self.stats.entity_batches += 1
        self.stats.entity_operations += len(operations)
        self.telemetry.entity_batch(name, operations, outcome.results, elapsed, now_s)
        now = from_epoch(now_s)
        responses = [
            self._new_message(op.parent, {"e": response_event(op, result, now), "x": op.parent_execution})
            for op, result in zip(operations, outcome.results, strict=True)
            if not op.signal and op.parent and op.request_id
        ]
        consumed = {m.seq for m in messages}

        def write() -> None:
            self.store.delete_messages(sorted(consumed))
            if outcome.exists:
                self.store.put_entity(target, name, key, outcome.state, now_s)
            elif exists:
                self.store.delete_entity(target)
            self.store.add_messages([(m.seq, m.target, json.dumps(m.body), 0.0) for m in responses])

        def after() -> None:
            if outcome.exists:
                self._entity_states.put(target, outcome.state)
            else:
                self._entity_states.discard(target)
            self._release(target, consumed)
            for message in responses:
                self._enqueue(message)
            for op, result in zip(operations, outcome.results, strict=True):
                waiter = self._entity_waiters.pop(op.request_id, None) if op.request_id else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(result)
            if self._pending.get(target):
                self._mark_ready(target)

        self._submit(write, after)

    # -- client operations (called from HTTP handlers on the loop) -------------------------------
    async def start_orchestration(self, name: str, instance_id: str | None, input_text: str | None,
                                  traceparent: str | None = None) -> str:
        known = self.functions.orchestrators.get(name.lower())
        if known is None:
            raise UnknownFunction("orchestrator", name)
        if self._closing:
            raise HostShuttingDown()
        instance_id = instance_id or uuid.uuid4().hex
        existing = self._instances.get(instance_id)
        if existing is not None:
            raise InstanceAlreadyExists(instance_id, existing.instance.status)
        now_s = self.clock()
        inst = Instance(instance_id=instance_id, name=known[0], execution_id=uuid.uuid4().hex, input=input_text)
        started = self._new_message(instance_id, {"e": started_event(inst, from_epoch(now_s), traceparent),
                                                  "x": inst.execution_id})
        self._instances[instance_id] = _Record(inst, now_s, now_s)  # reserve the id until committed

        def write() -> None:
            self.store.delete_instance(instance_id)
            self.store.put_instance(inst, now_s, now_s)
            self.store.add_messages([(started.seq, instance_id, json.dumps(started.body), 0.0)])

        try:
            await self._submit(write, lambda: self._enqueue(started))
        except BaseException:
            self._instances.pop(instance_id, None)
            raise
        self.telemetry.orchestration_started(inst.name)
        return instance_id

    def _require_active(self, instance_id: str) -> Instance:
        record = self._instances.get(instance_id)
        if record is not None:
            return record.instance
        row = self.store.get_instance(instance_id)
        if row is None:
            raise InstanceNotFound(instance_id)
        raise InstanceFinished(instance_id, row.instance.status)

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        self._require_active(instance_id)
        await self._send_control(instance_id, event(EventType.EVENT_RAISED, from_epoch(self.clock()),
                                                    Name=name, Input=data_text))

    async def terminate(self, instance_id: str, reason: str | None, wait_s: float = 5.0) -> None:
        """Queue the termination and wait (briefly) until it is applied, so a read after 202 sees it."""
        self._require_active(instance_id)
        waiter = self._waiter(instance_id)
        await self._send_control(instance_id, event(EventType.EXECUTION_TERMINATED, from_epoch(self.clock()),
                                                    Input=reason))
        self._cancel_activities(instance_id)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), wait_s)
        except TimeoutError:
            pass

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        self._require_active(instance_id)
        await self._send_control(instance_id, event(EventType.EXECUTION_SUSPENDED, from_epoch(self.clock()),
                                                    Reason=reason))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        self._require_active(instance_id)
        await self._send_control(instance_id, event(EventType.EXECUTION_RESUMED, from_epoch(self.clock()),
                                                    Reason=reason))

    async def _send_control(self, instance_id: str, ev: HistoryEvent) -> None:
        message = self._new_message(instance_id, {"e": ev, "x": None})
        await self._submit(None, lambda: self._enqueue(message),
                           [(message.seq, instance_id, json.dumps(message.body), 0.0)])

    async def signal_entity(self, entity_id: str, operation: str, input_text: str | None,
                            builtin_delete: bool = False, traceparent: str | None = None) -> None:
        name, _ = split_entity_id(entity_id)
        if self.functions.entity(name) is None:
            raise UnknownFunction("entity", name)
        if self._closing:
            raise HostShuttingDown()
        op = Operation(seq=0, name=operation, input=input_text, signal=True, enqueued_at=self.clock(),
                       builtin_delete=builtin_delete, traceparent=traceparent)
        message = self._new_message(entity_id, op.to_json())
        await self._submit(None, lambda: self._enqueue(message),
                           [(message.seq, entity_id, json.dumps(message.body), 0.0)])

    async def call_entity(self, entity_id: str, operation: str, input_text: str | None,
                          timeout_s: float = 30.0, traceparent: str | None = None) -> OperationResult:
        """Ask an entity directly (an in-process client call) and wait for the operation's result.

        The operation is committed to the entity's mailbox like any other before this waits, so it
        runs even if the caller goes away or the host restarts; only the answer is in memory.
        """
        name, _ = split_entity_id(entity_id)
        if self.functions.entity(name) is None:
            raise UnknownFunction("entity", name)
        if self._closing:
            raise HostShuttingDown()
        request_id = uuid.uuid4().hex
        op = Operation(seq=0, name=operation, input=input_text, signal=False, request_id=request_id,
                       enqueued_at=self.clock(), traceparent=traceparent)
        message = self._new_message(entity_id, op.to_json())
        waiter: asyncio.Future[OperationResult] = asyncio.get_running_loop().create_future()
        self._entity_waiters[request_id] = waiter
        try:
            await self._submit(None, lambda: self._enqueue(message),
                               [(message.seq, entity_id, json.dumps(message.body), 0.0)])
            return await asyncio.wait_for(waiter, timeout_s)
        finally:
            self._entity_waiters.pop(request_id, None)

    def read_entity(self, entity_id: str) -> tuple[bool, str | None]:
        row = self.store.get_entity(entity_id)
        return (True, row.state) if row is not None else (False, None)

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        record = self._instances.get(instance_id)
        if record is not None:
            return InstanceRow(record.instance, record.created, record.updated)
        return self.store.get_instance(instance_id)

    def query(self, q: InstanceQuery) -> list[InstanceRow]:
        return self.store.query_instances(q)

    async def purge(self, instance_id: str) -> int:
        if instance_id in self._instances:
            raise InstanceAlreadyExists(instance_id, self._instances[instance_id].instance.status)
        if self.store.get_instance(instance_id) is None:
            return 0
        result: list[bool] = []
        await self._submit(lambda: result.append(self.store.delete_instance(instance_id)))
        return 1 if result and result[0] else 0

    async def purge_many(self, q: InstanceQuery) -> int:
        finished = tuple(s for s in (q.statuses or tuple(replay.TERMINAL_STATUSES))
                         if s in replay.TERMINAL_STATUSES)
        if not finished:
            return 0
        deleted: list[str] = []
        query = InstanceQuery(q.created_from, q.created_to, finished, q.prefix)
        await self._submit(lambda: deleted.extend(self.store.delete_instances(query)))
        return len(deleted)

    async def restart(self, instance_id: str, new_id: bool) -> str:
        row = self.get_instance(instance_id)
        if row is None:
            raise InstanceNotFound(instance_id)
        if not new_id and instance_id in self._instances:
            raise InstanceAlreadyExists(instance_id, row.instance.status)
        return await self.start_orchestration(row.instance.name, None if new_id else instance_id,
                                              row.instance.input)

    def _waiter(self, instance_id: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if instance_id not in self._instances:
            future.set_result(None)
        else:
            self._waiters.setdefault(instance_id, []).append(future)
        return future

    async def wait_for_completion(self, instance_id: str, timeout_s: float) -> InstanceRow | None:
        """Wait (event-driven, no polling) until the instance ends or `timeout_s` passes."""
        future = self._waiter(instance_id)
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            pass
        return self.get_instance(instance_id)

    def add_listener(self, instance_id: str, callback: Callable[[InstanceRow], None]) -> Callable[[], None]:
        """Call `callback` after every committed change of the instance; returns the remover."""
        self._listeners.setdefault(instance_id, []).append(callback)

        def remove() -> None:
            callbacks = self._listeners.get(instance_id, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._listeners.pop(instance_id, None)

        return remove

    def _notify(self, row: InstanceRow) -> None:
        instance_id = row.instance.instance_id
        for callback in list(self._listeners.get(instance_id, ())):
            try:
                callback(row)
            except Exception:
                log.exception("status listener of %s failed", instance_id)
        if row.instance.status in replay.TERMINAL_STATUSES:
            self.telemetry.orchestration_finished(row.instance.name, row.instance.status)
            for future in self._waiters.pop(instance_id, []):
                if not future.done():
                    future.set_result(None)

    # -- introspection (metrics) ----------------------------------------------------------------
    def mailbox_depths(self) -> dict[str, int]:
        """Operations waiting per entity type (the entity name)."""
        depths: dict[str, int] = {}
        for target, messages in self._pending.items():
            if is_entity_id(target):
                name = target.split("@")[1]
                depths[name] = depths.get(name, 0) + len(messages)
        return depths

    def running_by_name(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self._instances.values():
            counts[record.instance.name] = counts.get(record.instance.name, 0) + 1
        return counts

    def pending_work(self) -> dict[str, int]:
        orchestration = sum(len(m) for t, m in self._pending.items() if not is_entity_id(t))
        entity = sum(len(m) for t, m in self._pending.items() if is_entity_id(t))
        return {"orchestration": orchestration, "entity": entity, "activity": len(self._activity_tasks),
                "timer": len(self._delayed_msgs)}

    def active_entities(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for target in self._running | set(self._pending):
            if is_entity_id(target):
                name = target.split("@")[1]
                counts[name] = counts.get(name, 0) + 1
        return counts

    def idle(self) -> bool:
        return not self._pending and not self._running and not self._activity_tasks and not self._commits


@dataclass
class _Plan:
    messages: list[Message] = field(default_factory=list)
    activities: list[StoredActivity] = field(default_factory=list)
    children: list[Instance] = field(default_factory=list)
