"""Durable management links: the system key reaches only callers who presented a key, and survives restarts.

Issue 11 finding: with keys configured, anonymous callers of the app's agent routes received the durable
system key inside `statusQueryGetUri` and the other management links (it opens the whole management
API), and the key changed at every start. Runs the real app on a real host with keys over loopback HTTP.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.hostproc import ROOT, Reply
from tests.security.keyed import KeyedHost

FUNCTION_KEY, ADMIN_KEY = "fk-links", "adm-links"
SPICE_UP = "/api/agents/tasks/spice-up"
BODY = {"progression": ["Dm7", "G7", "Cmaj7"], "style": "jazz", "budgetMs": 300}
LINK_NAMES = ("statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri",
              "restartPostUri", "suspendPostUri", "resumePostUri")
KEY_FILE = "durable-system-key"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("links"))


@pytest.fixture(scope="module")
def app(data_dir: Path) -> Iterator[KeyedHost]:
    host = KeyedHost(Path(os.environ.get("APP_SCRIPT_ROOT", str(ROOT))), data_dir, FUNCTION_KEY, ADMIN_KEY)
    host.start()
    yield host
    host.stop()


def start(host: KeyedHost, headers: dict[str, str]) -> dict[str, Any]:
    reply = host.request("POST", SPICE_UP, BODY, headers=headers)
    assert reply.status == 202, (reply.status, reply.body[:300])
    body: dict[str, Any] = reply.json()
    return body


def codes(links: dict[str, Any]) -> set[str]:
    return {code for name in LINK_NAMES for code in parse_qs(urlsplit(links[name]).query).get("code", [])}


def system_key(data_dir: Path) -> str:
    return (data_dir / KEY_FILE).read_text().strip()


def no_key_in(reply: Reply, key: str) -> None:
    assert key.encode() not in reply.body
    assert all(key not in value for value in reply.headers.values())


def test_an_anonymous_caller_gets_links_without_any_key(app: KeyedHost, data_dir: Path) -> None:
    reply = app.request("POST", SPICE_UP, BODY, headers={})
    assert reply.status == 202, reply.body[:300]
    links = reply.json()
    assert codes(links) == set()
    no_key_in(reply, system_key(data_dir))
    no_key_in(reply, ADMIN_KEY)
    # The app's own status URL stays and works without a key; the management link needs one.
    assert app.request("GET", urlsplit(links["statusUrl"]).path, headers={}).status == 200
    assert app.request("GET", urlsplit(links["statusQueryGetUri"]).path, headers={}).status == 401
    status = app.request("GET", urlsplit(links["statusUrl"]).path, headers={})
    no_key_in(status, system_key(data_dir))


@pytest.mark.parametrize("presented", [{"x-functions-key": FUNCTION_KEY}, {"x-functions-key": ADMIN_KEY}])
def test_a_caller_with_a_key_gets_working_links_with_the_system_key(app: KeyedHost, data_dir: Path,
                                                                    presented: dict[str, str]) -> None:
    links = start(app, presented)
    assert codes(links) == {system_key(data_dir)}
    status = urlsplit(links["statusQueryGetUri"])
    assert app.request("GET", f"{status.path}?{status.query}", headers={}).status in (200, 202)
    # The system key opens the management API only.
    assert app.request("GET", "/metrics", headers={"x-functions-key": system_key(data_dir)}).status == 401


def test_a_wrong_key_counts_as_anonymous(app: KeyedHost) -> None:
    reply = app.request("POST", SPICE_UP, BODY, headers={"x-functions-key": "not-a-key"})
    assert reply.status == 202 and codes(reply.json()) == set()


def test_the_system_key_is_kept_owner_only_and_links_survive_a_restart(app: KeyedHost, data_dir: Path) -> None:
    links = start(app, {"x-functions-key": FUNCTION_KEY})
    key_file = data_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    app.stop()
    app.start()
    status = urlsplit(links["statusQueryGetUri"])
    assert app.request("GET", f"{status.path}?{status.query}", headers={}).status in (200, 202)
    assert codes(start(app, {"x-functions-key": FUNCTION_KEY})) == codes(links)
    assert system_key(data_dir) not in app.log_path.read_text()
