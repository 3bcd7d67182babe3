"""The monitor's server side over real HTTP: the CSRF guard on state-changing requests, the admin endpoints
it adds (`/admin/functions`, `/admin/store`) and how the page and its assets are served."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess

ADMIN_KEY = "csrf-test-admin-key"
KEYED = {"x-functions-key": ADMIN_KEY}
DURABLE = "/runtime/webhooks/durabletask"
TRUSTED = "https://ops.example"
CONFORMANCE = ROOT / "tests" / "conformance_app"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE, tmp_path_factory.mktemp("csrf"), env={"FUNCHOST_ADMIN_KEY": ADMIN_KEY},
                          args=["--cors", TRUSTED])
    process.start()
    yield process
    process.stop()


def waiting_instance(host: HostProcess) -> str:
    """A `wait_event` instance: it runs until an event or a terminate reaches it."""
    reply = host.request("POST", f"{DURABLE}/orchestrators/wait_event", headers=KEYED)
    assert reply.status == 202, reply.body
    return str(reply.json()["id"])


def status(host: HostProcess, instance_id: str) -> str:
    return str(host.request("GET", f"{DURABLE}/instances/{instance_id}", headers=KEYED).json()["runtimeStatus"])


def terminate(host: HostProcess, instance_id: str, headers: dict[str, str]) -> Any:
    return host.request("POST", f"{DURABLE}/instances/{instance_id}/terminate", headers={**KEYED, **headers})


@pytest.mark.parametrize("headers, reason", [
    ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site is 'cross-site'"),
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"}, "Sec-Fetch-Site is 'same-site'"),
    ({"Origin": "https://evil.example"}, "Origin 'https://evil.example' is not this host"),
    ({"Origin": "null"}, "Origin is 'null'"),
    ({"Sec-Fetch-Site": "same-origin"}, "needs the X-Funchost-Monitor header"),
])
def test_browser_requests_from_elsewhere_are_refused_and_change_nothing(host: HostProcess, headers: dict[str, str],
                                                                       reason: str) -> None:
    instance = waiting_instance(host)
    reply = terminate(host, instance, headers)
    assert reply.status == 403
    assert reply.json()["error"] == "cross-site request refused" and reason in reply.json()["details"]
    assert status(host, instance) in ("Pending", "Running")
    assert host.request("DELETE", f"{DURABLE}/entities/Counter/c1", headers={**KEYED, **headers}).status == 403
    assert host.request("POST", "/admin/functions/whatever", headers={**KEYED, **headers}).status == 403
    rpc = host.request("POST", f"/durabletask/instances/{instance}/terminate", headers=headers)  # loopback: no key
    assert rpc.status == 403 and status(host, instance) in ("Pending", "Running")


@pytest.mark.parametrize("headers", [
    {},  # curl, the durable SDK, the funchost CLI: not a browser
    {"Sec-Fetch-Site": "same-origin", "X-Funchost-Monitor": "1"},  # the monitor page
    {"Origin": TRUSTED, "Sec-Fetch-Site": "cross-site"},  # an origin the operator allowed with --cors
])
def test_clients_and_the_monitor_may_act(host: HostProcess, headers: dict[str, str]) -> None:
    instance = waiting_instance(host)
    same_origin = {"Origin": host.base} if "X-Funchost-Monitor" in headers else {}
    assert terminate(host, instance, {**headers, **same_origin}).status == 202
    deadline = time.monotonic() + 20
    while status(host, instance) != "Terminated":
        assert time.monotonic() < deadline, "the terminate did not take effect"
        time.sleep(0.02)


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_the_same_origin_under_another_host_name_may_act(host: HostProcess, name: str) -> None:
    instance = waiting_instance(host)
    origin = f"http://{name}:{host.port}"
    reply = terminate(host, instance, {"Host": f"{name}:{host.port}", "Origin": origin,
                                       "Sec-Fetch-Site": "same-origin", "X-Funchost-Monitor": "1"})
    assert reply.status == 202
    other = waiting_instance(host)  # the page's origin must be the name the request was sent to
    refused = terminate(host, other, {"Host": f"{name}:{host.port}", "Origin": f"http://elsewhere:{host.port}",
                                      "Sec-Fetch-Site": "same-origin", "X-Funchost-Monitor": "1"})
    assert refused.status == 403 and origin in refused.json()["details"]


def test_reads_are_not_guarded(host: HostProcess) -> None:
    reply = host.request("GET", f"{DURABLE}/instances", headers={**KEYED, "Sec-Fetch-Site": "cross-site"})
    assert reply.status == 200


def test_admin_functions_lists_every_function_and_needs_the_admin_key(host: HostProcess) -> None:
    assert host.request("GET", "/admin/functions").status == 401
    functions = host.request("GET", "/admin/functions", headers=KEYED).json()["functions"]
    by_name = {f["name"]: f for f in functions}
    assert by_name["hello"]["trigger"] == "httpTrigger" and by_name["hello"]["route"]
    assert by_name["sequence"] == {"name": "sequence", "trigger": "orchestrationTrigger"}
    assert by_name["say_hello"]["trigger"] == "activityTrigger"
    assert by_name["Counter"]["trigger"] == "entityTrigger"
    assert [f["name"].lower() for f in functions] == sorted(f["name"].lower() for f in functions)


def test_admin_store_reports_the_size_of_the_files_on_disk(host: HostProcess) -> None:
    assert host.request("GET", "/admin/store").status == 401
    sizes = host.request("GET", "/admin/store", headers=KEYED).json()
    database = host.data_dir / "durable.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    assert sizes["databaseBytes"] == database.stat().st_size and sizes["databaseBytes"] >= 4096
    assert sizes["totalBytes"] == sizes["databaseBytes"] + sizes["walBytes"] + sizes["shmBytes"]
    assert sizes["totalBytes"] >= pages > 0


def test_the_start_up_output_links_the_monitor(host: HostProcess) -> None:
    lines = host.log_path.read_text().splitlines()
    started = next(i for i, line in enumerate(lines) if line.startswith("Host started on"))
    assert lines[started + 1] == f"Monitor: http://127.0.0.1:{host.port}/_funchost/"


def test_the_page_is_served_with_a_strict_content_security_policy(host: HostProcess) -> None:
    page = host.request("GET", "/_funchost/")
    assert page.status == 200 and b'<script type="module" src="/_funchost/static/app.js">' in page.body
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = host.request("GET", "/_funchost/static/app.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert host.request("GET", "/_funchost").status == 200  # redirected to the page
    for name in ("nope.js", "..%2Froutes.py", ".hidden.js", "monitor.py"):
        missing = host.request("GET", f"/_funchost/static/{name}")
        assert missing.status == 404 and missing.json()["error"] == "not found", name
