"""Group commit: every store write queued during one loop iteration goes into one SQLite transaction.

A step queues its write (a callable doing store calls), the message rows it adds, and an
after-commit hook that applies its effects in memory. The first submission of an iteration
schedules `flush` with `call_soon`, so writes of many steps share one `BEGIN IMMEDIATE ... COMMIT`.
If the shared transaction fails, each write is retried in its own transaction, so one bad write
fails only its own future. When the store itself refuses writes (locked by another process past
the busy timeout, disk full, read-only, I/O error), every write of the flush fails at once with
`StoreUnavailable` (no one-by-one retry, which would block the loop once per write), each write's
`failed` hook runs (steps put their target back and retry it later) and the commit is `degraded`
until a flush succeeds again. Owned by the dispatcher's loop thread. An after-commit hook that
raises is logged and the others still run; its future still resolves (the store has the result).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .errors import StoreUnavailable
from .messages import MessageRow

log = logging.getLogger("funchost.dispatcher")

Write = Callable[[], None]
AfterCommit = Callable[[], None]
Failed = Callable[[], None]


class CommitStore(Protocol):
    """The part of the store a group commit needs."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def add_messages(self, rows: list[MessageRow]) -> None: ...


@dataclass
class _Commit:
    write: Write | None
    after: AfterCommit | None
    future: asyncio.Future[None]
    rows: list[MessageRow] | None = None  # messages to insert; a flush inserts all of them in one call
    failed: Failed | None = None  # runs when the write was not committed


class GroupCommit:
    """Queues writes and commits them together; `on_commit(seconds)` is told of each flush and its duration."""

    def __init__(self, store: CommitStore, on_commit: Callable[[float], None] | None = None) -> None:
        self._store = store
        self._on_commit = on_commit
        self._queue: list[_Commit] = []
        self._scheduled = False
        self.degraded: str | None = None  # why the store refuses writes, while it does

    def submit(self, write: Write | None, after: AfterCommit | None = None,
               rows: list[MessageRow] | None = None, failed: Failed | None = None) -> asyncio.Future[None]:
        """Queue a write for this iteration's commit; the future resolves after it (and `after`) ran.

        If the write is not committed the future fails (StoreUnavailable when the store refused it)
        and `failed` runs instead of `after`.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(_Commit(write, after, future, rows, failed))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)
        return future

    def queue(self, write: Write) -> None:
        """Queue a write without scheduling a flush (for shutdown, which flushes itself)."""
        self._queue.append(_Commit(write, None, asyncio.get_running_loop().create_future()))

    @property
    def pending(self) -> bool:
        """True while writes wait for a flush."""
        return bool(self._queue)

    def flush(self) -> None:
        """Commit every queued write in one transaction, then run the after-commit hooks in order."""
        self._scheduled = False
        commits, self._queue = self._queue, []
        if not commits:
            return
        start = time.perf_counter()
        try:
            with self._store.transaction():
                for commit in commits:
                    if commit.write is not None:
                        commit.write()
                self._store.add_messages([row for commit in commits if commit.rows for row in commit.rows])
            outcomes: list[BaseException | None] = [None] * len(commits)
            self._healthy()
        except Exception as exc:
            reason = _refusal(exc)
            if reason is not None:
                self._degrade(reason, len(commits))
                outcomes = [StoreUnavailable(reason)] * len(commits)
            else:
                log.exception("group commit of %d writes failed; committing them one by one", len(commits))
                outcomes = [self._commit_alone(c) for c in commits]
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - start)
        for commit, error in zip(commits, outcomes, strict=True):
            _settle(commit, error)

    def _degrade(self, reason: str, writes: int) -> None:
        if self.degraded is None:
            log.warning("the store refuses writes (%s): %d writes failed, their work is retried; the store is "
                        "degraded until a commit succeeds", reason, writes)
        self.degraded = reason

    def _healthy(self) -> None:
        if self.degraded is not None:
            log.warning("the store accepts writes again (it refused them: %s)", self.degraded)
        self.degraded = None

    def _commit_alone(self, commit: _Commit) -> BaseException | None:
        try:
            with self._store.transaction():
                if commit.write is not None:
                    commit.write()
                if commit.rows:
                    self._store.add_messages(commit.rows)
            return None
        except Exception as exc:
            return exc


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
