"""Entity keys and instance ids that look like SQL or LIKE patterns are stored and matched as plain data."""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import quote

from tests.hostproc import HostProcess

API = "/runtime/webhooks/durabletask"
HOSTILE = ["'; DROP TABLE instances; --", "%", "_", "a%b_c", "\" OR 1=1 --", "x') OR ('1'='1",
           "Robert'); DROP TABLE entities;--", "*", "[a-z]", "\\", "ß?€"]


def q(value: str) -> str:
    return quote(value, safe="")


def test_hostile_entity_keys_and_instance_ids_are_plain_data(fresh_conformance_host: HostProcess) -> None:
    host = fresh_conformance_host.start()
    for amount, key in enumerate(HOSTILE, start=1):
        assert host.request("POST", f"{API}/entities/Counter/{q(key)}?op=add", amount).status == 202
    assert host.request("POST", f"{API}/entities/Counter/abc?op=add", 1000).status == 202
    for amount, key in enumerate(HOSTILE, start=1):
        value = _read_eventually(host, key, amount)  # signals are applied asynchronously
        assert value == amount, (key, value)
    # `a%b_c` matched literally, not as a LIKE pattern; `_` is one key, not "any one-character key".
    assert host.request("GET", f"{API}/entities/Counter/{q('a' + 'x' * 3 + 'c')}").status == 404
    listed = host.request("GET", f"{API}/entities/Counter").json()
    assert {item["entityId"]["key"] for item in listed} == {*HOSTILE, "abc"}

    ids = [f"{value}-{n}" for n, value in enumerate(HOSTILE) if "\\" not in value and "?" not in value]
    for instance_id in ids:
        started = host.request("POST", f"{API}/orchestrators/sequence/{q(instance_id)}", ["Quito"])
        assert started.status == 202, (instance_id, started.body)
        assert started.json()["id"] == instance_id
    for instance_id in ids:
        status = host.wait_status(q(instance_id))
        assert status["instanceId"] == instance_id and status["output"] == ["Hello Quito!"]
    for prefix in ("%", "_", "'", "a%b"):
        found = {row["instanceId"] for row in host.request("GET", f"{API}/instances?instanceIdPrefix={q(prefix)}")
                 .json()}
        assert found == {i for i in ids if i.startswith(prefix)}, prefix

    # The store still works and is intact.
    assert host.request("POST", f"{API}/orchestrators/sequence/after-the-attack", ["Bern"]).status == 202
    assert host.wait_status("after-the-attack")["output"] == ["Hello Bern!"]
    assert host.stop() == 0
    db = sqlite3.connect(host.data_dir / "durable.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"instances", "entities"} <= tables
    finally:
        db.close()


def _read_eventually(host: HostProcess, key: str, expected: int, attempts: int = 200) -> object:
    value: object = None
    for _ in range(attempts):
        reply = host.request("GET", f"{API}/entities/Counter/{q(key)}")
        if reply.status == 200:
            value = reply.json()
            if value == expected:
                return value
        time.sleep(0.02)
    return value


def test_player_ids_that_look_like_sql_are_rejected_before_any_durable_call(app_host: HostProcess) -> None:
    for player in ("'; DROP TABLE instances; --", "%", "a b", "x@y"):
        body = {"playerId": player, "success": True, "timeMs": 100, "attempts": 1, "shapeId": "C"}
        reply = app_host.request("POST", "/api/adaptive-ai/record-performance", body)
        assert reply.status == 400 and reply.json()["details"][0]["field"] == "playerId"
        assert app_host.request("GET", f"/api/adaptive-ai/session/{q(player)}").status == 400
    # `_` and `-` are ordinary id characters, matched literally.
    body = {"playerId": "_", "success": True, "timeMs": 100, "attempts": 1, "shapeId": "C"}
    assert app_host.request("POST", "/api/adaptive-ai/record-performance", body).json()["totalAttempts"] == 1
    assert app_host.request("GET", "/api/adaptive-ai/session/a").status == 404
