"""HTTP/1.1 requests written byte by byte and sent over a loopback socket, for input no HTTP client sends.

`RawRequest.from_case` writes the request a Schemathesis case stands for; attacks then replace a part of
it (the request line, a header, the framing, the body), and `send` answers with a Schemathesis
`Response`, so the usual checks (`not_a_server_error`, custom ones) judge it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from schemathesis.core.transport import Response

Framing = Literal["length", "chunked", "as-is"]
CHUNK = 64 * 1024


@dataclass(frozen=True)
class RawRequest:
    """One request as the bytes on the wire: `framing` says how the body is delimited.

    `length` sends `Content-Length: declared_length` (default: the body's size), `chunked` sends the body
    in 64 KB chunks, `as-is` sends the body bytes unframed (they carry their own, possibly broken, framing).
    """

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""
    version: bytes = b"HTTP/1.1"
    framing: Framing = "length"
    declared_length: int | None = None

    @classmethod
    def from_case(cls, case: Any, base_url: str) -> RawRequest:
        """The request the Schemathesis `case` stands for, as Schemathesis' requests transport would send it."""
        prepared = nominal_request(case, base_url)
        body = prepared.body if isinstance(prepared.body, (bytes, str)) else b""
        headers = tuple((name.encode("latin-1"), str(value).encode("latin-1")) for name, value in
                        prepared.headers.items() if name.lower() not in ("content-length", "host", "connection"))
        host = urlsplit(base_url).netloc.encode()
        return cls(str(prepared.method).encode(), prepared.path_url.encode(), ((b"Host", host), *headers),
                   body if isinstance(body, bytes) else body.encode())

    def with_header(self, name: bytes, value: bytes) -> RawRequest:
        """This request with header `name` set to `value` (replacing any header of that name)."""
        kept = tuple(pair for pair in self.headers if pair[0].lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    def head(self) -> bytes:
        """Request line and headers, up to and including the empty line."""
        lines = [self.method + b" " + self.target + (b" " + self.version if self.version else b"")]
        lines += [name + b": " + value for name, value in self.headers]
        if self.framing == "length":
            lines.append(b"Content-Length: %d" % (len(self.body) if self.declared_length is None
                                                  else self.declared_length))
        elif self.framing == "chunked":
            lines.append(b"Transfer-Encoding: chunked")
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def pieces(self) -> Iterator[bytes]:
        """The request's bytes in the order they go out (head first, then the body in chunks)."""
        yield self.head()
        if self.framing == "chunked":
            for start in range(0, len(self.body), CHUNK):
                part = self.body[start:start + CHUNK]
                yield b"%x\r\n" % len(part) + part + b"\r\n"
            yield b"0\r\n\r\n"
        else:
            for start in range(0, len(self.body), CHUNK):
                yield self.body[start:start + CHUNK]


def _request_kwargs(case: Any, base_url: str) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url=base_url)
    return {key: kwargs[key] for key in ("method", "url", "headers", "params", "json", "data", "cookies")
            if key in kwargs}


def nominal_request(case: Any, base_url: str) -> requests.PreparedRequest:
    """The well-formed request `case` stands for, named in failure reports of the hostile one built from it."""
    return requests.Request(**_request_kwargs(case, base_url)).prepare()


def send(request: RawRequest, port: int, nominal: requests.PreparedRequest, timeout: float = 10.0) -> Response:
    """Send `request` to 127.0.0.1:`port` and read the answer until the host closes the connection.

    The host may answer and close before the whole request went out (a 413 on an oversized body); what
    could not be sent is dropped. The answer comes back as a Schemathesis `Response` whose `request` is
    `nominal` (for failure reports).
    """
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for piece in request.pieces():
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = _read_answer(sock)
    assert data, f"the host closed the connection without answering {request.head()[:200]!r}"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, headers = _parse_head(head)
    return Response(status_code=int(status_line.split(" ")[1]), headers=headers, content=body, request=nominal,
                    elapsed=time.monotonic() - started, verify=True, message=status_line.partition(" ")[2],
                    http_version=status_line.split(" ")[0].removeprefix("HTTP/"))


def _parse_head(head: bytes) -> tuple[str, dict[str, list[str]]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status_line, headers


def _read_answer(sock: socket.socket) -> bytes:
    """The answer's bytes: up to its `Content-Length` when it has one, else until the host closes.

    Not waiting for the close matters after a refusal: aiohttp keeps reading (and dropping) an unsent body
    for up to 10 s before it closes the connection (its lingering close).
    """
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            head, found, body = data.partition(b"\r\n\r\n")
            length = _parse_head(head)[1].get("content-length", [""])[0] if found else ""
            if length.isdigit() and len(body) >= int(length):
                break
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"no complete answer in time; received {data[:300]!r}") from None
    return data
