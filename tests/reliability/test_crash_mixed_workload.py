"""kill -9 the project app's host three times under a mixed workload; after each restart nothing
acknowledged is lost, nothing is applied twice, nothing stays stuck, and the SQLite file stays intact.

Workload: record-performance from one client per player, PlayerSession signals through the management
API, and agent tasks (spice-up with a 50 ms budget). The kill points come from a seeded RNG.

A request cut by a kill may or may not have been applied, so for each player
`acknowledged <= totalAttempts <= acknowledged + cut`, where `cut` counts that player's requests
which were sent but got no answer (or got a 5xx, which an entity call may answer after committing).
Each player has one client, so at most one of its requests is in flight at a kill.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostproc import ROOT, HostProcess
from tests.reliability.workload import Outcome, send

API = "/runtime/webhooks/durabletask"
SEED = 20261126
PLAYERS = [f"crash-player-{i}" for i in range(6)]
SIGNALLED = "crash-signalled"
KILLS = 3
TERMINAL = ("Completed", "Failed", "Terminated")


class Ledger:
    """What the clients know: acknowledged and cut requests per player, and the tasks they started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: Counter[str] = Counter()
        self.cut: Counter[str] = Counter()
        self.tasks: list[str] = []

    def record(self, player: str, acknowledged: bool, cut: bool) -> None:
        with self.lock:
            if acknowledged:
                self.acked[player] += 1
            elif cut:
                self.cut[player] += 1


def attempt(player: str, n: int) -> dict[str, Any]:
    return {"playerId": player, "success": n % 3 != 0, "timeMs": 400 + n % 900, "attempts": 1 + n % 3,
            "shapeId": ("Cmaj7-drop2", "F#m7b5", "G/B")[n % 3]}


def run_workload(host: HostProcess, ledger: Ledger, stop: threading.Event) -> list[threading.Thread]:
    def pause_if_down(result_outcome: Outcome) -> None:
        if result_outcome is Outcome.REFUSED:
            time.sleep(0.05)  # the host is restarting

    def player_client(player: str) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            result = send(host.port, "POST", "/api/adaptive-ai/record-performance", attempt(player, n))
            ledger.record(player, result.status == 200,
                          result.outcome is Outcome.AMBIGUOUS or result.status >= 500)
            pause_if_down(result.outcome)

    def signal_client() -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            body = {**attempt(SIGNALLED, n), "now": int(time.time() * 1000)}
            result = send(host.port, "POST", f"{API}/entities/PlayerSession/{SIGNALLED}?op=record_attempt", body)
            ledger.record(SIGNALLED, result.status == 202,
                          result.outcome is Outcome.AMBIGUOUS or result.status >= 500)
            pause_if_down(result.outcome)
            time.sleep(0.005)

    def task_client() -> None:
        for _ in range(100_000):
            if stop.is_set():
                return
            result = send(host.port, "POST", "/api/agents/tasks/spice-up",
                          {"progression": "Dm7 G7 Cmaj7 Am7", "style": "jazz", "budgetMs": 50})
            if result.status == 202:
                with ledger.lock:
                    ledger.tasks.append(result.body["taskId"])
            pause_if_down(result.outcome)
            time.sleep(0.2)

    threads = [threading.Thread(target=player_client, args=(p,)) for p in PLAYERS]
    threads += [threading.Thread(target=signal_client), threading.Thread(target=task_client)]
    for thread in threads:
        thread.start()
    return threads


def integrity(db_path: Path) -> str:
    db = sqlite3.connect(db_path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def wait_for(description: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    assert value, f"timed out waiting for {description}"
    return value


def test_kill9_three_times_under_mixed_workload(tmp_path: Path, new_host: Callable[..., HostProcess]) -> None:
    rng = random.Random(SEED)
    host = new_host(ROOT, tmp_path / "data")
    host.start()
    ledger, stop = Ledger(), threading.Event()
    threads = run_workload(host, ledger, stop)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.7, 2.5))
            host.kill9()
            assert integrity(host.data_dir / "durable.sqlite3") == "ok"
            time.sleep(rng.uniform(0.0, 0.3))
            host.start()
        time.sleep(rng.uniform(0.5, 1.0))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert sum(ledger.acked.values()) > 50 and ledger.tasks, (ledger.acked, ledger.tasks)

    # Every agent task the clients were told about finishes (the kills only delayed them).
    for task_id in ledger.tasks:
        final = wait_for(f"task {task_id}", lambda t=task_id: _finished_task(host, t), timeout=40)
        assert final["state"] == "Completed", final
    # No orchestration (tasks, the entity calls behind record-performance) is left running or pending.
    wait_for("no running or pending instances",
             lambda: host.request("GET", f"{API}/instances?runtimeStatus=Running,Pending").json() == [], timeout=30)
    for player in [*PLAYERS, SIGNALLED]:
        total = _attempts_after_queued_operations(host, player)
        acked, cut = ledger.acked[player], ledger.cut[player]
        assert acked <= total <= acked + cut, f"{player}: {total} attempts, {acked} acknowledged, {cut} cut"
    assert host.stop() == 0
    assert integrity(host.data_dir / "durable.sqlite3") == "ok"


def _finished_task(host: HostProcess, task_id: str) -> dict[str, Any] | None:
    reply = host.request("GET", f"/api/agents/tasks/{task_id}/status")
    body = reply.json() if reply.status == 200 else None
    return body if body and body["state"] in ("Completed", "Failed", "Cancelled") else None


def _attempts_after_queued_operations(host: HostProcess, player: str) -> int:
    """The player's totalAttempts, read by an entity call queued behind every operation still waiting."""
    reply = host.request("POST", f"{API}/orchestrators/entity_call?timeout=30&pollingInterval=1",
                         {"entity": "PlayerSession", "key": player, "operation": "get_stats"})
    assert reply.status == 200, reply.body
    stats = reply.json()
    return int(stats["totalAttempts"]) if stats else 0
