"""The dispatcher: one asyncio loop owns the mailboxes, runs each target's steps, and commits.

Every durable fact goes through the store before anyone is told about it. Work is driven from
memory: each target (an orchestration instance id or an entity id `@name@key`) has an ordered
mailbox mirrored from the `messages` table (`mailboxes`); a target is processed by one step at a
time (`orchestration_steps`, `entity_steps`), and the step's writes are queued for a group
commit (`group_commit`) that runs at the end of the loop iteration, after which the step's
effects (new messages, activities, waiter wake-ups) are applied in memory. This module owns the
loop (the pump and the timer task), recovery at start, shutdown, and the client API the HTTP
handlers call; it implements `telemetry.GaugeSource` for telemetry. All of it runs on one event
loop; the group commit commits on the loop when the store's write lock is free at once and
otherwise hands the transaction to the store's writer thread, so no wait for the lock ever stops
the loop (reads use the store's read connection or the entity state cache). If an after-commit
hook raises, it is logged and the target is released; nothing is lost since the store already
holds the result.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial

from .activities import ActivityRunner
from .activity_runs import ActivityRuns
from .discovery import FunctionSet
from .entity_batch import Operation, OperationResult
from .entity_steps import EntitySteps
from .errors import (
    HostShuttingDown,
    InstanceAlreadyExists,
    InstanceFinished,
    InstanceNotFound,
    UnknownFunction,
)
from .group_commit import GroupCommit
from .history import EventType, HistoryEvent, event, from_epoch
from .ids import is_entity_id, split_entity_id
from .instances import LiveInstances
from .mailboxes import Mailboxes
from .messages import started_event
from .model import ACTIVE_STATUSES, TERMINAL_STATUSES, Instance
from .orchestration_steps import OrchestrationSteps
from .stats import DispatcherStats
from .store import InstanceQuery, InstanceRow, Store
from .telemetry import HostTelemetry

__all__ = ["STEPS_PER_YIELD", "Dispatcher", "DispatcherStats"]

log = logging.getLogger("funchost.dispatcher")

STEPS_PER_YIELD = 64


class Dispatcher:
    """Owns mailboxes and runs the durable work of one host. Create and use it on one event loop."""

    def __init__(self, store: Store, functions: FunctionSet, runner: ActivityRunner,
                 telemetry: HostTelemetry | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.functions = functions
        self.telemetry = telemetry or HostTelemetry()
        self.clock = clock
        self.stats = DispatcherStats()
        self._mailboxes = Mailboxes(clock, store.max_seq(), self.telemetry.enqueued)
        self._commits = GroupCommit(store, self._committed)
        self._instances = LiveInstances(self.telemetry)
        self._activities = ActivityRuns(runner, self.telemetry, clock, self.stats, self._instances, self._mailboxes)
        self._orchestrations = OrchestrationSteps(store, functions, self.telemetry, clock, self.stats,
                                                  self._mailboxes, self._commits, self._instances,
                                                  self._activities)
        self._entities = EntitySteps(store, functions, self.telemetry, clock, self.stats, self._mailboxes,
                                     self._commits)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._enqueuing: dict[str, int] = {}  # entity id -> its client operations committing, not yet enqueued

    @property
    def closing(self) -> bool:
        """True once `stop` began: no new work is accepted."""
        return self._closing

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the store (after a clean stop or a crash) and start the loops."""
        now = self.clock()
        for row in self.store.active_instances(tuple(ACTIVE_STATUSES)):
            self._instances.put(row.instance, row.created, row.updated)
        for message in self.store.all_messages():
            self._mailboxes.enqueue(message, now)
        recovered = self.store.all_activities()
        for activity in recovered:
            self._activities.start(activity)
        if recovered:
            log.info("recovered %d in-flight activities; running them again (at-least-once)", len(recovered))
        self._tasks = [asyncio.create_task(self._pump(), name="funchost-pump"),
                       asyncio.create_task(self._mailboxes.run_timers(), name="funchost-timers")]

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking work, let in-flight activities finish for `grace_s`, commit, fail waiters."""
        self._closing = True
        await self._activities.drain(grace_s)
        for task in self._tasks:
            task.cancel()
        self._persist_completions()
        await self._commits.flush()
        self._commits.close()
        self._instances.fail_waiters(HostShuttingDown())
        self._entities.fail_waiters(HostShuttingDown())
        self._activities.shutdown()

    def _persist_completions(self) -> None:
        """On a clean stop, keep finished activities' results rather than re-running them on restart."""
        done = self._mailboxes.activity_completions()
        if not done:
            return
        store = self.store

        def write() -> None:
            store.delete_activities(sorted(m.activity_seq for m in done if m.activity_seq is not None))
            store.add_messages([m.row() for m in done])

        self._commits.queue(write)

    def _committed(self, seconds: float) -> None:
        self.stats.commits += 1
        self.telemetry.commit(seconds)

    def fire_due_timers(self, now: float) -> int:
        """Make every delayed message due at `now` visible; returns how many fired (see Mailboxes.step)."""
        return self._mailboxes.step(now)

    async def _pump(self) -> None:
        """Run the ready targets' steps, yielding to the loop every STEPS_PER_YIELD steps."""
        mailboxes = self._mailboxes
        while True:
            await mailboxes.wait_ready()
            steps = 0
            while (target := mailboxes.take()) is not None:
                try:
                    if is_entity_id(target):
                        self._entities.process(target)
                    else:
                        self._orchestrations.process(target)
                except Exception:
                    log.exception("engine error while processing %s; retrying it in 1 s", target)
                    mailboxes.put_back(target)
                    asyncio.get_running_loop().call_later(1.0, mailboxes.mark_ready, target)
                steps += 1
                if steps % STEPS_PER_YIELD == 0:
                    await asyncio.sleep(0)

    # -- client operations (called from HTTP handlers on the loop) -------------------------------
    async def start_orchestration(self, name: str, instance_id: str | None, input_text: str | None,
                                  traceparent: str | None = None, input_is_value: bool = False) -> str:
        """Start `name`; `input_is_value` marks `input_text` as the JSON text of a non-string value
        (see ReplayMeta.input_is_value)."""
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
        inst.meta.input_is_value = input_is_value and input_text is not None
        started = self._mailboxes.orchestration_message(
            instance_id, started_event(inst, from_epoch(now_s), traceparent), inst.execution_id)
        self._instances.put(inst, now_s, now_s)  # reserve the id until committed
        store = self.store

        def write() -> None:
            store.delete_instance(instance_id)
            store.put_instance(inst, now_s, now_s)
            store.add_messages([started.row()])

        try:
            await self._commits.submit(write, lambda: self._mailboxes.enqueue(started))
        except BaseException:
            self._instances.pop(instance_id)
            raise
        self.telemetry.orchestration_started(inst.name)
        return instance_id

    def _require_active(self, instance_id: str) -> Instance:
        live = self._instances.get(instance_id)
        if live is not None:
            return live.instance
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
        waiter = self._instances.waiter(instance_id)
        await self._send_control(instance_id, event(EventType.EXECUTION_TERMINATED, from_epoch(self.clock()),
                                                    Input=reason))
        self._activities.cancel(instance_id)
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
        message = self._mailboxes.orchestration_message(instance_id, ev, None)
        await self._commits.submit(None, lambda: self._mailboxes.enqueue(message), [message.row()])

    async def signal_entity(self, entity_id: str, operation: str, input_text: str | None,
                            builtin_delete: bool = False, traceparent: str | None = None) -> None:
        name, _ = split_entity_id(entity_id)
        if self.functions.entity(name) is None:
            raise UnknownFunction("entity", name)
        if self._closing:
            raise HostShuttingDown()
        op = Operation(seq=0, name=operation, input=input_text, signal=True, enqueued_at=self.clock(),
                       builtin_delete=builtin_delete, traceparent=traceparent)
        if not builtin_delete and entity_id not in self._enqueuing:
            # An idle entity runs the signal now: one commit (its state) instead of two (the message, then
            # the batch consuming it), and still a commit before the answer (see EntitySteps.run_signal).
            try:
                applied = self._entities.run_signal(entity_id, op)
            except Exception:
                log.exception("engine error while running a signal to %s; queueing it instead", entity_id)
                applied = None
            if applied is not None:
                self.telemetry.enqueued(entity_id, 1)  # as a message alone in its mailbox would be
                await applied
                return
        await self._enqueue_entity_operation(entity_id, op)

    def _enqueue_entity_operation(self, entity_id: str, op: Operation) -> asyncio.Future[None]:
        """Commit `op` as a message to `entity_id`'s mailbox. Until it is in the mailbox (after the commit),
        the entity counts as not idle for a signal (`_enqueuing`), so a later signal never overtakes it."""
        message = self._mailboxes.entity_message(entity_id, op.to_json())
        enqueuing = self._enqueuing
        enqueuing[entity_id] = enqueuing.get(entity_id, 0) + 1

        def settled() -> None:
            left = enqueuing.pop(entity_id) - 1
            if left:
                enqueuing[entity_id] = left

        def committed() -> None:
            settled()
            self._mailboxes.enqueue(message)

        return self._commits.submit(None, committed, [message.row()], failed=settled)

    async def call_entity(self, entity_id: str, operation: str, input_text: str | None,
                          timeout_s: float = 30.0, traceparent: str | None = None) -> OperationResult:
        """Ask an entity directly (an in-process client call) and wait for the operation's result.

        The operation is committed to the entity's mailbox like any other before it can run, so it
        runs even if the caller goes away or the host restarts; only the answer is in memory. The
        caller's task sleeps once, until the answer (or the commit's failure, or the timeout: TimeoutError)
        sets `waiter`: no wake-up after the message's commit, no `wait_for` hop.
        """
        name, _ = split_entity_id(entity_id)
        if self.functions.entity(name) is None:
            raise UnknownFunction("entity", name)
        if self._closing:
            raise HostShuttingDown()
        request_id = uuid.uuid4().hex
        op = Operation(seq=0, name=operation, input=input_text, signal=False, request_id=request_id,
                       enqueued_at=self.clock(), traceparent=traceparent)
        waiter = self._entities.expect(request_id)
        committed = self._enqueue_entity_operation(entity_id, op)
        committed.add_done_callback(partial(_fail_waiter, waiter))
        timer = asyncio.get_running_loop().call_later(timeout_s, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._entities.forget(request_id)

    def read_entity(self, entity_id: str) -> tuple[bool, str | None]:
        """(exists, state) as last committed: from the state cache, else the store's read connection."""
        return self._entities.read(entity_id)

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        live = self._instances.get(instance_id)
        return live if live is not None else self.store.get_instance(instance_id)

    def query(self, q: InstanceQuery) -> list[InstanceRow]:
        return self.store.query_instances(q)

    async def purge(self, instance_id: str) -> int:
        live = self._instances.get(instance_id)
        if live is not None:
            raise InstanceAlreadyExists(instance_id, live.instance.status)
        if self.store.get_instance(instance_id) is None:
            return 0
        result: list[bool] = []
        await self._commits.submit(lambda: result.append(self.store.delete_instance(instance_id)))
        return 1 if result and result[0] else 0

    async def purge_many(self, q: InstanceQuery) -> int:
        finished = tuple(s for s in (q.statuses or tuple(TERMINAL_STATUSES)) if s in TERMINAL_STATUSES)
        if not finished:
            return 0
        deleted: list[str] = []
        query = InstanceQuery(q.created_from, q.created_to, finished, q.prefix)
        await self._commits.submit(lambda: deleted.extend(self.store.delete_instances(query)))
        return len(deleted)

    async def restart(self, instance_id: str, new_id: bool) -> str:
        row = self.get_instance(instance_id)
        if row is None:
            raise InstanceNotFound(instance_id)
        if not new_id and instance_id in self._instances:
            raise InstanceAlreadyExists(instance_id, row.instance.status)
        return await self.start_orchestration(row.instance.name, None if new_id else instance_id,
                                              row.instance.input, input_is_value=row.instance.meta.input_is_value)

    async def wait_for_completion(self, instance_id: str, timeout_s: float) -> InstanceRow | None:
        """Wait (event-driven, no polling) until the instance ends or `timeout_s` passes."""
        future = self._instances.waiter(instance_id)
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            pass
        return self.get_instance(instance_id)

    def add_listener(self, instance_id: str, callback: Callable[[InstanceRow], None]) -> Callable[[], None]:
        """Call `callback` after every committed change of the instance; returns the remover."""
        return self._instances.add_listener(instance_id, callback)

    # -- gauges (telemetry reads these through telemetry.GaugeSource) --------------------------------
    def mailbox_depths(self) -> dict[str, int]:
        """Operations waiting per entity type (the entity name)."""
        return self._mailboxes.entity_depths()

    def running_by_name(self) -> dict[str, int]:
        return self._instances.running_by_name()

    def pending_work(self) -> dict[str, int]:
        waiting = self._mailboxes.waiting()
        return {"orchestration": waiting["orchestration"], "entity": waiting["entity"],
                "activity": len(self._activities), "timer": waiting["timer"]}

    def active_entities(self) -> dict[str, int]:
        return self._mailboxes.active_entities()

    def entity_types(self) -> Iterable[str]:
        return self.functions.entities

    def orchestrator_names(self) -> Iterable[str]:
        return [name for name, _fn in self.functions.orchestrators.values()]

    def store_degraded(self) -> str | None:
        """Why the store refuses writes, or None; answers at once (a health check never waits for the store).

        While degraded and no commit is under way, an empty commit re-checks the store in the
        background, so a later call sees it recover even when no work is waiting.
        """
        commits = self._commits
        if commits.degraded is not None and not commits.pending:
            commits.submit(None).add_done_callback(_ignore_outcome)  # the reason is kept in `degraded`
        return commits.degraded

    def submit_write(self, write: Callable[[], None]) -> asyncio.Future[None]:
        """Queue a store write of the host's own (e.g. a timer's schedule status) for the next group commit."""
        return self._commits.submit(write)

    def idle(self) -> bool:
        return self._mailboxes.idle() and not len(self._activities) and not self._commits.pending


def _fail_waiter(waiter: asyncio.Future[OperationResult], committed: asyncio.Future[None]) -> None:
    """A direct call's operation was not committed: its caller gets the commit's error (a refusal: 503)."""
    error = None if committed.cancelled() else committed.exception()
    if error is not None and not waiter.done():
        waiter.set_exception(error)


def _time_out(waiter: asyncio.Future[OperationResult]) -> None:
    """A direct call's answer did not come in time (the operation still runs; only the answer is dropped)."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _ignore_outcome(future: asyncio.Future[None]) -> None:
    """Retrieve a background commit's outcome, so a refusal is not reported as an unretrieved exception."""
    if not future.cancelled():
        future.exception()
