"""The SQLite store: schema, WAL, transactions that roll back, and instance queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from funchost.errors import StoreOpenError
from funchost.replay import Instance
from funchost.store import SCHEMA_VERSION, InstanceQuery, Store


def test_store_uses_wal_and_records_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.add_messages([(1, "@counter@k", "{}", 0.0)])
        raise RuntimeError("boom")
    assert store.count_messages() == 0
    with store.transaction():
        store.add_messages([(1, "@counter@k", "{}", 0.0)])
    assert store.count_messages() == 1


def test_nested_transactions_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError, match="nested"), store.transaction(), store.transaction():
        pass


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite3").close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    with pytest.raises(StoreOpenError, match="schema version 99, written by a newer funchost"):
        Store(tmp_path / "s.sqlite3")


def test_instance_queries_filter_by_status_prefix_time_and_page(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with store.transaction():
        for i in range(5):
            inst = Instance(f"id-{i}", "o", "e", None, status="Completed" if i % 2 else "Running")
            store.put_instance(inst, created=100.0 + i, updated=100.0 + i)
        store.put_instance(Instance("other", "o", "e", None, status="Completed"), 200.0, 200.0)
    done = store.query_instances(InstanceQuery(statuses=("Completed",)))
    assert [r.instance.instance_id for r in done] == ["id-1", "id-3", "other"]
    assert [r.instance.instance_id for r in store.query_instances(InstanceQuery(prefix="id-", top=2))] == \
        ["id-0", "id-1"]
    after = store.query_instances(InstanceQuery(prefix="id-", top=2, after=(101.0, "id-1")))
    assert [r.instance.instance_id for r in after] == ["id-2", "id-3"]
    window = store.query_instances(InstanceQuery(created_from=101.0, created_to=103.0))
    assert [r.instance.instance_id for r in window] == ["id-1", "id-2", "id-3"]
    assert store.query_instances(InstanceQuery(prefix="%")) == []  # no LIKE wildcards from input


def test_update_instance_writes_what_put_instance_writes_and_keeps_created(tmp_path: Path) -> None:
    from funchost.model import ParentRef

    store = Store(tmp_path / "s.sqlite3")
    parent = ParentRef("parent", "pe", 3)
    first = Instance("child", "o", "e1", '"in"', status="Running", parent=parent,
                     history=[{"EventType": 12, "EventId": -1}])
    with store.transaction():
        store.put_instance(first, created=100.0, updated=100.0)
    later = Instance("child", "o", "e2", '"again"', status="Completed", parent=parent, output={"n": [1, 2]},
                     custom_status="done", history=[{"EventType": 12, "EventId": -1}, {"EventType": 1, "EventId": -1}])
    with store.transaction():
        store.update_instance(later, created=999.0, updated=150.0)
        store.update_instance(Instance("new", "o", "e", None, status="Running"), created=160.0, updated=160.0)
    row = store.get_instance("child")
    assert row is not None and (row.created, row.updated) == (100.0, 150.0)  # created stays the first one's
    assert row.instance == later
    fresh = store.get_instance("new")  # no row yet: written whole
    assert fresh is not None and (fresh.created, fresh.instance.status) == (160.0, "Running")
