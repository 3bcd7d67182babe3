"""Group commit: every store write queued during one loop iteration goes into one SQLite transaction.

A step queues its write (a callable doing store calls), the message rows it adds, and an
after-commit hook that applies its effects in memory. The first submission of an iteration
schedules `flush` with `call_soon`, so writes of many steps share one `BEGIN IMMEDIATE ... COMMIT`.
If the shared transaction fails, each write is retried in its own transaction, so one bad write
fails only its own future. Owned by the dispatcher's loop thread. An after-commit hook that
raises is logged and the others still run; its future still resolves (the store has the result).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .messages import MessageRow

log = logging.getLogger("funchost.dispatcher")

Write = Callable[[], None]
AfterCommit = Callable[[], None]


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


class GroupCommit:
    """Queues writes and commits them together; `on_commit(seconds)` is told of each flush and its duration."""

    def __init__(self, store: CommitStore, on_commit: Callable[[float], None] | None = None) -> None:
        self._store = store
        self._on_commit = on_commit
        self._queue: list[_Commit] = []
        self._scheduled = False

    def submit(self, write: Write | None, after: AfterCommit | None = None,
               rows: list[MessageRow] | None = None) -> asyncio.Future[None]:
        """Queue a write for this iteration's commit; the future resolves after it (and `after`) ran."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(_Commit(write, after, future, rows))
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
        except Exception:
            log.exception("group commit of %d writes failed; committing them one by one", len(commits))
            outcomes = [self._commit_alone(c) for c in commits]
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - start)
        for commit, error in zip(commits, outcomes, strict=True):
            _settle(commit, error)

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


def _settle(commit: _Commit, error: BaseException | None) -> None:
    """Run the hook of a committed write and resolve its future (with the error if it failed)."""
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
