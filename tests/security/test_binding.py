"""Binding and origins (issue 11, item 6): self-calls to the bound address, no keyless network bind unless
asked for, a `Host` allowlist against DNS rebinding, no cross-site writes beyond the CORS policy, and
`/metrics` and `/admin/*` closed whenever any key is configured. Real hosts over real sockets."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import CONFORMANCE_APP
from tests.hostproc import ROOT, HostProcess, free_port
from tests.security.keyed import KeyedHost


def _network_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name == "AF_INET" and not ipaddress.ip_address(address.address).is_loopback:
                return str(address.address)
    return None


class BoundHost(KeyedHost):
    """A keyed host bound to one address, reached there (not on 127.0.0.1)."""

    def __init__(self, address: str, data_dir: Path) -> None:
        super().__init__(CONFORMANCE_APP, data_dir, "fk-bind", "adm-bind", args=["--host", address])
        self.address = address

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"


ADDRESSES = ["127.0.0.2", pytest.param(_network_address(), marks=pytest.mark.skipif(
    _network_address() is None, reason="this machine has no non-loopback IPv4 address"), id="network address")]


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_host_bound_to_one_address_calls_itself_there(address: str, tmp_path: Path) -> None:
    host = BoundHost(address, tmp_path / "data")
    host.start()
    try:
        started = host.request("POST", "/api/orchestrators/sequence", body=["bound"],
                               headers={"x-functions-key": "fk-bind"})
        assert started.status == 202, started.body[:300]
        instance = started.json()["id"]
        status = host.request("GET", f"/runtime/webhooks/durabletask/instances/{instance}",
                              headers={"x-functions-key": "adm-bind"})
        assert status.status in (200, 202) and status.json()["name"] == "sequence"
    finally:
        host.stop()


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "funchost", "start", "--script-root", str(CONFORMANCE_APP),
                             "--port", str(free_port()), "--data", str(tmp_path / "data"), *args], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def test_a_network_bind_without_keys_refuses_to_start(tmp_path: Path) -> None:
    proc = _start(["--host", "0.0.0.0"], tmp_path)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output
    lines = output.decode().strip().splitlines()
    assert len(lines) == 1 and "--allow-unauthenticated" in lines[0] and "no key is configured" in lines[0], output


def test_allow_unauthenticated_starts_and_warns_loudly(tmp_path: Path) -> None:
    host = HostProcess(CONFORMANCE_APP, tmp_path / "data", args=["--host", "0.0.0.0", "--allow-unauthenticated"])
    host.start()
    try:
        assert host.request("GET", "/api/hello").status == 200
    finally:
        host.stop()
    assert "WARNING" in host.log_path.read_text() and "WITHOUT ANY KEY" in host.log_path.read_text()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("origins")),
                          args=["--allowed-hosts", "app.example.test", "--cors", "https://ui.example.test"])
    process.start()
    yield process
    process.stop()


@pytest.mark.parametrize("path", ["/api/hello", "/runtime/webhooks/durabletask/instances", "/metrics"])
def test_a_rebinding_host_name_is_refused(host: HostProcess, path: str) -> None:
    reply = host.request("GET", path, headers={"Host": f"attacker.example:{host.port}"})
    assert reply.status == 400, reply.body[:300]
    assert reply.json()["error"] == "Host not allowed" and "--allowed-hosts" in reply.json()["details"]


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]", "ui.localhost", "192.0.2.7", "app.example.test"])
def test_loopback_names_addresses_and_allowed_hosts_are_served(host: HostProcess, name: str) -> None:
    assert host.request("GET", "/api/hello", headers={"Host": f"{name}:{host.port}"}).status == 200


def test_a_cross_site_text_plain_post_changes_nothing(host: HostProcess) -> None:
    api = "/runtime/webhooks/durabletask/entities/Counter/csrf"
    forged = host.request("POST", f"{api}?op=add", raw=b"5",
                          headers={"Origin": "https://attacker.example", "Content-Type": "text/plain"})
    assert forged.status == 403 and forged.json()["error"] == "cross-site request refused"
    started = host.request("POST", "/api/orchestrators/sequence", raw=b'["x"]',
                           headers={"Origin": "https://attacker.example", "Content-Type": "text/plain"})
    assert started.status == 403
    assert host.request("GET", api).status == 404  # the entity was never created


@pytest.mark.parametrize("origin", ["https://ui.example.test", "same origin"])
def test_writes_from_the_same_origin_or_a_cors_origin_pass(host: HostProcess, origin: str) -> None:
    value = host.base if origin == "same origin" else origin
    reply = host.request("POST", "/api/orchestrators/sequence", raw=b'["x"]', headers={"Origin": value})
    assert reply.status == 202, reply.body[:300]


@pytest.fixture(scope="module")
def function_keys_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("fkeys")),
                          env={"FUNCHOST_FUNCTION_KEYS": "only-fk"})
    process.start()
    yield process
    process.stop()


@pytest.mark.parametrize("path", ["/metrics", "/admin/host/status"])
def test_function_keys_alone_do_not_leave_metrics_and_admin_open(function_keys_only: HostProcess,
                                                                 path: str) -> None:
    for headers in (None, {"x-functions-key": "only-fk"}):
        reply = function_keys_only.request("GET", path, headers=headers)
        details = reply.json()["details"]
        assert reply.status == 401 and any("FUNCHOST_ADMIN_KEY" in d["message"] for d in details), reply.body[:300]
