"""One entity step: run a batch of an entity's queued operations, commit its state, answer its callers.

A step takes up to `MAX_ENTITY_BATCH` operations from the entity's mailbox, runs them through
the SDK's entity handle (`entity_batch.run_batch`; user code runs here), and in one group-commit
write (its rows handed over as data, see `GroupCommit.submit`) deletes the consumed messages,
stores (or deletes) the state and adds the responses to the orchestrations that called. After
the commit it updates the state cache, releases the mailbox, enqueues the responses and resolves
in-process callers waiting on a request id. `run_signal` runs a client's signal to an idle entity
the same way at once, as a batch of one that consumes no message (the dispatcher's shortcut).
Runs on the dispatcher's loop thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from . import console
from .discovery import FunctionSet
from .entity_batch import BatchOutcome, Operation, OperationResult, response_event, run_batch
from .entity_cache import EntityStateCache
from .group_commit import GroupCommit
from .history import from_epoch
from .ids import split_entity_id
from .mailboxes import Mailboxes
from .messages import Message
from .stats import DispatcherStats
from .store import Store
from .telemetry import HostTelemetry

MAX_ENTITY_BATCH = 5000


class EntitySteps:
    """Processes entity targets taken from the mailboxes, and answers in-process callers (see `expect`)."""

    def __init__(self, store: Store, functions: FunctionSet, telemetry: HostTelemetry,
                 clock: Callable[[], float], stats: DispatcherStats, mailboxes: Mailboxes,
                 commits: GroupCommit) -> None:
        self._store = store
        self._functions = functions
        self._telemetry = telemetry
        self._clock = clock
        self._stats = stats
        self._mailboxes = mailboxes
        self._commits = commits
        self._states = EntityStateCache()
        self._waiters: dict[str, asyncio.Future[OperationResult]] = {}

    def process(self, target: str) -> None:
        """Run one batch of entity `target`'s operations and queue its commit."""
        messages = self._mailboxes.messages(target)[:MAX_ENTITY_BATCH]
        operations = [Operation.from_json(m.seq, m.body) for m in messages]
        self._run(target, operations, [m.seq for m in messages], lambda: self._mailboxes.retry_later(target))

    def run_signal(self, target: str, op: Operation) -> asyncio.Future[None] | None:
        """Run signal `op` on an idle entity now, as a batch of its own, without a mailbox message (issue 14).

        The signal is never written as a message: the commit that makes it durable is the one that
        stores the state it leaves, so the caller's answer still waits for a commit. None when the
        entity is not idle (a step runs, or messages wait): the caller enqueues `op` as a message.
        The future fails as an enqueue's commit fails (the signal is then not applied, nothing is kept).
        An engine error while running it leaves the entity idle and raises (the caller enqueues `op`).
        """
        mailboxes = self._mailboxes
        if not mailboxes.claim(target):
            return None
        try:
            return self._run(target, [op], [], lambda: mailboxes.end_claim(target))
        except BaseException:
            mailboxes.end_claim(target)
            raise

    def _run(self, target: str, operations: list[Operation], consumed: list[int],
             failed: Callable[[], None]) -> asyncio.Future[None]:
        """Run `operations` (the messages `consumed`, by seq, carried them) as one batch, queue its commit."""
        name, key = split_entity_id(target)
        exists, state = self.read(target, on_writer=not self._commits.busy)
        now_s = self._clock()
        start = time.perf_counter()
        started_ns = time.time_ns()
        outcome = console.entity_batch(self._functions.entities.get(name, (name, None))[0], target, len(operations),
                                       run_batch, self._functions.entity(name), target, state, exists, operations)
        elapsed = time.perf_counter() - start
        self._telemetry.entity_spans(name, target, operations, outcome.results, started_ns, time.time_ns())
        self._stats.entity_batches += 1
        self._stats.entity_operations += len(operations)
        self._telemetry.entity_batch(name, operations, outcome.results, elapsed, now_s)
        responses = self._responses(operations, outcome, now_s)
        store = self._store
        # The consumed messages, the new state and the responses go to the commit as rows (one statement
        # per kind for all the steps of a flush); only a deletion needs a write of its own.
        write = None if outcome.exists or not exists else (lambda: store.delete_entity(target))
        return self._commits.submit(
            write, lambda: self._apply(target, operations, outcome, consumed, responses),
            rows=[m.row() for m in responses] or None, failed=failed, consumed=consumed or None,
            entities=[(target, name, key, outcome.state, now_s)] if outcome.exists else None)

    def read(self, entity_id: str, on_writer: bool = False) -> tuple[bool, str | None]:
        """(exists, state) as last committed: the cache (filled after each commit), else the store (see
        `Store.get_entity` for `on_writer`)."""
        known, exists, state = self._states.get(entity_id)
        if known:
            return exists, state
        row = self._store.get_entity(entity_id, on_writer)
        return (True, row.state) if row is not None else (False, None)

    def _responses(self, operations: list[Operation], outcome: BatchOutcome, now_s: float) -> list[Message]:
        """The answers to operations that orchestrations called (signals and direct calls get none)."""
        if not any(op.parent and not op.signal for op in operations):
            return []  # (most batches: signals, and direct calls through the in-process client)
        now = from_epoch(now_s)
        return [
            self._mailboxes.orchestration_message(op.parent, response_event(op, result, now), op.parent_execution)
            for op, result in zip(operations, outcome.results, strict=True)
            if not op.signal and op.parent and op.request_id
        ]

    def _apply(self, target: str, operations: list[Operation], outcome: BatchOutcome, consumed: list[int],
               responses: list[Message]) -> None:
        """After the commit: cache the state, release the mailbox, deliver responses, wake callers."""
        if outcome.exists:
            self._states.put(target, outcome.state)
        else:
            self._states.discard(target)
        mailboxes = self._mailboxes
        mailboxes.release(target, consumed)
        for message in responses:
            mailboxes.enqueue(message)
        waiters = self._waiters
        if waiters:
            for op, result in zip(operations, outcome.results, strict=True):
                waiter = waiters.pop(op.request_id, None) if op.request_id else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(result)
        if mailboxes.has_messages(target):
            mailboxes.mark_ready(target)

    def expect(self, request_id: str) -> asyncio.Future[OperationResult]:
        """A future resolved with the result of the operation carrying `request_id`, once its batch commits."""
        waiter: asyncio.Future[OperationResult] = asyncio.get_running_loop().create_future()
        self._waiters[request_id] = waiter
        return waiter

    def forget(self, request_id: str) -> None:
        """Stop waiting for `request_id` (answered, timed out or cancelled)."""
        self._waiters.pop(request_id, None)

    def fail_waiters(self, error: BaseException) -> None:
        """Fail every in-process caller with `error` (the host is stopping)."""
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._waiters.clear()
