"""Failed commits never wedge anything (issue 11, item 1): while another process holds the SQLite write
lock the host keeps answering (health, reads), refuses writes with 503 + Retry-After, reports the store
degraded, and once the lock is gone every instance and entity that was waiting carries on, without a
restart. A store that refuses writes (disk full) fails every write of the commit and keeps nothing.
Real host, real SQLite, a real second connection holding `BEGIN IMMEDIATE`."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from funchost.errors import StoreUnavailable
from funchost.group_commit import GroupCommit
from funchost.messages import MessageRow
from funchost.store import EntityStateRow, Store
from tests.conftest import CONFORMANCE_APP
from tests.hostproc import ROOT, HostProcess, Reply, wait_until

API = "/runtime/webhooks/durabletask"


_until = functools.partial(wait_until, timeout=30.0, interval=0.1)  # alerts and state settle slowly


@contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Another process's view: a connection holding the database's write lock until the block ends."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_held_write_lock_degrades_then_everything_resumes(tmp_path: Path,
                                                             new_host: Callable[..., HostProcess]) -> None:
    host = new_host(CONFORMANCE_APP, tmp_path / "data").start()
    assert host.request("POST", f"{API}/orchestrators/wait_event/waiting").status == 202
    assert host.request("POST", f"{API}/entities/Counter/c?op=add", body=2).status == 202
    host.wait_entity("Counter/c", 2, timeout=30)
    with write_lock(tmp_path / "data" / "durable.sqlite3"):
        refused = host.request("POST", f"{API}/orchestrators/sequence/refused", body=["x"])
        assert refused.status == 503, refused.body[:300]
        assert int(refused.headers["Retry-After"]) > 0 and refused.json()["ExceptionType"] == "StoreUnavailable"
        signal = host.request("POST", f"{API}/entities/Counter/c?op=add", body=5)
        assert signal.status == 503 and "Retry-After" in signal.headers
        status = host.request("GET", "/admin/host/status").json()  # the loop answers while the lock is held
        assert status["state"] == "Degraded" and status["store"]["status"] == "degraded", status
        assert host.request("GET", f"{API}/instances/waiting").status == 202  # reads still work
        assert host.request("GET", f"{API}/entities/Counter/c").json() == 2
    _until(lambda: host.request("GET", "/admin/host/status").json()["state"] == "Running", "the store recovered")
    assert host.request("POST", f"{API}/instances/waiting/raiseEvent/go", body="went").status == 202
    assert host.wait_status("waiting")["output"] == "went"
    assert host.request("POST", f"{API}/entities/Counter/c?op=add", body=5).status == 202
    host.wait_entity("Counter/c", 7, timeout=30)
    assert host.request("GET", f"{API}/instances/refused").status == 404  # the refused start kept nothing
    assert host.request("POST", f"{API}/orchestrators/sequence/after", body=["y"]).status == 202
    assert host.wait_status("after")["output"] == ["Hello y!"]


def test_a_step_whose_commit_failed_is_retried_after_the_lock(tmp_path: Path,
                                                               new_host: Callable[..., HostProcess]) -> None:
    host = new_host(CONFORMANCE_APP, tmp_path / "data").start()
    assert host.request("POST", f"{API}/orchestrators/timer_then_activity/timed").status == 202
    with write_lock(tmp_path / "data" / "durable.sqlite3"):
        # The 1.5 s timer fires inside the lock: its episode cannot be committed.
        _until(lambda: host.request("GET", "/admin/host/status").json()["state"] == "Degraded",
               "the failed commit of the timer's episode degraded the store")
    assert host.wait_status("timed")["output"] == 42
    assert host.request("GET", "/admin/host/status").json()["state"] == "Running"
    log = host.log_path.read_text()
    assert "the store refuses writes" in log and "accepts writes again" in log and "Traceback" not in log


_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[3]))
open(sys.argv[2], "w").close()  # before the release: while this file is absent, the lock is held
db.execute("ROLLBACK")
"""


def test_status_and_cached_reads_answer_while_another_process_holds_the_lock(
        tmp_path: Path, new_host: Callable[..., HostProcess]) -> None:
    host = new_host(CONFORMANCE_APP, tmp_path / "data").start()
    assert host.request("POST", f"{API}/entities/Counter/c?op=add", body=2).status == 202
    _until(lambda: host.request("GET", f"{API}/entities/Counter/c").json() == 2, "the counter reached 2")
    releasing = tmp_path / "releasing"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "data" / "durable.sqlite3"),
                               str(releasing), "8"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = host.request("POST", f"{API}/entities/Counter/c?op=add", body=5)  # waits out the busy timeout
        assert refused.status == 503 and int(refused.headers["Retry-After"]) > 0, refused.body[:300]
        assert not releasing.exists(), "the write was refused only once the lock was gone"
        waiting: list[Reply] = []
        writer = threading.Thread(target=lambda: waiting.append(
            host.request("POST", f"{API}/entities/Counter/c?op=add", body=5)))
        writer.start()  # this one waits for the lock on the host's writer thread while the loop answers:
        status = host.request("GET", "/admin/host/status")
        assert not releasing.exists(), "the health check waited for the lock"
        assert status.status == 200 and status.json()["state"] == "Degraded", status.body[:300]
        read = host.request("GET", f"{API}/entities/Counter/c")
        assert not releasing.exists(), "the read of a cached state waited for the lock"
        assert read.status == 200 and read.json() == 2
        writer.join()
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
        holder.wait()
    assert waiting[0].status == 202, waiting[0].body[:300]  # it got the lock once released, without a restart
    assert host.request("POST", f"{API}/entities/Counter/c?op=add", body=5).status == 202
    _until(lambda: host.request("GET", f"{API}/entities/Counter/c").json() == 12, "the counter reached 12")
    _until(lambda: host.request("GET", "/admin/host/status").json()["state"] == "Running", "the store recovered")


class RefusingStore:
    """A real Store whose transactions the disk refuses while `full` is set (as SQLITE_FULL does)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.full = True

    def transaction(self, wait: bool = True) -> AbstractContextManager[None]:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return self.store.transaction(wait)

    def add_messages(self, rows: list[MessageRow]) -> None:
        self.store.add_messages(rows)

    def delete_messages(self, seqs: list[int]) -> None:
        self.store.delete_messages(seqs)

    def put_entities(self, rows: list[EntityStateRow]) -> None:
        self.store.put_entities(rows)

    def checkpoint(self) -> None:
        self.store.checkpoint()


def test_a_refused_commit_fails_every_write_in_it_and_keeps_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "durable.sqlite3")
    refusing = RefusingStore(store)

    async def scenario() -> tuple[list[BaseException | None], list[str], str | None, str | None]:
        commits = GroupCommit(refusing)
        failed: list[str] = []
        ran_after: list[str] = []

        def submit(n: int) -> asyncio.Future[None]:
            return commits.submit(lambda: store.put_entity(f"@e@{n}", "e", str(n), "1", 0.0),
                                  after=lambda: ran_after.append(str(n)), failed=lambda: failed.append(str(n)))

        futures = [submit(n) for n in range(3)]
        outcomes: list[BaseException | None] = list(await asyncio.gather(*futures, return_exceptions=True))
        degraded = commits.degraded
        refusing.full = False
        await commits.submit(lambda: store.put_entity("@e@ok", "e", "ok", "2", 0.0))
        assert ran_after == [], "a refused write ran its after-commit hook"
        return outcomes, failed, degraded, commits.degraded

    try:
        outcomes, failed, degraded, after = asyncio.run(scenario())
        assert all(isinstance(error, StoreUnavailable) for error in outcomes), outcomes
        assert failed == ["0", "1", "2"] and degraded == "database or disk is full" and after is None
        assert [store.get_entity(f"@e@{n}") for n in range(3)] == [None, None, None]
        assert store.get_entity("@e@ok") is not None
    finally:
        store.close()


def test_app_writes_under_a_held_lock_get_503_and_work_afterwards(tmp_path: Path,
                                                                  new_host: Callable[..., HostProcess]) -> None:
    host = new_host(ROOT, tmp_path / "data").start()
    record = {"playerId": "locked-1", "success": True, "timeMs": 1200, "attempts": 1, "shapeId": "Cmaj7-drop2"}
    assert host.request("POST", "/api/adaptive-ai/record-performance", body=record).status == 200
    with write_lock(tmp_path / "data" / "durable.sqlite3"):
        refused = host.request("POST", "/api/adaptive-ai/record-performance", body=record)
        assert refused.status == 503 and int(refused.headers["Retry-After"]) > 0, refused.body[:300]
        assert set(refused.json()) == {"error", "details"}
        stats = host.request("GET", "/api/adaptive-ai/player-stats/locked-1")  # a read answers meanwhile
        assert stats.status == 200 and stats.json()["totalAttempts"] == 1
    after = host.request("POST", "/api/adaptive-ai/record-performance", body=record)
    assert after.status == 200 and after.json()["totalAttempts"] == 2  # the refused write was not kept
