"""What the host exposes: loopback bind by default, a loopback-only RPC prefix, a request body limit."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from unittest import mock

import psutil
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from funchost.auth import make_auth_middleware
from tests.conftest import CONFORMANCE_APP
from tests.hostproc import HostProcess

API = "/runtime/webhooks/durabletask"
MAX_BODY = 2048


def test_host_listens_on_loopback_only_by_default(conformance_host: HostProcess) -> None:
    assert conformance_host.proc is not None
    listening = [c for c in psutil.Process(conformance_host.proc.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening, "the host has no listening socket"
    assert {c.laddr.port for c in listening} == {conformance_host.port}
    assert all(ipaddress.ip_address(c.laddr.ip).is_loopback for c in listening), listening


def _from(remote: str, path: str, headers: dict[str, str] | None = None) -> web.Request:
    """A request as aiohttp builds it for a TCP peer at `remote` (this sandbox has no other interface)."""
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (remote, 50000) if name == "peername" else default
    return make_mocked_request("GET", path, headers=headers or {}, transport=transport)


Serve = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _auth(function_keys: list[str], admin_key: str | None) -> tuple[Serve, list[str]]:
    """The host's auth middleware in front of a handler that records the paths that reach it."""
    middleware = make_auth_middleware(function_keys, admin_key, None, {})
    reached: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        reached.append(request.path)
        return web.json_response([])

    async def serve(request: web.Request) -> web.StreamResponse:
        return await middleware(request, handler)

    return serve, reached


@pytest.mark.parametrize("keys", [([], None), (["k1"], "adm")], ids=["no keys", "keys"])
@pytest.mark.parametrize("remote", ["203.0.113.9", "10.1.2.3", "192.168.0.7", "2001:db8::5", "::ffff:203.0.113.9"])
async def test_the_rpc_prefix_refuses_remote_callers(remote: str, keys: tuple[list[str], str | None]) -> None:
    serve, reached = _auth(*keys)
    for headers in ({}, {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"}, {"x-functions-key": "adm"}):
        response = await serve(_from(remote, "/durabletask/instances", headers))
        assert isinstance(response, web.Response) and response.status == 403
        assert json.loads(response.text or "")["error"] == "forbidden"
    assert reached == []


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.8.9.10", "::1"])
async def test_the_rpc_prefix_serves_loopback_callers(remote: str) -> None:
    serve, reached = _auth(["k1"], "adm")
    assert (await serve(_from(remote, "/durabletask/instances"))).status == 200
    assert reached == ["/durabletask/instances"]


async def test_the_rpc_prefix_refuses_ipv6_peers_that_only_look_like_loopback() -> None:
    assert not ipaddress.ip_address("::1:2:3:4").is_loopback
    serve, reached = _auth([], None)
    assert (await serve(_from("::1:2:3:4", "/durabletask/instances"))).status == 403
    assert reached == []


@pytest.fixture(scope="module")
def small_body_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    host = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("small-body")),
                       env={"FUNCHOST_MAX_BODY_BYTES": str(MAX_BODY)})
    host.start()
    yield host
    host.stop()


def padded(value: object, size: int) -> bytes:
    text = json.dumps(value).encode()
    return text + b" " * (size - len(text))


def test_bodies_over_the_limit_get_413_and_change_nothing(small_body_host: HostProcess) -> None:
    host = small_body_host
    too_big = MAX_BODY + 1
    assert host.request("POST", "/api/orchestrators/sequence", raw=padded(["x"], too_big)).status == 413
    assert host.request("POST", "/api/secure/function", raw=b"a" * too_big).status == 413
    assert host.request("POST", f"{API}/entities/Counter/limit?op=add", raw=padded(7, too_big)).status == 413
    assert host.request("POST", f"{API}/orchestrators/sequence/too-big", raw=padded(["x"], too_big)).status == 413
    assert host.request("GET", f"{API}/entities/Counter/limit").status == 404
    assert host.request("GET", f"{API}/instances/too-big").status == 404
    # At the limit everything works, on the same host.
    assert host.request("POST", f"{API}/entities/Counter/limit?op=add", raw=padded(7, MAX_BODY)).status == 202
    started = host.request("POST", f"{API}/orchestrators/sequence/at-limit", raw=padded(["y"], MAX_BODY))
    assert started.status == 202
    assert host.wait_status("at-limit")["output"] == ["Hello y!"]
    assert host.request("GET", f"{API}/entities/Counter/limit").json() == 7


def test_the_413_answer_is_json(small_body_host: HostProcess) -> None:
    reply = small_body_host.request("POST", "/api/orchestrators/sequence", raw=padded(["x"], MAX_BODY + 1))
    assert reply.status == 413
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.json()) == {"error", "details"}
