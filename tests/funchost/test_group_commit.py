"""Group commit over a real SQLite store: one transaction per loop iteration, one-by-one on failure."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from funchost.group_commit import CHECKPOINT_EVERY, GroupCommit
from funchost.messages import Message
from funchost.store import Store


def rows(store: Store) -> list[tuple[int, str]]:
    return [(m.seq, m.target) for m in store.all_messages()]


async def test_writes_of_one_iteration_share_one_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    flushes: list[float] = []
    commits = GroupCommit(store, flushes.append)
    applied: list[int] = []
    futures = [commits.submit(None, lambda n=n: applied.append(n),  # type: ignore[misc]
                              [Message.for_entity(n, "@counter@k", {"op": "add", "input": str(n)}).row()])
               for n in range(1, 6)]
    assert commits.pending and not applied  # nothing happens before the loop turns
    await asyncio.gather(*futures)
    assert len(flushes) == 1 and applied == [1, 2, 3, 4, 5]
    assert rows(store) == [(n, "@counter@k") for n in range(1, 6)]
    await commits.submit(None, None, [Message.for_entity(6, "@counter@k", {"op": "add"}).row()])
    assert len(flushes) == 2 and not commits.pending
    store.close()


async def test_a_failing_write_fails_alone_and_the_others_commit(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)

    def bad() -> None:
        store.add_messages([Message.for_entity(1, "@counter@dup", {"op": "x"}).row()])  # same seq as below

    good = commits.submit(None, None, [Message.for_entity(1, "@counter@k", {"op": "add"}).row()])
    failing = commits.submit(bad)
    other = commits.submit(None, None, [Message.for_entity(2, "@counter@k", {"op": "add"}).row()])
    await good
    await other
    with pytest.raises(Exception, match="UNIQUE"):
        await failing
    assert rows(store) == [(1, "@counter@k"), (2, "@counter@k")]
    store.close()


async def test_a_raising_after_hook_does_not_stop_the_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("hook broke")

    first = commits.submit(None, boom)
    second = commits.submit(None, lambda: seen.append("second"))
    await asyncio.gather(first, second)  # both resolve: the store has both results
    assert seen == ["second"] and "after-commit hook failed" in caplog.text
    store.close()


async def test_queue_waits_for_an_explicit_flush(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)
    commits.queue(lambda: store.add_messages([Message.for_entity(9, "@counter@k", {"op": "add"}).row()]))
    await asyncio.sleep(0)
    assert rows(store) == [] and commits.pending
    await commits.flush()
    assert rows(store) == [(9, "@counter@k")] and not commits.pending
    store.close()


async def test_a_held_write_lock_moves_the_commit_to_the_writer_thread_and_the_loop_goes_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)
    holder = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's view: the write lock is taken
    applied: list[str] = []
    done = commits.submit(None, lambda: applied.append("after"),
                          [Message.for_entity(1, "@counter@k", {"op": "add"}).row()])
    for _ in range(3):
        await asyncio.sleep(0)  # the loop turns: the flush found the lock held and handed the commit over
    assert commits.busy and not done.done() and applied == []
    later = commits.submit(None, lambda: applied.append("later"),
                           [Message.for_entity(2, "@counter@k", {"op": "add"}).row()])
    holder.execute("ROLLBACK")
    holder.close()
    await asyncio.gather(done, later)
    assert applied == ["after", "later"] and rows(store) == [(1, "@counter@k"), (2, "@counter@k")]
    assert not commits.pending
    await commits.flush()
    commits.close()
    store.close()


async def test_row_changes_of_many_writes_commit_together_and_alone_on_failure(tmp_path: Path) -> None:
    """Consumed messages and entity states handed over as rows: all in one flush; when the shared
    transaction fails, each write's own rows still commit with it alone."""
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)
    await asyncio.gather(*(commits.submit(None, None, [Message.for_entity(n, f"@counter@k{n}", {"op": "add"}).row()])
                           for n in range(1, 5)))
    flushes: list[float] = []
    commits = GroupCommit(store, flushes.append)
    steps = [commits.submit(None, None, consumed=[n], entities=[(f"@counter@k{n}", "counter", f"k{n}", str(n), 1.0)])
             for n in (1, 2)]
    await asyncio.gather(*steps)
    assert len(flushes) == 1 and rows(store) == [(3, "@counter@k3"), (4, "@counter@k4")]
    assert [store.get_entity(f"@counter@k{n}") is not None for n in (1, 2, 3)] == [True, True, False]
    good = commits.submit(None, None, consumed=[3], entities=[("@counter@k3", "counter", "k3", "3", 2.0)])
    bad = commits.submit(None, None, [Message.for_entity(4, "@counter@dup", {"op": "x"}).row()], consumed=[])
    await good
    with pytest.raises(Exception, match="UNIQUE"):
        await bad
    row = store.get_entity("@counter@k3")
    assert row is not None and row.state == "3" and rows(store) == [(4, "@counter@k4")]
    store.close()


async def test_checkpoints_beside_commits_keep_the_wal_from_growing(tmp_path: Path) -> None:
    """The first phase of a checkpoint runs while commits go on; the second lets the WAL start over, so
    its file stays at the size of a few hundred commits however long the commits keep coming."""
    store = Store(tmp_path / "s.sqlite3")
    commits = GroupCommit(store)
    state = "x" * 3000  # about one 4 KiB page per commit
    total = 10 * CHECKPOINT_EVERY
    for n in range(1, total + 1):
        await commits.submit(None, entities=[(f"@e@{n % 50}", "e", str(n % 50), f"{state}{n}", float(n))])
    await commits.flush()
    commits.close()
    wal_bytes = (tmp_path / "s.sqlite3-wal").stat().st_size
    # Never started over, the WAL would hold a page for each of the commits.
    assert wal_bytes < total * 4096 / 3, f"the WAL grew to {wal_bytes} bytes over {total} commits"
    row = store.get_entity("@e@0")
    assert row is not None and row.state == f"{state}{total}"
    store.close()
