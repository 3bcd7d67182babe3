"""Resources bounded (issue 11, item 5): the route's body limit applied while the body arrives (413 before
buffering more), decompressed size limited (gzip bombs), header, idle and body timeouts. Raw requests over
loopback sockets to a real host running the conformance app.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import CONFORMANCE_APP
from tests.hostproc import HostProcess

FUNCTION_LIMIT = 64 * 1024
HOST_LIMIT = 1024 * 1024
API = b"/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("limits")), env={
        "FUNCHOST_FUNCTION_MAX_BODY_BYTES": str(FUNCTION_LIMIT), "FUNCHOST_MAX_BODY_BYTES": str(HOST_LIMIT),
        "FUNCHOST_IDLE_TIMEOUT_S": "1", "FUNCHOST_BODY_TIMEOUT_S": "1"})
    process.start()
    yield process
    process.stop()


def head(path: bytes, extra: bytes) -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra + b"\r\n"


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the host's answer, read until the host closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


def error_of(body: bytes) -> str:
    value = json.loads(body)
    assert set(value) == {"error", "details"} and value["details"], value
    return str(value["error"])


def test_a_declared_length_over_the_limit_gets_413_before_the_body_is_sent(host: HostProcess) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        # 95 MB announced, 1 KB sent: the answer must come without the host waiting for the rest.
        sock.sendall(head(b"/api/orchestrators/sequence", b"Content-Length: 95000000\r\n") + b" " * 1024)
        status, body = answer(sock)
    assert status == 413 and error_of(body) == "request body too large"
    assert b"65536" in body


def test_a_chunked_body_is_refused_at_the_route_limit_without_buffering(host: HostProcess) -> None:
    assert host.proc is not None
    before = psutil.Process(host.proc.pid).memory_info().rss
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(head(b"/api/orchestrators/sequence", b"Transfer-Encoding: chunked\r\n"))
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        try:
            for _ in range(64):  # 4 MB, over both limits; the host drops what follows its answer
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, body = answer(sock)
    assert status == 413 and error_of(body) == "request body too large"
    assert b"65536" in body, body  # the route's limit, not the host's
    grown = psutil.Process(host.proc.pid).memory_info().rss - before
    assert grown < 32 * 1024 * 1024, f"the host grew by {grown / 1e6:.0f} MB on a refused body"


def test_a_gzip_bomb_is_refused_at_the_limit_without_inflating(host: HostProcess) -> None:
    bomb = gzip.compress(b"\0" * (512 * 1024 * 1024), compresslevel=9)  # about 500 KB inflating to 512 MB
    assert host.proc is not None
    before = psutil.Process(host.proc.pid).memory_info().rss
    for path in (b"/api/orchestrators/sequence", API + b"/orchestrators/sequence/bomb"):
        with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
            sock.sendall(head(path, b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb)) + bomb)
            status, body = answer(sock)
        assert status == 413 and error_of(body) == "request body too large", (path, body[:300])
        assert str(FUNCTION_LIMIT if path.startswith(b"/api") else HOST_LIMIT).encode() in body, body
    grown = psutil.Process(host.proc.pid).memory_info().rss - before
    assert grown < 64 * 1024 * 1024, f"the host grew by {grown / 1e6:.0f} MB on a gzip bomb"
    assert host.request("GET", "/runtime/webhooks/durabletask/instances/bomb").status == 404


def test_each_route_kind_gets_its_own_limit(host: HostProcess) -> None:
    value = json.dumps(["x" * (2 * FUNCTION_LIMIT)]).encode()  # over the app's limit, under the host's
    assert host.request("POST", "/api/orchestrators/sequence", raw=value).status == 413
    started = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/sequence/big-input", raw=value)
    assert started.status == 202, started.body[:300]
    assert host.wait_status("big-input")["runtimeStatus"] == "Completed"


def test_a_slow_request_head_is_closed_and_the_host_keeps_serving(host: HostProcess) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
        assert sock.recv(65536) == b"", "the host kept a half-sent request head open"
    assert host.request("GET", "/api/hello?name=x").status == 200


def test_an_idle_connection_is_closed(host: HostProcess) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        assert sock.recv(65536) == b""


def test_a_body_that_stops_arriving_gets_408(host: HostProcess) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(head(b"/api/orchestrators/sequence", b"Content-Length: 100\r\n") + b'["x"')
        status, body = answer(sock)
    assert status == 408 and error_of(body) == "request body timeout"
