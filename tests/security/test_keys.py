"""Function and admin keys: who may call what once FUNCHOST_FUNCTION_KEYS and FUNCHOST_ADMIN_KEY are set.

The conformance app has ANONYMOUS routes plus a FUNCTION-level, an ADMIN-level and a FUNCTION-level
route with an optional parameter (`secure/items/{item?}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import CONFORMANCE_APP
from tests.hostproc import Reply
from tests.security.keyed import KeyedHost

FUNCTION_KEYS, ADMIN_KEY = "k1,k2", "adm"
API = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def keyed_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedHost]:
    host = KeyedHost(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("keyed")), FUNCTION_KEYS, ADMIN_KEY)
    host.start()
    yield host
    host.stop()


def assert_unauthorized(reply: Reply) -> None:
    assert reply.status == 401, (reply.status, reply.body[:200])
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert set(body) == {"error", "details"} and body["error"] == "unauthorized"


def key(value: str) -> dict[str, str]:
    return {"x-functions-key": value}


def test_function_route_needs_a_function_key_or_the_admin_key(keyed_host: KeyedHost) -> None:
    path = "/api/secure/function"
    for headers, query in (({}, ""), (key("k3"), ""), (key(""), ""), ({}, "?code="), ({}, "?code=K1"),
                           ({}, "?code=k1x")):
        assert_unauthorized(keyed_host.request("GET", path + query, headers=headers))
    for headers, query in ((key("k1"), ""), (key("k2"), ""), ({}, "?code=k1"), (key("adm"), ""), ({}, "?code=adm")):
        reply = keyed_host.request("GET", path + query, headers=headers)
        assert reply.status == 200 and reply.json()["level"] == "function", (headers, query, reply.status)
    assert keyed_host.request("POST", path, raw=b"abc", headers=key("k2")).json()["bytes"] == 3


def test_admin_route_needs_the_admin_key(keyed_host: KeyedHost) -> None:
    for headers, query in (({}, ""), (key("k1"), ""), ({}, "?code=k2")):
        assert_unauthorized(keyed_host.request("GET", "/api/secure/admin" + query, headers=headers))
    assert keyed_host.request("GET", "/api/secure/admin", headers=key("adm")).json() == {"level": "admin"}
    assert keyed_host.request("GET", "/api/secure/admin?code=adm", headers={}).status == 200


def test_anonymous_routes_stay_open(keyed_host: KeyedHost) -> None:
    assert keyed_host.request("GET", "/api/hello?name=ana", headers={}).body == b"hello ana"
    started = keyed_host.request("POST", "/api/orchestrators/sequence", ["Oslo"], headers={})
    assert started.status == 202
    status = keyed_host.admin("GET", f"{API}/instances/{started.json()['id']}")
    assert status.status in (200, 202)


@pytest.mark.parametrize("path", [f"{API}/instances", f"{API}/entities", "/metrics", "/admin/host/status"])
def test_management_api_and_metrics_need_the_admin_key(keyed_host: KeyedHost, path: str) -> None:
    for headers, query in (({}, ""), (key("k1"), ""), ({}, "?code=k2"), (key("wrong"), "")):
        assert_unauthorized(keyed_host.request("GET", path + query, headers=headers))
    assert keyed_host.request("GET", path, headers=key("adm")).status == 200
    assert keyed_host.request("GET", path + ("&" if "?" in path else "?") + "code=adm", headers={}).status == 200


def test_management_writes_without_the_admin_key_change_nothing(keyed_host: KeyedHost) -> None:
    assert_unauthorized(keyed_host.request("POST", f"{API}/orchestrators/sequence/unauthorized-start", ["x"],
                                           headers=key("k1")))
    assert_unauthorized(keyed_host.request("POST", f"{API}/entities/Counter/locked?op=add", 5, headers={}))
    assert keyed_host.admin("GET", f"{API}/instances/unauthorized-start").status == 404
    assert keyed_host.admin("GET", f"{API}/entities/Counter/locked").status == 404


def test_the_client_rpc_prefix_serves_loopback_callers_without_a_key(keyed_host: KeyedHost) -> None:
    # The SDK's durable client calls /durabletask/ without a key; only loopback callers get there
    # (tests/security/test_exposure.py checks that a remote caller is refused).
    assert keyed_host.request("GET", "/durabletask/instances", headers={}).status == 200


def test_function_route_with_an_optional_parameter_needs_a_key_without_it(keyed_host: KeyedHost) -> None:
    assert_unauthorized(keyed_host.request("GET", "/api/secure/items/x", headers={}))
    assert keyed_host.request("GET", "/api/secure/items/x", headers=key("k1")).json() == {"item": "x"}
    assert_unauthorized(keyed_host.request("GET", "/api/secure/items", headers={}))


def test_check_status_links_do_not_hand_out_the_admin_key(keyed_host: KeyedHost) -> None:
    # A caller with a function key receives links carrying the durable system key (an anonymous caller
    # receives none: tests/security/test_durable_links.py).
    started = keyed_host.request("POST", "/api/orchestrators/sequence", ["Lima"], headers=key("k1"))
    assert started.status == 202
    links = started.json()
    code = parse_qs(urlsplit(links["statusQueryGetUri"]).query).get("code", [""])[0]
    assert code and code not in ("k1", "k2", "adm")
    status_path = urlsplit(links["statusQueryGetUri"]).path
    assert keyed_host.request("GET", status_path, headers=key(code)).status in (200, 202)  # the link works
    assert_unauthorized(keyed_host.request("GET", "/metrics", headers=key(code)))
    assert_unauthorized(keyed_host.request("GET", "/api/secure/admin", headers=key(code)))
