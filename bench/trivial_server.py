"""The machine's ceiling for one Python HTTP server: a trivial aiohttp JSON handler in its own process.

`python -m bench.trivial_server --port P` serves every path: it reads the request body, decodes it
as JSON when there is one, and answers a small JSON object (202 under `/runtime/`, the status the
management API gives a signal, 200 elsewhere). One process and one event loop, like funchost, with
no access log. `bench.ceiling` drives it with the very load clients that drive the host, so each
host figure can be read as a fraction of what this interpreter can serve on this machine today.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from tests.hostproc import free_port

from .common import REPO_ROOT

READY_TIMEOUT_S = 20.0


async def handle(request: web.Request) -> web.Response:
    """Decode the JSON body (if any) and answer a small JSON object."""
    body = await request.read()
    decoded = json.loads(body) if body else None
    status = 202 if request.path.startswith("/runtime/") else 200
    return web.json_response({"ok": True, "kind": type(decoded).__name__}, status=status)


@dataclass(frozen=True)
class TrivialServer:
    """A running trivial server: its base URL and process id (for its CPU time)."""

    base: str
    pid: int


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serving() -> Iterator[TrivialServer]:
    """The trivial server as a subprocess on a free loopback port, stopped on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.trivial_server", "--port", str(port)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(f"http://127.0.0.1:{port}/ready"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"trivial server did not start (exit code {proc.poll()})")
            time.sleep(0.05)
        yield TrivialServer(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trivial_server", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
