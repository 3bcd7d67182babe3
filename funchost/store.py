"""The SQLite store: every SQL statement and the schema live here.

Three connections. The write connection runs every transaction, one at a time (see group_commit):
the loop thread only tries the write lock (`transaction(wait=False)`, busy timeout 0) and hands the
transaction to the group commit's writer thread when another connection holds it; the writer thread
waits up to BUSY_TIMEOUT_MS for it, then the commit fails (503 + Retry-After, the work is retried).
Automatic checkpoints are off (they would sync the disk inside any commit, on the loop too);
the group commit's checkpoint thread runs `checkpoint()` every few hundred commits on a connection
of its own, while commits go on (a PASSIVE checkpoint takes no write lock), then the writer thread
checkpoints the rest between two commits (see group_commit). The read connection (`query_only`)
serves the loop thread's reads (`get_instance`, `query_instances`, `get_entity`, `list_entities`,
`get_timer_status`): in WAL mode a reader takes no lock a writer holds, so these answer while
another process holds the write lock, and they see committed data only. Start-up (recovery,
migrations, quarantine) uses the write connection on the loop thread, before any of that runs.
WAL mode with `synchronous=NORMAL`: a committed transaction survives a crash of the process
(`kill -9`); the last transactions before a power cut may be lost, as with any WAL database at
this level. Writes go through `transaction()`, which takes the write lock with `BEGIN IMMEDIATE`
and rolls back on any error.

Integrity at start: opening probes a write (a read-only file otherwise opens and every later write
fails), and migrates older schema versions forward. The start-up reads (`active_instances`,
`all_messages`) move a row they cannot decode to the `dead_letters` table (logged, counted in
`dead_letters`) instead of stopping start-up; a database error while reading is one StoreOpenError line.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import StoreOpenError
from .messages import Message, MessageRow, StoredActivity
from .model import Instance, ParentRef, ReplayMeta, encode_history

log = logging.getLogger("funchost")

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 5000
READ_BUSY_TIMEOUT_MS = 1000

_DEAD_LETTERS = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL,
    row_key        TEXT NOT NULL,
    row_json       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);
"""

_TIMER_STATUS = """
CREATE TABLE IF NOT EXISTS timer_status (
    name         TEXT PRIMARY KEY,
    last         REAL,
    next         REAL NOT NULL,
    last_updated REAL NOT NULL
) WITHOUT ROWID;
"""

# Statements that take a store at version N (the key) to N + 1: 1 -> 2 added dead_letters and timer_status.
_MIGRATIONS: dict[int, str] = {1: _DEAD_LETTERS + _TIMER_STATUS}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
    instance_id   TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    execution_id  TEXT NOT NULL,
    status        TEXT NOT NULL,
    input         TEXT,
    output        TEXT,
    custom_status TEXT,
    created       REAL NOT NULL,
    updated       REAL NOT NULL,
    parent        TEXT,
    history       TEXT NOT NULL,
    meta          TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created, instance_id);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (status);
CREATE TABLE IF NOT EXISTS messages (
    seq        INTEGER PRIMARY KEY,
    target     TEXT NOT NULL,
    body       TEXT NOT NULL,
    visible_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target, seq);
CREATE TABLE IF NOT EXISTS activities (
    seq          INTEGER PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    input        TEXT,
    kind         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_by_instance ON activities (instance_id);
CREATE TABLE IF NOT EXISTS entities (
    entity_id TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    key       TEXT NOT NULL,
    state     TEXT,
    last_op   REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_name ON entities (name, key);
""" + _DEAD_LETTERS + _TIMER_STATUS

# An upsert, not INSERT OR REPLACE: a known entity's row is updated in place (its name and key, derived
# from its id, never change), so the entities_by_name index is not rewritten on every commit.
_PUT_ENTITY = ("INSERT INTO entities (entity_id, name, key, state, last_op) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (entity_id) DO UPDATE SET state = excluded.state, last_op = excluded.last_op")


EntityStateRow = tuple[str, str, str, str | None, float]  # (entity_id, name, key, state, last_op)


class WriteLockBusy(Exception):
    """Another connection holds the write lock (raised only by a non-waiting `transaction(wait=False)`)."""


@dataclass(frozen=True)
class InstanceRow:
    instance: Instance
    created: float
    updated: float


@dataclass(frozen=True)
class EntityRow:
    entity_id: str
    name: str
    key: str
    state: str | None
    last_op: float


@dataclass(frozen=True)
class TimerStatusRow:
    """A monitored timer's schedule status (epoch seconds): its last occurrence (None before the first
    run), the next one expected, and when this was written."""

    name: str
    last: float | None
    next: float
    last_updated: float


@dataclass(frozen=True)
class InstanceQuery:
    created_from: float | None = None
    created_to: float | None = None
    statuses: tuple[str, ...] = ()
    prefix: str | None = None
    top: int | None = None
    after: tuple[float, str] | None = None


class Store:
    """Owns the SQLite connections: writes and start-up reads on one (used by one thread at a time: the
    loop, or the writer thread while the loop waits for it), the loop thread's reads on the other."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreOpenError(self.path, str(exc)) from None
        try:
            self._open()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreOpenError(self.path, _open_reason(exc)) from None
        except StoreOpenError:
            self._db.close()
            raise
        try:
            self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._reader.execute(f"PRAGMA busy_timeout={READ_BUSY_TIMEOUT_MS}")
            self._reader.execute("PRAGMA query_only=1")
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreOpenError(self.path, _open_reason(exc)) from None
        self._in_tx = False
        self._checkpointer: sqlite3.Connection | None = None  # opened by the first checkpoint, on its thread

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # How long the writer thread waits for another process's write lock (the loop goes on meanwhile;
        # its own attempts use 0, see _begin); past it the commit is refused, answered 503 and retried.
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._busy_ms = BUSY_TIMEOUT_MS
        self._db.execute("PRAGMA wal_autocheckpoint=0")  # see checkpoint()
        self._db.execute("PRAGMA cache_size=-32000")
        row = self._db.execute("SELECT name FROM sqlite_master WHERE name = 'schema_version'").fetchone()
        version = self._db.execute("SELECT version FROM schema_version").fetchone() if row else None
        if version is not None and version[0] > SCHEMA_VERSION:
            raise StoreOpenError(self.path, f"it has schema version {version[0]}, written by a newer funchost; "
                                 f"this host reads version {SCHEMA_VERSION} (use a matching funchost or another "
                                 "--data folder)")
        if version is not None and version[0] < SCHEMA_VERSION:
            self._migrate(version[0])
        self._db.executescript(_SCHEMA)
        if version is None:
            self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        self._probe_write()
        self.dead_letters = int(self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])

    def _migrate(self, version: int) -> None:
        """Take the store from `version` to SCHEMA_VERSION, one step per version, all in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        log.warning("migrated the store %s from schema version %d to %d", self.path, version, SCHEMA_VERSION)

    def _probe_write(self) -> None:
        """Fail now, in one line, on a store that opens but refuses writes (a read-only file or folder)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("UPDATE schema_version SET version = version")
        finally:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._reader.close()
        self._db.close()

    @contextmanager
    def transaction(self, wait: bool = True) -> Iterator[None]:
        """One write transaction: `BEGIN IMMEDIATE`, commit on success, roll back on any error.

        `wait` False only tries the write lock: WriteLockBusy, before anything ran, if another
        connection holds it (the loop thread's non-waiting attempt; see group_commit).
        """
        if self._in_tx:
            raise RuntimeError("nested transaction")
        self._begin(wait)
        self._in_tx = True
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            # Also after a failed COMMIT (disk full, lock): a transaction left open would refuse every
            # later BEGIN, wedging all writes until restart.
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    log.warning("rollback of %s failed: %s", self.path, exc)
            raise
        finally:
            self._in_tx = False

    def _begin(self, wait: bool) -> None:
        busy_ms = BUSY_TIMEOUT_MS if wait else 0
        if busy_ms != self._busy_ms:
            self._db.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._busy_ms = busy_ms
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise WriteLockBusy() from None
            raise

    def checkpoint(self) -> None:
        """Copy the WAL into the database (PASSIVE: never waits for readers or the writer) on a connection of
        its own, so commits on the write connection may go on meanwhile; the group commit runs it on its
        checkpoint thread beside commits, then on its writer thread between two commits (one at a time),
        since automatic checkpoints (which sync the disk) would run inside a commit."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._checkpointer.execute(f"PRAGMA busy_timeout={READ_BUSY_TIMEOUT_MS}")
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # -- messages -------------------------------------------------------------------------------
    def max_seq(self) -> int:
        a = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()[0]
        b = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM activities").fetchone()[0]
        return int(max(a, b))

    def add_messages(self, rows: list[MessageRow]) -> None:
        if not rows:
            return
        self._db.executemany("INSERT INTO messages (seq, target, body, visible_at) VALUES (?, ?, ?, ?)", rows)

    def delete_messages(self, seqs: list[int]) -> None:
        self._db.executemany("DELETE FROM messages WHERE seq = ?", [(s,) for s in seqs])

    def delete_messages_for(self, target: str) -> None:
        self._db.execute("DELETE FROM messages WHERE target = ?", (target,))

    def all_messages(self) -> list[Message]:
        """Every queued message; one that cannot be decoded is quarantined (see `_quarantine`), not returned."""
        messages: list[Message] = []
        bad: list[tuple[str, str, dict[str, Any], str]] = []
        with self._startup_read():
            rows = self._db.execute("SELECT seq, target, body, visible_at FROM messages ORDER BY seq").fetchall()
        for seq, target, body, visible_at in rows:
            try:
                message = Message.from_row((seq, target, body, float(visible_at)))
                if not isinstance(message.body, dict):
                    raise ValueError(f"the body is a JSON {type(message.body).__name__}, not an object")
                messages.append(message)
            except (ValueError, TypeError) as exc:
                raw = {"seq": seq, "target": target, "body": body, "visible_at": visible_at}
                bad.append(("messages", str(seq), raw, f"{type(exc).__name__}: {exc}"))
        if bad:
            self._quarantine(bad, "DELETE FROM messages WHERE seq = ?")
        return messages

    def count_messages(self) -> int:
        return int(self._reader.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    # -- activities -----------------------------------------------------------------------------
    def add_activities(self, rows: list[StoredActivity]) -> None:
        self._db.executemany(
            "INSERT INTO activities (seq, instance_id, execution_id, task_id, name, input, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(a.seq, a.instance_id, a.execution_id, a.task_id, a.name, a.input, a.kind) for a in rows])

    def delete_activities(self, seqs: list[int]) -> None:
        self._db.executemany("DELETE FROM activities WHERE seq = ?", [(s,) for s in seqs])

    def delete_activities_for(self, instance_id: str) -> None:
        self._db.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))

    def all_activities(self) -> list[StoredActivity]:
        cur = self._db.execute(
            "SELECT seq, instance_id, execution_id, task_id, name, input, kind FROM activities ORDER BY seq")
        return [StoredActivity(*row) for row in cur]

    # -- instances ------------------------------------------------------------------------------
    def put_instance(self, inst: Instance, created: float, updated: float) -> None:
        parent = json.dumps(vars(inst.parent)) if inst.parent else None
        self._db.execute(
            "INSERT OR REPLACE INTO instances (instance_id, name, execution_id, status, input, output, "
            "custom_status, created, updated, parent, history, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (inst.instance_id, inst.name, inst.execution_id, inst.status, inst.input,
             _json_value(inst.output), _json_value(inst.custom_status), created, updated, parent,
             encode_history(inst), inst.meta.to_json()))

    def update_instance(self, inst: Instance, created: float, updated: float) -> None:
        """`put_instance` for an instance whose row exists (an episode's): an UPDATE of the columns an
        execution changes, which leaves the row's `created` index entry alone (a REPLACE deletes and
        re-inserts it). Writes the whole row if there is none after all."""
        cur = self._db.execute(
            "UPDATE instances SET execution_id = ?, status = ?, input = ?, output = ?, custom_status = ?, "
            "updated = ?, history = ?, meta = ? WHERE instance_id = ?",
            (inst.execution_id, inst.status, inst.input, _json_value(inst.output), _json_value(inst.custom_status),
             updated, encode_history(inst), inst.meta.to_json(), inst.instance_id))
        if cur.rowcount == 0:
            self.put_instance(inst, created, updated)

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        row = self._reader.execute(
            "SELECT instance_id, name, execution_id, status, input, output, custom_status, created, updated, "
            "parent, history, meta FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return _instance_row(row) if row else None

    def active_instances(self, statuses: tuple[str, ...]) -> list[InstanceRow]:
        """Instances in `statuses`; one that cannot be decoded is quarantined (see `_quarantine`), not returned."""
        marks = ",".join("?" for _ in statuses)
        with self._startup_read():
            rows = self._db.execute(
                "SELECT instance_id, name, execution_id, status, input, output, custom_status, created, updated, "
                f"parent, history, meta FROM instances WHERE status IN ({marks})", statuses).fetchall()
        instances: list[InstanceRow] = []
        bad: list[tuple[str, str, dict[str, Any], str]] = []
        for row in rows:
            try:
                instances.append(_instance_row(row))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raw = dict(zip(("instance_id", "name", "execution_id", "status", "input", "output", "custom_status",
                                "created", "updated", "parent", "history", "meta"), row, strict=True))
                bad.append(("instances", str(row[0]), raw, f"{type(exc).__name__}: {exc}"))
        if bad:
            self._quarantine(bad, "DELETE FROM instances WHERE instance_id = ?")
        return instances

    def _quarantine(self, rows: list[tuple[str, str, dict[str, Any], str]], delete_sql: str) -> None:
        """Move rows that cannot be decoded to `dead_letters` (kept whole, as JSON), one log line each."""
        now = time.time()
        with self.transaction():
            for source, key, raw, reason in rows:
                self._db.execute("INSERT INTO dead_letters (source, row_key, row_json, reason, quarantined_at) "
                                 "VALUES (?, ?, ?, ?, ?)", (source, key, json.dumps(raw, default=str), reason, now))
                self._db.execute(delete_sql, (raw["seq"] if source == "messages" else key,))
        for source, key, _, reason in rows:
            log.warning("quarantined an unreadable row of %s (%s) to dead_letters: %s", source, key[:100],
                        reason[:200])
        self.dead_letters += len(rows)

    @contextmanager
    def _startup_read(self) -> Iterator[None]:
        """A read at start-up: a database error (corrupt pages) becomes one StoreOpenError line."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreOpenError(self.path, _open_reason(exc)) from None

    def query_instances(self, q: InstanceQuery) -> list[InstanceRow]:
        where, args = _instance_filter(q)
        if q.after is not None:
            where.append("(created > ? OR (created = ? AND instance_id > ?))")
            args.extend([q.after[0], q.after[0], q.after[1]])
        sql = ("SELECT instance_id, name, execution_id, status, input, output, custom_status, created, updated, "
               "parent, history, meta FROM instances")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created, instance_id"
        if q.top:
            sql += " LIMIT ?"
            args.append(q.top)
        return [_instance_row(r) for r in self._reader.execute(sql, args).fetchall()]

    def delete_instances(self, q: InstanceQuery) -> list[str]:
        where, args = _instance_filter(q)
        sql = "SELECT instance_id FROM instances" + (" WHERE " + " AND ".join(where) if where else "")
        ids = [r[0] for r in self._db.execute(sql, args)]
        for instance_id in ids:
            self.delete_instance(instance_id)
        return ids

    def delete_instance(self, instance_id: str) -> bool:
        cur = self._db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))
        self._db.execute("DELETE FROM messages WHERE target = ?", (instance_id,))
        self._db.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))
        return cur.rowcount > 0

    # -- entities -------------------------------------------------------------------------------
    def get_entity(self, entity_id: str, on_writer: bool = False) -> EntityRow | None:
        """The committed row of an entity. `on_writer` reads on the write connection instead, whose cache
        is warm (the read connection's is dropped after every commit): only on the loop thread while no
        commit is in flight on the writer thread."""
        row = (self._db if on_writer else self._reader).execute(
            "SELECT entity_id, name, key, state, last_op FROM entities WHERE entity_id = ?", (entity_id,)
        ).fetchone()
        return EntityRow(*row) if row else None

    def put_entity(self, entity_id: str, name: str, key: str, state: str | None, last_op: float) -> None:
        self._db.execute(_PUT_ENTITY, (entity_id, name, key, state, last_op))

    def put_entities(self, rows: list[EntityStateRow]) -> None:
        """Write several entities' states in one statement (the group commit's batched entity rows)."""
        self._db.executemany(_PUT_ENTITY, rows)

    def delete_entity(self, entity_id: str) -> None:
        self._db.execute("DELETE FROM entities WHERE entity_id = ?", (entity_id,))

    def list_entities(self, name: str | None, after_key: tuple[str, str] | None, top: int | None,
                      op_from: float | None, op_to: float | None) -> list[EntityRow]:
        where: list[str] = []
        args: list[Any] = []
        if name is not None:
            where.append("name = ?")
            args.append(name)
        if after_key is not None:
            where.append("(name > ? OR (name = ? AND key > ?))")
            args.extend([after_key[0], after_key[0], after_key[1]])
        if op_from is not None:
            where.append("last_op >= ?")
            args.append(op_from)
        if op_to is not None:
            where.append("last_op <= ?")
            args.append(op_to)
        sql = "SELECT entity_id, name, key, state, last_op FROM entities"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name, key"
        if top:
            sql += " LIMIT ?"
            args.append(top)
        return [EntityRow(*r) for r in self._reader.execute(sql, args).fetchall()]

    # -- timer schedule status (use_monitor) ----------------------------------------------------
    def get_timer_status(self, name: str) -> TimerStatusRow | None:
        row = self._reader.execute("SELECT name, last, next, last_updated FROM timer_status WHERE name = ?",
                               (name,)).fetchone()
        return TimerStatusRow(*row) if row else None

    def put_timer_status(self, status: TimerStatusRow) -> None:
        self._db.execute("INSERT OR REPLACE INTO timer_status (name, last, next, last_updated) VALUES (?, ?, ?, ?)",
                         (status.name, status.last, status.next, status.last_updated))


def _json_value(value: Any) -> str:
    """`json.dumps(value)`, with the common None answered without a call into the encoder."""
    return "null" if value is None else json.dumps(value)


def _instance_filter(q: InstanceQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if q.created_from is not None:
        where.append("created >= ?")
        args.append(q.created_from)
    if q.created_to is not None:
        where.append("created <= ?")
        args.append(q.created_to)
    if q.statuses:
        where.append(f"status IN ({','.join('?' for _ in q.statuses)})")
        args.extend(q.statuses)
    if q.prefix:
        where.append("substr(instance_id, 1, ?) = ?")
        args.extend([len(q.prefix), q.prefix])
    return where, args


def _instance_row(row: tuple[Any, ...]) -> InstanceRow:
    (instance_id, name, execution_id, status, input_, output, custom, created, updated, parent, history,
     meta) = row
    inst = Instance(
        instance_id=instance_id, name=name, execution_id=execution_id, input=input_, status=status,
        history=json.loads(history), custom_status=json.loads(custom) if custom else None,
        output=json.loads(output) if output else None,
        parent=ParentRef(**json.loads(parent)) if parent else None, meta=ReplayMeta.from_json(meta),
    )
    inst.history_json, inst.history_json_len = history, len(inst.history)
    return InstanceRow(inst, created, updated)


def _open_reason(exc: sqlite3.Error) -> str:
    """A one-line reason for a store that cannot be opened, in the user's terms."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return "it is read-only (check the file's and folder's permissions)"
    if "not a database" in text or "malformed" in text:
        return f"it is not a valid SQLite database ({text}); move it aside or pass another --data folder"
    return text
