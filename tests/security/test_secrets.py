"""Secrets (function keys, the admin key, LLM_API_KEY) never show in the log, error bodies or status output.

The project app runs with keys and an LLM endpoint configured, at DEBUG log level. The LLM is a local
fake that answers 401 and echoes the bearer token it got, as real providers do. The workload includes
auth failures that present the function keys where they are not enough and near-misses that contain
the admin key, valid admin calls, player writes and an agent task that consults the LLM.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, Reply
from tests.security.keyed import KeyedHost

API = "/runtime/webhooks/durabletask"


class EchoingLlm(BaseHTTPRequestHandler):
    """An OpenAI-style endpoint that refuses every key and quotes it back in the error."""

    seen_authorization: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization") or ""
        self.seen_authorization.append(authorization)
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {authorization}"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def fake_llm() -> Iterator[str]:
    EchoingLlm.seen_authorization = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingLlm)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_no_secret_in_log_error_bodies_or_status_output(tmp_path: Path, fake_llm: str) -> None:
    function_keys = [f"fk{i}-{secrets.token_hex(12)}" for i in (1, 2)]
    admin_key = f"adm-{secrets.token_hex(12)}"
    llm_key = f"sk-{secrets.token_hex(16)}"
    secret_values = [*function_keys, admin_key, llm_key]
    host = KeyedHost(ROOT, tmp_path / "data", ",".join(function_keys), admin_key,
                     env={"LLM_BASE_URL": fake_llm, "LLM_MODEL": "fake", "LLM_API_KEY": llm_key,
                          "LLM_TIMEOUT_S": "5"},
                     args=["--log-level", "DEBUG"])
    shown: list[tuple[str, Reply]] = []  # error bodies and status output: none may hold a secret

    def look(label: str, reply: Reply) -> Reply:
        shown.append((label, reply))
        return reply

    host.start()
    try:
        for path in (f"{API}/instances", "/metrics", "/admin/host/status"):
            for headers in ({"x-functions-key": function_keys[0]}, {"x-functions-key": admin_key + "x"},
                            {"x-functions-key": admin_key[:-1]}):
                assert look(f"GET {path} {headers}", host.request("GET", path, headers=headers)).status == 401
            assert look(f"GET {path}?code=fk", host.request("GET", f"{path}?code={function_keys[1]}",
                                                            headers={})).status == 401
        record = {"playerId": "secret-keeper", "success": True, "timeMs": 1200, "attempts": 1, "shapeId": "G/B"}
        assert host.request("POST", "/api/adaptive-ai/record-performance", record, headers={}).status == 200
        invalid = {**record, "timeMs": -1, "playerId": admin_key + "/"}
        assert look("invalid record", host.request("POST", "/api/adaptive-ai/record-performance", invalid,
                                                   headers={})).status == 400
        assert look("unknown player", host.request("GET", "/api/adaptive-ai/session/nobody", headers={})).status == 404

        started = host.request("POST", "/api/agents/tasks/spice-up", {"progression": "Dm7 G7 Cmaj7", "budgetMs": 50},
                               headers={})
        assert started.status == 202
        task_id = started.json()["taskId"]
        deadline = time.monotonic() + 30
        while True:
            status = look("task status", host.request("GET", f"/api/agents/tasks/{task_id}/status", headers={}))
            if status.json()["state"] in ("Completed", "Failed", "Cancelled") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status.json()["state"] == "Completed", status.body[:500]
        assert any("401" in warning for warning in status.json()["result"]["warnings"])
        assert EchoingLlm.seen_authorization == [f"Bearer {llm_key}"]  # the key was in play
        look("instance status", host.admin("GET", f"{API}/instances/{task_id}?showHistory=true&showHistoryOutput=true"))
        look("host status", host.admin("GET", "/admin/host/status"))
        look("metrics", host.admin("GET", "/metrics"))
    finally:
        exit_code = host.stop()
    assert exit_code == 0

    for label, reply in shown:
        text = reply.body.decode("utf-8", errors="replace") + json.dumps(reply.headers)
        leaked = [value for value in secret_values if value in text]
        assert not leaked, f"{label} shows a secret: {text[:300]}"
    log = host.log_path.read_text(errors="replace")
    assert "Host started" in log and "DEBUG" in log
    assert not [value for value in secret_values if value in log], "the host log holds a secret"
