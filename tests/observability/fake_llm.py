"""A local stand-in for an OpenAI-compatible LLM server (the one thing that cannot run here).

It answers HTTP 500 at once, so agent tasks fall back to the rule engine, except for requests
whose prompt contains HOLD_MARKER: those wait until `release()`, which keeps a task running (at
its consulting-llm stage) for exactly as long as a test needs it to.

`mode` changes the answer of every later request: "error" (the default: HTTP 500), "hang" (no
answer for `hold_limit_s` or until `stop()`, so the client times out) or "plan" (a chat completion
whose content is `plan` as JSON); `calls` counts the requests received.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_MARKER = "hold-for-metrics"


class FakeLlm:
    def __init__(self, hold_limit_s: float = 30.0) -> None:
        self.released = threading.Event()
        self.held = 0
        self.calls = 0
        self.mode = "error"
        self.plan: dict[str, Any] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner._lock:
                    owner.calls += 1
                    mode = owner.mode
                if mode == "hang":
                    owner.released.wait(hold_limit_s)
                elif mode == "plan":
                    self._answer(200, {"id": "fake", "object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": json.dumps(owner.plan)}}]})
                    return
                if HOLD_MARKER.encode() in body:
                    with owner._lock:
                        owner.held += 1
                    owner.released.wait(hold_limit_s)
                try:
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "fake LLM: no plan"}')
                except OSError:  # the task was cancelled and its client went away
                    pass

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                raw = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-llm",
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeLlm:
        self.thread.start()
        return self

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
