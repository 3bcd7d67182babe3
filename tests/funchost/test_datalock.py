"""One host per data folder: a second host is refused while the first lives, even across kill -9."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from funchost.datalock import DataFolderLock
from funchost.errors import DataFolderInUse
from tests.hostproc import ROOT, HostProcess, free_port

APP = ROOT / "tests" / "conformance_app"


def _second_host(data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "funchost", "start", "--script-root", str(APP), "--port", str(free_port()),
         "--data", str(data)], capture_output=True, text=True, timeout=30, env=env, cwd=str(ROOT))


def test_second_host_on_the_same_folder_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    first = HostProcess(APP, tmp_path).start()
    try:
        signalled = first.request("POST", "/runtime/webhooks/durabletask/entities/Counter/ana?op=add", body=1)
        assert signalled.status == 202
        result = _second_host(tmp_path)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert lines == [f"funchost: error: the data folder {tmp_path} is in use by another funchost "
                         f"(pid {first.proc.pid if first.proc else 0}, port {first.port}); "
                         "stop that host or pass another --data folder"]
        # The first host still serves, and its state is intact.
        assert first.wait_entity("Counter/ana", 1) == 1
    finally:
        assert first.stop() == 0


def test_lock_is_released_by_kill_9(tmp_path: Path) -> None:
    first = HostProcess(APP, tmp_path).start()
    assert first.request("POST", "/runtime/webhooks/durabletask/entities/Counter/bo?op=add", body=5).status == 202
    first.kill9()
    second = HostProcess(APP, tmp_path).start()
    try:
        assert second.wait_entity("Counter/bo", 5) == 5
    finally:
        assert second.stop() == 0


def test_lock_in_process(tmp_path: Path) -> None:
    lock = DataFolderLock(tmp_path)
    lock.acquire()
    lock.record(port=7071)
    other = DataFolderLock(tmp_path)
    with pytest.raises(DataFolderInUse) as refused:
        other.acquire()
    assert refused.value.pid == os.getpid() and refused.value.port == 7071
    lock.release()
    lock.release()  # idempotent
    other.acquire()  # free again
    other.release()
