"""Group commit: the store writes queued while one transaction runs go into the next, never waiting on the loop.

A step queues its write (a callable doing store calls), the message rows it adds, and an
after-commit hook that applies its effects in memory. The first submission schedules a flush with
`call_soon`, so writes of many steps share one `BEGIN IMMEDIATE ... COMMIT`. The flush first only
tries the write lock on the loop thread (busy timeout 0: a commit in WAL mode without a checkpoint
writes the WAL without syncing, so this is the cheap hot path and never waits); when another
connection holds the lock it hands the same writes to the store's writer thread (one dedicated
thread, `run_in_executor`), which waits for the lock (up to the store's busy timeout) and commits;
the loop goes on meanwhile: HTTP, health checks and reads of cached state answer while another
process holds the lock for seconds. Every CHECKPOINT_EVERY commits a WAL checkpoint runs in two
phases: first on a checkpoint thread of its own (the store's checkpoint connection, PASSIVE: no
write lock) while commits go on, which copies the bulk of the WAL and syncs it; then the next flush
goes to the writer thread, which commits and checkpoints the little written meanwhile before any
other commit, so the WAL is wholly copied and the next commit starts it again from its beginning
(a checkpoint beside commits never catches up with them, and the WAL would grow without end). So no
commit waits for the bulk of a checkpoint, only for its tail. One transaction is
in flight at a time; writes submitted meanwhile wait in the queue and share the next one, so the
hooks (and the answers to clients) of one commit run before those of a later one, and only after it.

If the shared transaction fails, each write is retried in its own transaction (on the writer
thread), so one bad write fails only its own future. When the store itself refuses writes (locked
by another process past the busy timeout, disk full, read-only, I/O error), every write of the
flush fails at once with `StoreUnavailable` (no one-by-one retry, which would wait out the lock
once per write), each write's `failed` hook runs (steps put their target back and retry it later)
and the commit is `degraded` until a flush succeeds again; while degraded every flush goes to the
writer thread.

Threads: the queue, the hooks, the futures and `degraded` belong to the loop thread; the writer
thread runs only the writes and the store's transaction, while the loop waits for no result of it;
the checkpoint thread runs only `checkpoint()` (one at a time; a failed one is logged and retried
after more commits).
A write must therefore read only what the loop no longer changes once it is submitted (steps hand
over fresh objects). An after-commit hook that raises is logged and the others still run; its
future still resolves (the store has the result).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .errors import StoreUnavailable
from .messages import MessageRow
from .store import EntityStateRow, WriteLockBusy

log = logging.getLogger("funchost.dispatcher")

Write = Callable[[], None]
AfterCommit = Callable[[], None]
Failed = Callable[[], None]


CHECKPOINT_EVERY = 500  # commits between two WAL checkpoints (on the checkpoint thread)


class CommitStore(Protocol):
    """The part of the store a group commit needs (one thread at a time: the loop, or the writer thread)."""

    def transaction(self, wait: bool = True) -> AbstractContextManager[None]: ...

    def add_messages(self, rows: list[MessageRow]) -> None: ...

    def delete_messages(self, seqs: list[int]) -> None: ...

    def put_entities(self, rows: list[EntityStateRow]) -> None: ...

    def checkpoint(self) -> None: ...  # on the checkpoint thread, beside commits (its own connection)


@dataclass(slots=True)
class _Commit:
    write: Write | None
    after: AfterCommit | None
    future: asyncio.Future[None]
    rows: list[MessageRow] | None = None  # messages to insert; a flush inserts all of them in one call
    failed: Failed | None = None  # runs when the write was not committed
    consumed: list[int] | None = None  # messages (by seq) to delete; one call per flush as well
    entities: list[EntityStateRow] | None = None  # entity states to write; one call per flush as well


@dataclass
class _Outcome:
    """What one flush (on the loop or the writer thread) reports: an error per write (None: committed), the
    refusal that failed them all (None if the store accepted the transaction), the seconds it took, and
    """

    errors: list[BaseException | None]
    refusal: str | None
    seconds: float


class GroupCommit:
    """Queues writes and commits them together; `on_commit(seconds)` is told of each flush and its duration."""

    def __init__(self, store: CommitStore, on_commit: Callable[[float], None] | None = None) -> None:
        self._store = store
        self._on_commit = on_commit
        self._queue: list[_Commit] = []
        self._scheduled = False
        self._in_flight: asyncio.Future[_Outcome] | None = None
        self._since_checkpoint = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funchost-store-writer")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funchost-store-checkpoint")
        self._checkpointing: asyncio.Future[None] | None = None
        self._finish_checkpoint = False  # the first phase is done: the next flush runs the second
        self.degraded: str | None = None  # why the store refuses writes, while it does

    def submit(self, write: Write | None, after: AfterCommit | None = None,
               rows: list[MessageRow] | None = None, failed: Failed | None = None,
               consumed: list[int] | None = None,
               entities: list[EntityStateRow] | None = None) -> asyncio.Future[None]:
        """Queue a write for the next commit; the future resolves after it (and `after`) ran.

        `rows` (messages to add), `consumed` (message seqs to delete) and `entities` (entity states to
        write) are row changes handed over as data: a flush applies each kind for all its writes in
        one statement, after the `write` callables, so they must not touch what a callable of the same
        flush touches (a message is consumed only after the commit that added it; an entity has one
        step at a time). If the write is not committed the future fails (StoreUnavailable when the
        store refused it) and `failed` runs instead of `after`.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(_Commit(write, after, future, rows, failed, consumed, entities))
        if not self._scheduled and self._in_flight is None:
            self._scheduled = True
            loop.call_soon(self._flush_soon)
        return future

    def queue(self, write: Write) -> None:
        """Queue a write without scheduling a flush (for shutdown, which flushes itself)."""
        self._queue.append(_Commit(write, None, asyncio.get_running_loop().create_future()))

    @property
    def pending(self) -> bool:
        """True while writes wait for a flush or a commit is in flight."""
        return bool(self._queue) or self._in_flight is not None

    @property
    def busy(self) -> bool:
        """True while a commit is in flight on the writer thread (the write connection is the thread's)."""
        return self._in_flight is not None

    async def flush(self) -> None:
        """Commit everything queued by now (shutdown): wait for the commit in flight, then for the rest."""
        while self._queue or self._in_flight is not None:
            if self._in_flight is None:
                self._start()
            in_flight = self._in_flight
            if in_flight is not None:
                await asyncio.wait([in_flight])

    def close(self) -> None:
        """Stop the writer and checkpoint threads (after the last flush); a later submit is a programming error."""
        self._writer.shutdown(wait=True)
        self._checkpointer.shutdown(wait=True)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self._start()

    def _start(self) -> None:
        """Commit the queued writes: on the loop if the write lock is free at once, else on the writer thread.

        Nothing happens while a commit is in flight (the writes wait for it).
        """
        if self._in_flight is not None or not self._queue:
            return
        commits, self._queue = self._queue, []
        if self.degraded is None and not self._finish_checkpoint:
            outcome = self._try_now(commits)
            if outcome is not None:
                self._settle_all(commits, outcome)
                return
        loop = asyncio.get_running_loop()
        in_flight = loop.run_in_executor(self._writer, self._commit_waiting, commits, self._finish_checkpoint)
        self._finish_checkpoint = False
        self._in_flight = in_flight
        in_flight.add_done_callback(lambda done: self._finished(commits, done))

    def _try_now(self, commits: list[_Commit]) -> _Outcome | None:
        """Loop thread: the writes in one transaction if the lock is free now; None to hand them over
        (the lock is held, or a write failed: the writer thread commits them one by one)."""
        start = time.perf_counter()
        try:
            self._transaction(commits, wait=False)
        except WriteLockBusy:
            return None
        except Exception as exc:
            reason = _refusal(exc)
            if reason is None:
                return None
            return _Outcome([StoreUnavailable(reason)] * len(commits), reason, time.perf_counter() - start)
        return _Outcome([None] * len(commits), None, time.perf_counter() - start)

    def _transaction(self, commits: list[_Commit], wait: bool) -> None:
        store = self._store
        with store.transaction(wait):
            consumed: list[int] = []
            entities: list[EntityStateRow] = []
            rows: list[MessageRow] = []
            for commit in commits:
                if commit.write is not None:
                    commit.write()
                if commit.consumed:
                    consumed += commit.consumed
                if commit.entities:
                    entities += commit.entities
                if commit.rows:
                    rows += commit.rows
            _apply_rows(store, consumed, entities, rows)

    def _commit_waiting(self, commits: list[_Commit], checkpoint: bool = False) -> _Outcome:
        """Writer thread: wait for the lock and run every write in one transaction, or each alone if that
        one fails; then, if `checkpoint`, the second phase of a checkpoint (before any other commit)."""
        start = time.perf_counter()
        try:
            self._transaction(commits, wait=True)
            outcome = _Outcome([None] * len(commits), None, 0.0)
        except Exception as exc:
            reason = _refusal(exc)
            if reason is not None:
                return _Outcome([StoreUnavailable(reason)] * len(commits), reason, time.perf_counter() - start)
            log.exception("group commit of %d writes failed; committing them one by one", len(commits))
            outcome = _Outcome([self._commit_alone(c) for c in commits], None, 0.0)
        if checkpoint:
            try:
                self._store.checkpoint()
            except Exception as exc:
                log.warning("checkpoint of the store failed (retried later): %s", exc)
        outcome.seconds = time.perf_counter() - start
        return outcome

    def _commit_alone(self, commit: _Commit) -> BaseException | None:
        """Writer thread: one write in its own transaction; its error, or None once committed."""
        try:
            with self._store.transaction():
                if commit.write is not None:
                    commit.write()
                _apply_rows(self._store, commit.consumed or [], commit.entities or [], commit.rows or [])
            return None
        except Exception as exc:
            return exc

    def _finished(self, commits: list[_Commit], done: asyncio.Future[_Outcome]) -> None:
        """Loop thread, once the writer is done: settle its writes, then start the next commit."""
        self._in_flight = None
        try:
            outcome = done.result()
        except BaseException as exc:  # the writer itself broke (not a store error): nothing is known committed
            log.error("the store writer failed on %d writes: %r", len(commits), exc)
            outcome = _Outcome([exc] * len(commits), None, 0.0)
        self._settle_all(commits, outcome)

    def _settle_all(self, commits: list[_Commit], outcome: _Outcome) -> None:
        """Loop thread: note the store's health, settle each write in order, schedule what queued meanwhile."""
        if outcome.refusal is not None:
            self._degrade(outcome.refusal, len(commits))
        elif any(error is None for error in outcome.errors):
            self._healthy()
            self._since_checkpoint += 1
            if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpointing is None:
                self._checkpoint()
        if self._on_commit is not None:
            self._on_commit(outcome.seconds)
        for commit, error in zip(commits, outcome.errors, strict=True):
            _settle(commit, error)
        if self._queue and not self._scheduled and self._in_flight is None:
            # call_soon, not now: the steps these hooks made ready run first and join the next commit.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_soon)

    def _checkpoint(self) -> None:
        """Loop thread: start a WAL checkpoint on the checkpoint thread; commits go on meanwhile."""
        self._since_checkpoint = 0
        checkpointing = asyncio.get_running_loop().run_in_executor(self._checkpointer, self._store.checkpoint)
        self._checkpointing = checkpointing
        checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        """Loop thread: the first phase ended (the next flush runs the second); a failed one is logged (the
        next runs after more commits)."""
        self._checkpointing = None
        error = None if done.cancelled() else done.exception()
        if error is not None:
            log.warning("checkpoint of the store failed (retried later): %s", error)
        else:
            self._finish_checkpoint = True

    def _degrade(self, reason: str, writes: int) -> None:
        if self.degraded is None:
            log.warning("the store refuses writes (%s): %d writes failed, their work is retried; the store is "
                        "degraded until a commit succeeds", reason, writes)
        self.degraded = reason

    def _healthy(self) -> None:
        if self.degraded is not None:
            log.warning("the store accepts writes again (it refused them: %s)", self.degraded)
        self.degraded = None


def _apply_rows(store: CommitStore, consumed: list[int], entities: list[EntityStateRow],
               rows: list[MessageRow]) -> None:
    """The row changes handed over as data, each kind in one statement (inside the open transaction)."""
    if consumed:
        store.delete_messages(consumed)
    if entities:
        store.put_entities(entities)
    if rows:
        store.add_messages(rows)


def _refusal(exc: BaseException) -> str | None:
    """Why the store refused a transaction (lock, disk full, read-only, I/O), or None for any other error."""
    if isinstance(exc, sqlite3.OperationalError | OSError):
        return str(exc) or type(exc).__name__
    return None


def _settle(commit: _Commit, error: BaseException | None) -> None:
    """Run the hook of a committed (or failed) write and resolve its future (with the error if it failed)."""
    hook = commit.after if error is None else commit.failed
    if hook is not None:
        try:
            hook()
        except Exception:
            log.exception("%s hook failed", "after-commit" if error is None else "failed-commit")
    if not commit.future.done():
        if error is None:
            commit.future.set_result(None)
        else:
            commit.future.set_exception(error)
