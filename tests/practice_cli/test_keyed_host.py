"""The client against the app as an older keyed deployment (tests/practice_cli/keyed_app): function keys
required, and no task events route, so progress comes from the status route without being asked to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostproc import HostProcess
from tests.practice_cli.terminal import diagrams, practice

KEYED_APP = Path(__file__).parent / "keyed_app"
FUNCTION_KEY = "fk-practice-cli-test"
ADMIN_KEY = "ak-practice-cli-test"


@pytest.fixture(scope="module")
def keyed_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    host = HostProcess(KEYED_APP, tmp_path_factory.mktemp("keyed"),
                       env={"FUNCHOST_FUNCTION_KEYS": FUNCTION_KEY, "FUNCHOST_ADMIN_KEY": ADMIN_KEY})
    host.start()
    yield host
    host.stop()


def test_without_a_key_the_hosts_refusal_is_one_line(keyed_host: HostProcess) -> None:
    run = practice(keyed_host.base, "stats", "ana")
    assert run.code == 1 and run.out == ""
    assert run.err.startswith("practice: error: 401: ") and "x-functions-key" in run.err
    assert len(run.err.splitlines()) == 1


def test_a_task_is_watched_through_the_status_route_when_there_is_no_stream(keyed_host: HostProcess) -> None:
    headers = {"x-functions-key": FUNCTION_KEY}
    assert keyed_host.request("GET", "/api/agents/tasks/any/events", headers=headers).status == 404  # no route
    run = practice(keyed_host.base, "spice-up", "Dm7 G7 | Cmaj7 | A7", "--style", "gospel", "--budget-ms", "400",
                   extra_env={"PRACTICE_KEY": FUNCTION_KEY})
    assert run.code == 0, run.err
    match = re.search(r"spice-up task ([0-9a-f]{32}) accepted", run.out)
    assert match, run.out
    task_id = match.group(1)
    assert re.search(rf"spice-up {task_id[:8]} ━+ 100% done", run.out), run.out
    view = keyed_host.request("GET", f"/api/agents/tasks/{task_id}/status", headers=headers).json()
    assert view["state"] == "Completed"
    assert diagrams(run.out) == [(v["chord"], v["frets"]) for v in view["result"]["voicings"]]
    assert FUNCTION_KEY not in run.out + run.err


def test_the_key_option_is_sent_and_never_printed(keyed_host: HostProcess) -> None:
    recorded = practice(keyed_host.base, "--key", FUNCTION_KEY, "record", "kim", "Em7", "--success",
                        "--time-ms", "1200")
    assert recorded.code == 0, recorded.err
    shown = practice(keyed_host.base, "--key", FUNCTION_KEY, "stats", "kim")
    assert shown.code == 0 and re.search(r"Em7\s+1\s+1\s", shown.out), shown.out
    wrong = practice(keyed_host.base, "--key", "not-the-key", "stats", "kim")
    assert wrong.code == 1 and "401" in wrong.err and "not-the-key" not in wrong.err
    assert FUNCTION_KEY not in recorded.out + recorded.err + shown.out + shown.err
