"""Store integrity at start (issue 11, item 7): a read-only store refuses to start in one line instead of
reporting Running while every write fails; an unreadable message or instance row is quarantined to
`dead_letters` (one WARNING line, counted in `funchost_store_dead_letters`) instead of stopping start-up;
an older schema is migrated forward. Real hosts on real SQLite files."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from funchost.store import SCHEMA_VERSION, Store
from tests.conftest import CONFORMANCE_APP
from tests.hostproc import ROOT, HostProcess, free_port

API = "/runtime/webhooks/durabletask"


def _store(data: Path) -> Path:
    return data / "durable.sqlite3"


def _made_store(new_host: Callable[..., HostProcess], data: Path) -> None:
    host = new_host(CONFORMANCE_APP, data).start()
    assert host.request("POST", f"{API}/orchestrators/sequence/before", body=["a"]).status == 202
    host.wait_status("before")
    assert host.stop() == 0


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Makes a file unwritable even for root (`chattr +i`), undone at teardown."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o444)
            path.parent.chmod(0o555)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available on this filesystem")
        made.append(path)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        else:
            path.parent.chmod(0o755)
            path.chmod(0o644)


def test_a_read_only_store_refuses_to_start_in_one_line(tmp_path: Path, new_host: Callable[..., HostProcess],
                                                        read_only: Callable[[Path], None]) -> None:
    data = tmp_path / "data"
    _made_store(new_host, data)
    read_only(_store(data))
    proc = subprocess.run([sys.executable, "-m", "funchost", "start", "--script-root", str(CONFORMANCE_APP),
                           "--port", str(free_port()), "--data", str(data)], cwd=str(ROOT), capture_output=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert len(lines) == 1 and "read-only" in lines[0] and str(_store(data)) in lines[0], lines


def test_unreadable_rows_are_quarantined_and_start_up_goes_on(tmp_path: Path,
                                                               new_host: Callable[..., HostProcess]) -> None:
    data = tmp_path / "data"
    _made_store(new_host, data)
    with sqlite3.connect(_store(data)) as db:
        db.execute("INSERT INTO messages (seq, target, body, visible_at) VALUES (999999, 'x', '{not json', 0)")
        db.execute("INSERT INTO instances (instance_id, name, execution_id, status, created, updated, history) "
                   "VALUES ('broken', 'sequence', 'e1', 'Running', 0, 0, 'not a history')")
    host = new_host(CONFORMANCE_APP, data).start()
    log = host.log_path.read_text()
    assert "Traceback" not in log
    quarantined = [line for line in log.splitlines() if "quarantined an unreadable row" in line]
    assert len(quarantined) == 2 and all("WARNING" in line for line in quarantined), quarantined
    assert host.request("GET", "/admin/host/status").json()["store"] == {"status": "ok", "deadLetters": 2}
    metrics = host.request("GET", "/metrics").body.decode()
    assert re.search(r"^funchost_store_dead_letters(\{[^}]*\})? 2\.0$", metrics, re.MULTILINE), metrics[-1500:]
    # The rest of the store works: the old instance reads, new work runs, the broken one is gone.
    assert host.request("GET", f"{API}/instances/before").json()["runtimeStatus"] == "Completed"
    assert host.request("POST", f"{API}/orchestrators/sequence/after", body=["b"]).status == 202
    assert host.wait_status("after")["output"] == ["Hello b!"]
    assert host.request("GET", f"{API}/instances/broken").status == 404
    host.stop()
    with sqlite3.connect(_store(data)) as db:
        rows = db.execute("SELECT source, row_key, row_json FROM dead_letters ORDER BY source").fetchall()
    assert [(source, key) for source, key, _ in rows] == [("instances", "broken"), ("messages", "999999")]
    assert json.loads(rows[1][2])["body"] == "{not json"  # kept whole for inspection


def test_a_version_1_store_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    store = Store(path)
    with store.transaction():
        store.put_entity("@counter@a", "counter", "a", "5", 1.0)
    store.close()
    with sqlite3.connect(path) as db:  # the layout funchost wrote at schema version 1
        db.execute("DROP TABLE dead_letters")
        db.execute("UPDATE schema_version SET version = 1")
    store = Store(path)
    try:
        assert store.get_entity("@counter@a") is not None and store.dead_letters == 0
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("SELECT COUNT(*) FROM dead_letters").fetchone() == (0,)
