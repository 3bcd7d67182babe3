"""The CLI: one clear error line and a non-zero exit for each way startup can fail; clean SIGTERM."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.hostproc import ROOT, HostProcess

APP = ROOT / "tests" / "conformance_app"


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "funchost", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(ROOT))


def test_missing_script_root_is_one_line_error(tmp_path: Path) -> None:
    result = run_cli("start", "--script-root", str(tmp_path / "nope"), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"funchost: error: cannot load the function app in {tmp_path / 'nope'}: the script root is not a directory"]


def test_app_that_fails_to_import_names_the_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import no_such_module_xyz\n")
    result = run_cli("start", "--script-root", str(tmp_path), "--port", "0")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ModuleNotFoundError" in lines[0] and "no_such_module_xyz" in lines[0]
    assert "Traceback" not in result.stderr


def test_app_without_function_app_object(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("x = 1\n")
    result = run_cli("start", "--script-root", str(tmp_path), "--port", "0")
    assert result.returncode == 2 and "Could not find top level function app instances" in result.stderr


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("start", "--script-root", str(APP), "--port", str(port), "--data", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"funchost: error: port {port} on 127.0.0.1 is already in use "
                                     "(pick another with --port N, or make run PORT=N)")


def test_prints_routes_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    host = HostProcess(APP, tmp_path).start()
    assert host.stop() == 0
    log = host.log_path.read_text()
    assert "hello: [GET] http://127.0.0.1:" in log and "/api/hello" in log
    assert "Counter: entityTrigger" in log and "Host stopped." in log
    assert (ROOT / ".gitignore").read_text().count(".funchost/") == 1


def test_bad_options_are_one_line_each() -> None:
    cases = {
        ("--port", "99999"): "argument --port: 99999 is out of range: a port is 0-65535",
        ("--port", "http"): "argument --port: 'http' is not a port number",
        ("--log-level", "LOUD"): "argument --log-level: 'LOUD' is not a log level (one of CRITICAL, ERROR,",
        ("--activity-processes", "-1"): "argument --activity-processes: -1 must be 0 or more",
    }
    for args, message in cases.items():
        result = run_cli("start", "--script-root", str(APP), *args)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"funchost: error: {message}"), (args, lines)
        assert "Traceback" not in result.stderr


def test_version_and_log_level_help() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("funchost ")
    assert result.stdout.split()[1][0].isdigit()
    helptext = run_cli("start", "--help").stdout
    assert "--log-level" in helptext and "--verbose" in helptext and "--version" not in helptext


def test_store_with_a_newer_schema_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "durable.sqlite3") as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (99)")
    result = run_cli("start", "--script-root", str(APP), "--port", "0", "--data", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "schema version 99, written by a newer funchost" in lines[0], lines
    verbose = run_cli("start", "--script-root", str(APP), "--port", "0", "--data", str(tmp_path), "--verbose")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_corrupt_store_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "durable.sqlite3").write_bytes(b"this is not a database, just some bytes" * 200)
    result = run_cli("start", "--script-root", str(APP), "--port", "0", "--data", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a valid SQLite database" in lines[0], lines
    assert "Traceback" not in result.stderr
