"""Bad input never gives a 5xx (issue 11): huge integers, deep JSON, a bad Host port, an unknown
Content-Encoding, a non-ASCII digit in `top`, a 0xFF byte in a key; each rejected request logs one
WARNING line, not a traceback. Raw requests over a loopback socket to the real app on a real host.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, raw_exchange
from tests.security.keyed import KeyedHost

ADMIN_KEY = "adm-bad-input"
SPICE_UP = b"/api/agents/tasks/spice-up"
START = b"/runtime/webhooks/durabletask/orchestrators/entity_call?code=" + ADMIN_KEY.encode()
HUGE_INT = b"1" * 5000
DEEP = b"[" * 1000 + b"]" * 1000


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedHost]:
    process = KeyedHost(Path(os.environ.get("APP_SCRIPT_ROOT", str(ROOT))), Path(tmp_path_factory.mktemp("bad")),
                        "fk-bad", ADMIN_KEY)
    process.start()
    yield process
    process.stop()


def send(host: KeyedHost, request: bytes) -> tuple[int, bytes]:
    status, _, body = raw_exchange(host.port, request)
    return status, body


def post(host: KeyedHost, path: bytes, body: bytes, extra: bytes = b"", host_header: bytes = b"127.0.0.1") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: " + host_header + b"\r\nContent-Type: application/json\r\n"
            + extra + b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def get(path: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"Connection: close\r\n\r\n"


def error_json(body: bytes) -> dict[str, Any]:
    """`{error, details}`; the management API answers in Azure's shape `{Message, ExceptionType}` plus `error`."""
    value: dict[str, Any] = json.loads(body)
    assert value["error"] and (value.get("details") or value.get("Message")), value
    return value


CASES = {
    "huge integer, app route": (post, SPICE_UP, b'{"progression": ' + HUGE_INT + b"}", b"", 400),
    "deep JSON, app route": (post, SPICE_UP, b'{"progression": ' + DEEP + b"}", b"", 400),
    "huge integer, management API": (post, START, HUGE_INT, b"", 400),
    "deep JSON, management API": (post, START, DEEP, b"", 400),
    "unknown Content-Encoding": (post, SPICE_UP, b"{}", b"Content-Encoding: bogus\r\n", 415),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_bodies_get_a_json_4xx(host: KeyedHost, case: str) -> None:
    _, path, body, extra, expected = CASES[case]
    status, reply = send(host, post(host, path, body, extra))
    assert status == expected, (status, reply[:300])
    error_json(reply)


def test_a_host_header_with_a_bad_port_gets_400(host: KeyedHost) -> None:
    status, reply = send(host, post(host, SPICE_UP, b"{}", host_header=b"127.0.0.1:abc"))
    assert status == 400 and error_json(reply)["error"] == "invalid Host header"


def test_a_non_ascii_digit_in_top_gets_400(host: KeyedHost) -> None:
    status, reply = send(host, get(b"/runtime/webhooks/durabletask/instances?top=%C2%B2&code=" + ADMIN_KEY.encode()))
    assert status == 400, reply[:300]
    assert "top" in error_json(reply)["error"]


@pytest.mark.parametrize("path", [b"/metrics", b"/runtime/webhooks/durabletask/instances"])
def test_a_0xff_byte_in_the_key_gets_401(host: KeyedHost, path: bytes) -> None:
    status, reply = send(host, get(path, b"x-functions-key: a\xffb\r\n"))
    assert status == 401 and error_json(reply)["error"] == "unauthorized"


def test_rejected_requests_log_one_warning_line_and_no_traceback(host: KeyedHost) -> None:
    before = host.log_path.read_text()
    status, _ = send(host, b"GET /runtime/webhooks/durabletask/instances?top=\xc2\xb2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400
    send(host, post(host, SPICE_UP, b"{}", host_header=b"127.0.0.1:abc"))
    host.stop()
    host.start()
    added = host.log_path.read_text()[len(before):]
    assert "Traceback" not in added and "ERROR" not in added, added[-2000:]
    assert sum("WARNING" in line and "malformed request" in line for line in added.splitlines()) == 1, added
    assert sum("WARNING" in line and "invalid Host header" in line for line in added.splitlines()) == 1, added
