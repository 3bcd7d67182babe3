"""Run funchost as a real subprocess on a free loopback port, and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """The first truthy value of `check()`, polled every `interval` s; AssertionError naming `what` after
    `timeout` s. For conditions no `HostProcess.wait_*` helper covers (a Prometheus alert, a page element)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def raw_exchange(port: int, request: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as raw bytes to the loopback port and read until the host closes: (status, headers with
    lower-case names, body). For requests no HTTP client sends (bad request lines, broken framing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class HostProcess:
    """A funchost process for one script root and data folder; restartable, killable with SIGKILL."""

    def __init__(self, script_root: Path, data_dir: Path, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        self.script_root = script_root
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.args = args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "host.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> HostProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "funchost", "start", "--script-root", str(self.script_root), "--port",
             str(self.port), "--data", str(self.data_dir), *self.args],
            cwd=str(ROOT), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            try:
                key = self.env.get("FUNCHOST_ADMIN_KEY")
                probe = self.request("GET", "/admin/host/status", headers={"x-functions-key": key} if key else None)
                if probe.status == 200 or (probe.status == 401 and not key):  # 401: up, /admin needs a key
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"host did not become ready: {self.log_path.read_text()[-3000:]}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode or 0)

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), err.read())

    def wait_status(self, instance_id: str, statuses: tuple[str, ...] = ("Completed", "Failed", "Terminated"),
                    timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            reply = self.request("GET", f"/runtime/webhooks/durabletask/instances/{instance_id}?showHistory=true")
            if reply.status in (200, 202):
                last = reply.json()
                if last["runtimeStatus"] in statuses:
                    return last
            time.sleep(0.02)
        raise AssertionError(f"instance {instance_id} did not reach {statuses}: {last}")

    def wait_entity(self, entity: str, expected: Any = None, until: Callable[[Any], bool] | None = None,
                    timeout: float = 20.0, headers: dict[str, str] | None = None) -> Any:
        """The state of `entity` ("Name/key") once it equals `expected`, or once `until(state)` holds.

        Signalled operations are applied after their 202, so a test reads the state until it arrives;
        an entity that does not exist yet reads as None. AssertionError names the last state read.
        """
        done = until if until is not None else (lambda state: state == expected)
        deadline = time.monotonic() + timeout
        state: Any = None
        while time.monotonic() < deadline:
            reply = self.request("GET", f"/runtime/webhooks/durabletask/entities/{entity}", headers=headers)
            state = reply.json() if reply.status == 200 else None
            if done(state):
                return state
            time.sleep(0.02)
        wanted = "the awaited condition" if until is not None else repr(expected)
        raise AssertionError(f"entity {entity} did not reach {wanted} in {timeout:g} s; last state {state!r}")
