"""local.settings.json as Core Tools reads it, the script root as working directory, a broken host.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from funchost.errors import SettingsError
from funchost.local_settings import LocalSettings, read_local_settings
from tests.hostproc import ROOT, HostProcess

APP_SOURCE = '''
import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
AT_IMPORT = {"cwd": os.getcwd(), "data": Path("data.txt").read_text()}


@app.route(route="env", methods=["GET"])
def env(req: func.HttpRequest) -> func.HttpResponse:
    names = ["GREETING", "FROM_SHELL", "NUMBER", "ConnectionStrings:Db"]
    body = {"values": {name: os.environ.get(name) for name in names}, "import": AT_IMPORT,
            "cwd": os.getcwd(), "data": Path("data.txt").read_text()}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
'''


def _app(tmp_path: Path, settings: dict[str, object] | None) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "function_app.py").write_text(APP_SOURCE)
    (root / "host.json").write_text('{"version": "2.0"}')
    (root / "data.txt").write_text("relative file")
    if settings is not None:
        (root / "local.settings.json").write_text(json.dumps(settings))
    return root


def _cli(root: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "funchost", "start", "--script-root", str(root), "--port", "0",
                           "--data", str(data), *args], capture_output=True, text=True, timeout=30, env=env,
                          cwd=str(ROOT))


def test_values_reach_the_app_environment_wins_and_cwd_is_the_script_root(tmp_path: Path) -> None:
    root = _app(tmp_path, {"IsEncrypted": False,
                           "Values": {"GREETING": "hello", "FROM_SHELL": "from file", "NUMBER": 3},
                           "ConnectionStrings": {"Db": "Server=local"}})
    host = HostProcess(root, tmp_path / "data", env={"FROM_SHELL": "from shell"}).start()
    try:
        body = host.request("GET", "/api/env").json()
    finally:
        host.stop()
    assert body["values"] == {"GREETING": "hello", "FROM_SHELL": "from shell", "NUMBER": "3",
                              "ConnectionStrings:Db": "Server=local"}
    assert body["import"] == {"cwd": str(root), "data": "relative file"}
    assert body["cwd"] == str(root) and body["data"] == "relative file"


def test_cors_preflight_and_headers_from_settings(tmp_path: Path) -> None:
    root = _app(tmp_path, {"Values": {}, "Host": {"CORS": "https://app.example, http://localhost:3000",
                                                  "CORSCredentials": True}})
    host = HostProcess(root, tmp_path / "data").start()
    try:
        preflight = host.request("OPTIONS", "/api/env", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type,x-trace"})
        simple = host.request("GET", "/api/env", headers={"Origin": "http://localhost:3000"})
        missing = host.request("GET", "/api/nope", headers={"Origin": "http://localhost:3000"})
        other = host.request("GET", "/api/env", headers={"Origin": "https://evil.example"})
        other_preflight = host.request("OPTIONS", "/api/env", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    finally:
        host.stop()
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type,x-trace"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert simple.status == 200 and simple.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert missing.status == 404 and missing.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert other.status == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert other_preflight.status == 204 and "Access-Control-Allow-Origin" not in other_preflight.headers


def test_cors_flag_overrides_settings_and_star_without_credentials(tmp_path: Path) -> None:
    root = _app(tmp_path, None)
    host = HostProcess(root, tmp_path / "data", args=["--cors", "*"]).start()
    try:
        reply = host.request("GET", "/api/env", headers={"Origin": "https://any.example"})
        plain = host.request("GET", "/api/env")
    finally:
        host.stop()
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in reply.headers
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(("settings", "message"), [
    ({"IsEncrypted": True, "Values": {}}, "IsEncrypted is true: funchost cannot decrypt it"),
    ({"Values": {"A": {"nested": 1}}}, "Values.A must be a string, not dict"),
    ({"Values": {}, "Host": {"LocalHttpPort": 70000}}, "Host.LocalHttpPort must be a port number"),
])
def test_bad_settings_are_one_line(tmp_path: Path, settings: dict[str, object], message: str) -> None:
    root = _app(tmp_path, settings)
    result = _cli(root, tmp_path / "data")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0] == f"funchost: error: {root / 'local.settings.json'}: " + lines[0].split(": ", 3)[-1]
    assert message in lines[0]


def test_broken_host_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    root = _app(tmp_path, None)
    (root / "host.json").write_text('{"version": "2.0",, }')
    result = _cli(root, tmp_path / "data")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"funchost: error: {root / 'host.json'}: not valid JSON: ")
    assert "line 1 column 19" in lines[0] and "Traceback" not in result.stderr


def test_local_http_port_is_the_default_port(tmp_path: Path) -> None:
    root = _app(tmp_path, {"Values": {}, "Host": {"LocalHttpPort": "7188"}})
    assert read_local_settings(root).local_http_port == 7188


def test_no_file_means_empty_settings(tmp_path: Path) -> None:
    assert read_local_settings(tmp_path) == LocalSettings()
    (tmp_path / "local.settings.json").write_text("[1, 2]")
    with pytest.raises(SettingsError, match="top level must be a JSON object"):
        read_local_settings(tmp_path)
