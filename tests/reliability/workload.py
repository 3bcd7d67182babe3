"""HTTP clients for the reliability tests that tell an acknowledged request from an ambiguous one.

A request whose connection is refused never reached the host: it changed nothing. One that got an
answer is acknowledged (2xx) or rejected. One cut after it was sent (reset, closed, timed out) is
ambiguous: the host may or may not have applied it.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(Enum):
    REFUSED = "refused"
    ANSWERED = "answered"
    AMBIGUOUS = "ambiguous"


@dataclass
class Result:
    outcome: Outcome
    status: int = 0
    body: Any = None


def send(port: int, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Result:
    """One request on a fresh connection, classified as refused, answered or ambiguous."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            connection.connect()
        except (ConnectionRefusedError, ConnectionResetError):
            return Result(Outcome.REFUSED)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            return Result(Outcome.AMBIGUOUS)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Result(Outcome.ANSWERED, response.status, parsed)
    finally:
        connection.close()
