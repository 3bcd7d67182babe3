"""Protocol-level rejections (issue 11, item 3): aiohttp's own 400s for a bad request line, URL, header or
chunk framing answered as JSON `{error, details}` that does not repeat the request's bytes; each logged as
one WARNING line, at most 20 a minute, then a summary line. Raw requests over loopback to a real host."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from funchost.rejections import RejectionLog
from tests.conftest import CONFORMANCE_APP
from tests.hostproc import HostProcess, raw_exchange

SECRET = b"k3y-that-must-not-echo"
MALFORMED = {
    "bad request line": b"GARBAGE " + SECRET + b"\r\n\r\n",
    "bad method": b"G\x01T /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "header without a colon": b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nx-functions-key " + SECRET + b"\r\n\r\n",
    "0xFF in a header name": b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nx-\xffkey: " + SECRET + b"\r\n\r\n",
    "header too long": b"GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nx-long: " + b"a" * 9000 + SECRET + b"\r\n\r\n",
    "bad chunk size": (b"POST /api/orchestrators/sequence HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\nzz\r\n" + SECRET + b"\r\n0\r\n\r\n"),
    "space in the URL": b"GET /api/he llo" + SECRET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("protocol")))
    process.start()
    yield process
    process.stop()


def send(host: HostProcess, request: bytes) -> tuple[int, dict[str, str], bytes]:
    return raw_exchange(host.port, request)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_get_a_json_400_that_echoes_nothing(host: HostProcess, case: str) -> None:
    status, headers, body = send(host, MALFORMED[case])
    assert status == 400, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    value = json.loads(body)
    assert value["error"] == "malformed request" and value["details"], value
    assert SECRET not in body


@pytest.mark.parametrize("framing", [b"zz\r\n" + SECRET + b"\r\n0\r\n\r\n", b"3\r\n" + SECRET + b"\r\n0\r\n\r\n"])
def test_broken_chunks_after_the_head_get_a_400_not_a_wait_for_the_body_timeout(host: HostProcess,
                                                                                framing: bytes) -> None:
    # The head first, the body a moment later, as a slow client sends them: the app is already reading the
    # body when its framing breaks. That read used to wait for the 60 s body timeout (then 408).
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(b"POST /api/orchestrators/sequence HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked"
                     b"\r\nConnection: close\r\n\r\n")
        time.sleep(0.3)  # lets the host start the handler on the head alone (not a timed assertion)
        sock.sendall(framing)
        data = sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", data[:300]
    assert json.loads(body)["error"] == "malformed request" and SECRET not in body


def test_each_rejection_is_one_warning_line_at_most_twenty_a_minute(host: HostProcess) -> None:
    for _ in range(40):
        send(host, MALFORMED["header without a colon"])
    assert host.request("GET", "/api/hello").status == 200
    host.stop()
    log = host.log_path.read_text()
    host.start()
    assert "Traceback" not in log and "ERROR" not in log, log[-2000:]
    assert SECRET.decode() not in log
    lines = [line for line in log.splitlines() if "rejected a malformed request" in line]
    assert all("WARNING" in line for line in lines), lines
    assert len(lines) == 20, len(lines)  # this module's other rejections and these 40, limited to 20


def test_the_limit_ends_with_one_summary_line_when_the_window_closes(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RejectionLog(per_window=3, window_s=60.0, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="funchost"):
        for second in range(10):
            now[0] = float(second)
            limiter.warn("rejected request %d", second)
        now[0] = 61.0
        limiter.warn("rejected request %d", 61)
    messages = [record.getMessage() for record in caplog.records]
    assert messages[:3] == ["rejected request 0", "rejected request 1", "rejected request 2"]
    assert messages[3].startswith("7 more rejected requests were not logged in the last 60 s")
    assert messages[4:] == ["rejected request 61"]
