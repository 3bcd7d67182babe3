"""Schemathesis with hostile requests (issue 11): the bad input the attack on the app found, sent to every
operation of routes/openapi.json on a real host with keys, through raw loopback sockets.

Schemathesis generates a valid request for an operation (positive mode, aimed at one victim player);
an attack then rewrites one part of it as no HTTP client would send it: JSON nested 1,000 deep or an
integer over 4,300 digits in the body, a bad `Host` port, an unknown `Content-Encoding`, `top=²`, a body
over the route's limit with and without `Content-Length`, a gzip bomb, broken chunk framing, a bad request
line. Every answer must be (Schemathesis checks) no 5xx (`not_a_server_error`), the attack's 4xx, the JSON
error document, and repeat none of the hostile bytes; afterwards the victim's session and statistics read
back unchanged and no orchestration was started. The management API and the admin endpoints, which the
document does not describe, get the same checks on explicit requests (a 0xFF byte in `x-functions-key`,
`top=²`).

Hypothesis runs derandomized without shrinking, MAX_EXAMPLES requests per attack, so the run is bounded.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.fuzz_checks import Check, echoes_none_of, error_body_is_json, rejected_with
from tests.api.rawhttp import RawRequest, nominal_request, send
from tests.hostproc import ROOT
from tests.security.keyed import KeyedHost

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 10
FUNCTION_LIMIT = 64 * 1024  # the app's own body limit (local.settings.example.json)
ADMIN_KEY = "adm-hostile-fuzz"
FUNCTION_KEY = "fk-hostile-fuzz"
VICTIM = "fuzz-victim"
NO_TASK = "fuzz-no-such-task"
MARK = b"fz-Q7mark"  # carried by every hostile request; no answer may repeat it
SLOT = "\x00fuzz-slot"  # stands for a body value an attack replaces with raw bytes
HOSTILE_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                            print_blob=False)
API = "/runtime/webhooks/durabletask"


@dataclass(frozen=True)
class Attack:
    """One kind of bad input: which operations it is sent to, its variants, and the statuses it must get.

    `rewrite(raw, body, variant)` turns the valid request `raw` (whose JSON body is `body`, or None) into
    the hostile one; it answers the request and the bytes of it no answer may repeat.
    """

    name: str
    targets: Callable[[Any], bool]
    variants: tuple[bytes, ...]
    statuses: tuple[int, ...]
    rewrite: Callable[[RawRequest, Any, bytes], tuple[RawRequest, tuple[bytes, ...]]]


def _with_slot(body: Any, payload: bytes) -> bytes:
    """`body` serialized with its first field's value (or a new field) replaced by the raw bytes `payload`."""
    value = dict(body) if isinstance(body, dict) else {}
    field = next(iter(sorted(value)), "value")
    text = json.dumps({**value, field: SLOT}).encode()
    return text.replace(json.dumps(SLOT).encode(), payload)


def _json_value(raw: RawRequest, body: Any, payload: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    return replace(raw, body=_with_slot(body, payload)), (payload[:24], payload[-24:])


def _header(name: bytes) -> Callable[[RawRequest, Any, bytes], tuple[RawRequest, tuple[bytes, ...]]]:
    # The answer may name the offending header's value (at most 40 characters); the body must not come back.
    return lambda raw, body, value: (raw.with_header(name, value), (raw.body,) if len(raw.body) > 40 else ())


def _top(raw: RawRequest, body: Any, value: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    return replace(raw, target=raw.target.partition(b"?")[0] + b"?top=" + value), ()


def _oversized_with_length(raw: RawRequest, body: Any, declared: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    # Announces `declared` bytes and sends only the valid body and 1 KB: the answer must not wait for the rest.
    return replace(raw, body=raw.body + b" " * 1024, declared_length=int(declared)), ()


def _oversized_chunked(raw: RawRequest, body: Any, size: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    padding = MARK * (int(size) // len(MARK))
    return replace(raw, body=raw.body[:-1] + b', "pad": "' + padding + b'"}', framing="chunked"), (MARK,)


@cache
def _bomb(wbits: int) -> bytes:
    """128 MB of zeros compressed (about 128 KB): gzip for wbits 31, zlib (deflate) for 15."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(128)) + packer.flush()


def _gzip_bomb(raw: RawRequest, body: Any, encoding: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    bomb = _bomb(31 if encoding == b"gzip" else 15)
    return replace(raw.with_header(b"Content-Encoding", encoding), body=bomb), ()


def _broken_chunks(raw: RawRequest, body: Any, framing: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    hostile = raw.with_header(b"Transfer-Encoding", b"chunked")
    return replace(hostile, body=framing, framing="as-is"), (MARK,)


def _request_line(raw: RawRequest, body: Any, variant: bytes) -> tuple[RawRequest, tuple[bytes, ...]]:
    part, _, value = variant.partition(b"=")
    if part == b"method":
        return replace(raw, method=value), (MARK,)
    if part == b"version":
        return replace(raw, version=value), (MARK,)
    return replace(raw, target=value.replace(b"PATH", raw.target.partition(b"?")[0])), (MARK,)


def _has_body(operation: Any) -> bool:
    return "requestBody" in operation.definition.raw


def _is_post(operation: Any) -> bool:
    return str(operation.method).upper() == "POST"


def _has_top(operation: Any) -> bool:
    return any(parameter.get("name") == "top" for parameter in operation.definition.raw.get("parameters", []))


ATTACKS = (
    Attack("JSON nested 1,000 deep", _has_body, (b"[" * 1000 + b"]" * 1000, b'{"a": ' * 1000 + b"1" + b"}" * 1000,
                                                b"[" + b'{"a": [' * 500 + b"]}" * 500 + b"]"), (400,), _json_value),
    Attack("integer over 4,300 digits", _has_body, (b"1" * 5000, b"-" + b"9" * 4301, b"[2, " + b"7" * 4400 + b"]"),
           (400,), _json_value),
    Attack("bad Host port", lambda operation: True, (b"127.0.0.1:abc", b"127.0.0.1:99999", b"localhost:65536"),
           (400,), _header(b"Host")),
    Attack("unknown Content-Encoding", lambda operation: True, (b"bogus", b"gzip, bogus", b"x-" + MARK),
           (415,), _header(b"Content-Encoding")),
    Attack("top not an ASCII number", _has_top, (b"%C2%B2", b"1%C2%B2", b"%C2%B9%E2%81%B0", b"\xc2\xb2"), (400,),
           _top),
    Attack("oversized body with Content-Length", _is_post, (b"95000000", b"%d" % (FUNCTION_LIMIT + 1)), (413,),
           _oversized_with_length),
    Attack("oversized chunked body", _is_post, (b"%d" % (4 * FUNCTION_LIMIT), b"%d" % (64 * FUNCTION_LIMIT)),
           (413,), _oversized_chunked),
    Attack("gzip bomb", _is_post, (b"gzip", b"deflate"), (413,), _gzip_bomb),
    Attack("malformed chunked encoding", _is_post, (b"zz\r\n" + MARK + b"\r\n0\r\n\r\n",
                                                    b"3\r\n" + MARK + b"\r\n0\r\n\r\n",
                                                    b"-5\r\n" + MARK + b"\r\n0\r\n\r\n",
                                                    b"3;\xff" + MARK + b"\r\nabc\r\n0\r\n\r\n"), (400,),
           _broken_chunks),
    Attack("bad request line", lambda operation: True,
           (b"target=PATH/" + MARK + b" x", b"target=PATH\x00" + MARK, b"target=" + MARK + b"PATH",
            b"method=G\x01T" + MARK, b"version=HTTP/9.9" + MARK, b"version=HTTP/1.1 " + MARK), (400,),
           _request_line),
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedHost]:
    process = KeyedHost(ROOT, Path(tmp_path_factory.mktemp("hostile")), FUNCTION_KEY, ADMIN_KEY, env={
        "FUNCHOST_FUNCTION_MAX_BODY_BYTES": str(FUNCTION_LIMIT), "PLAYER_EVENTS_WAIT_S": "0.5",
        "AGENT_EVENTS_WAIT_S": "0.5"})
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def schema(host: KeyedHost) -> Any:
    return schemathesis.openapi.from_url(host.base + "/api/openapi.json")


@pytest.fixture(scope="module")
def victim(host: KeyedHost) -> dict[str, bytes]:
    """The victim player, with one recorded attempt, and what reads of the host's state answer now."""
    attempt = {"playerId": VICTIM, "success": True, "timeMs": 900, "attempts": 2, "shapeId": "Cmaj7-drop2"}
    assert host.request("POST", "/api/adaptive-ai/record-performance", attempt).status == 200
    return state(host)


def state(host: KeyedHost) -> dict[str, bytes]:
    """What an attack must not change: the victim's session and stats, the instances, the active tasks."""
    reads = {"session": f"/api/adaptive-ai/session/{VICTIM}", "stats": f"/api/adaptive-ai/player-stats/{VICTIM}",
             "tasks": "/api/agents/tasks/active"}
    found = {name: host.request("GET", path) for name, path in reads.items()}
    found["instances"] = host.admin("GET", f"{API}/instances")
    assert all(reply.status == 200 for reply in found.values()), {k: v.status for k, v in found.items()}
    return {name: reply.body for name, reply in found.items()}


def _aim_at_victim(case: Any) -> Any:
    """The case with its player (path and body) the victim and its task one that does not exist."""
    if "playerId" in (case.path_parameters or {}):
        case.path_parameters["playerId"] = VICTIM
    if "taskId" in (case.path_parameters or {}):
        case.path_parameters["taskId"] = NO_TASK
    if isinstance(case.body, dict) and "playerId" in case.body:
        case.body["playerId"] = VICTIM
    return case


def _targets(schema: Any, attack: Attack) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations() if attack.targets(result.ok())]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_hostile_requests_get_a_json_4xx_and_change_nothing(host: KeyedHost, schema: Any, victim: dict[str, bytes],
                                                          attack: Attack) -> None:
    operations = _targets(schema, attack)
    assert operations, f"no operation of the document takes {attack.name}"
    cases = st.sampled_from(operations).flatmap(
        lambda operation: operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE))
    sent: list[str] = []

    @HOSTILE_SETTINGS
    @given(case=cases.map(_aim_at_victim), variant=st.sampled_from(attack.variants))
    def run(case: Any, variant: bytes) -> None:
        valid = RawRequest.from_case(case, host.base).with_header(b"X-Fuzz-Mark", MARK)
        hostile, fragments = attack.rewrite(valid, case.body if isinstance(case.body, dict) else None, variant)
        response = send(hostile, host.port, nominal_request(case, host.base))
        checks: list[Check] = [not_a_server_error, rejected_with(attack.statuses, attack.name), error_body_is_json,
                               echoes_none_of((MARK, *fragments), attack.name)]
        case.validate_response(response, checks=checks)
        assert state(host) == victim, f"{attack.name} on {case.method} {case.formatted_path} changed the state"
        sent.append(f"{case.method} {case.path}")

    run()
    assert len(set(sent)) > 1 or len(operations) == 1, f"{attack.name} reached only {set(sent)}"


@dataclass(frozen=True)
class Named:
    """What the checks name in their messages for a request the document does not describe."""

    method: str
    formatted_path: str


_KEY = b"x-functions-key: " + MARK + b"\xff" + ADMIN_KEY.encode()
UNDOCUMENTED = {
    "0xFF in the key, management API": (b"GET", API.encode() + b"/instances", _KEY, (401,)),
    "0xFF in the key, management start": (b"POST", API.encode() + b"/orchestrators/entity_call", _KEY, (401,)),
    "0xFF in the key, metrics": (b"GET", b"/metrics", _KEY, (401,)),
    "0xFF in the key, admin": (b"GET", b"/admin/host/status", _KEY, (401,)),
    "top=² on the management API": (b"GET", API.encode() + b"/instances?top=%C2%B2&code=" + ADMIN_KEY.encode(),
                                    b"", (400,)),
    "top=1² on the management API": (b"GET", API.encode() + b"/instances?top=1%C2%B2&code=" + ADMIN_KEY.encode(),
                                     b"", (400,)),
}


@pytest.mark.parametrize("name", list(UNDOCUMENTED))
def test_hostile_requests_to_the_management_api_get_a_json_4xx(host: KeyedHost, victim: dict[str, bytes],
                                                               name: str) -> None:
    method, target, header, statuses = UNDOCUMENTED[name]
    body = b'{"entity": "' + MARK + b'"}' if method == b"POST" else b""
    headers = [(b"Host", b"127.0.0.1:%d" % host.port), (b"Content-Type", b"application/json")]
    if header:
        name_, _, value = header.partition(b": ")
        headers.append((name_, value))
    raw = RawRequest(method, target, tuple(headers), body)
    nominal = requests.Request(method.decode(), host.base + target.decode().partition("?")[0]).prepare()
    response = send(raw, host.port, nominal)
    named = Named(method.decode(), target.decode().partition("?")[0])
    for check in (rejected_with(statuses, name), echoes_none_of((MARK, ADMIN_KEY.encode()), name)):  # 4xx: no 5xx
        check(None, response, named)
    document = json.loads(response.content)
    # The management API's own 400s keep Azure's shape {Message, ExceptionType, ...} and add `error` (docs/funchost.md).
    assert isinstance(document.get("error"), str) and document["error"], document
    assert document.get("details") or document.get("Message"), document
    assert state(host) == victim, f"{name} changed the state"
