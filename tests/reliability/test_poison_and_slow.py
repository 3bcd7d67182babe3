"""Poison and slow work stay contained: a failing operation, a hanging activity, an orchestrator that
raises on replay, each fails only itself while everything around it keeps completing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import HostProcess
from tests.reliability.apps import POISON_AND_SLOW, write_app

API = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    base = Path(tmp_path_factory.mktemp("poison"))
    process = HostProcess(write_app(base / "app", POISON_AND_SLOW), base / "data",
                          env={"PYTHONDONTWRITEBYTECODE": "1"})
    process.start()
    yield process
    process.stop()


def start(host: HostProcess, name: str, payload: Any, instance_id: str | None = None) -> str:
    path = f"{API}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    reply = host.request("POST", path, payload)
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def test_a_poisoned_entity_operation_fails_only_itself(host: HostProcess) -> None:
    batch = start(host, "poison_batch", {"key": "a"})
    for i in range(20):  # another entity, signalled over HTTP meanwhile, good and poisoned alike
        assert host.request("POST", f"{API}/entities/Tally/b?op={'poison' if i % 2 else 'add'}", 2).status == 202
    status = host.wait_status(batch)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["value"] == 5  # the five adds of the same batch all applied
    assert "poisoned operation on Tally@a" in status["output"]["error"]
    assert host.wait_entity("Tally/b", 20) == 20
    assert host.wait_entity("Tally/a", 5) == 5


def test_an_activity_that_hangs_past_its_timeout_fails_only_its_orchestration(host: HostProcess,
                                                                                tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    hung = start(host, "guarded", {"timeout_s": 0.5, "gate": str(gate)})
    others = [start(host, "quick_chain", None) for _ in range(10)]
    try:
        for instance_id in others:
            status = host.wait_status(instance_id)
            assert status["runtimeStatus"] == "Completed" and status["output"] == 6, status
        status = host.wait_status(hung)
        assert status["runtimeStatus"] == "Failed", status
        assert "activity 'wait_for_gate' timed out after 0.5 s" in str(status["output"])
        events = [event["EventType"] for event in status["historyEvents"]]
        assert "TaskScheduled" in events and "TaskCompleted" not in events  # it failed while the activity hung
        assert not gate.exists()
    finally:
        gate.touch()  # let the blocked worker thread go
    # The late activity result changes nothing, and the host keeps working.
    assert host.wait_status(start(host, "quick_chain", None))["output"] == 6
    assert host.wait_status(hung)["runtimeStatus"] == "Failed"


def test_an_orchestrator_that_raises_on_replay_fails_only_its_own_instance(host: HostProcess) -> None:
    bombs = [start(host, "replay_bomb", None, f"bomb-{i}") for i in range(3)]
    others = [start(host, "quick_chain", None) for _ in range(6)]
    for instance_id in bombs:
        status = host.wait_status(instance_id)
        assert status["runtimeStatus"] == "Failed", status
        assert f"replay bomb went off in {instance_id}" in str(status["output"])
    for instance_id in others:
        assert host.wait_status(instance_id)["runtimeStatus"] == "Completed"
