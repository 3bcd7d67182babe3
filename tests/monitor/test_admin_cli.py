"""`funchost instances|entities|watch` as a user runs them: subprocesses against a real host with the app.

The host has an admin key (the commands get it from `--key` or `$FUNCHOST_ADMIN_KEY`); `watch` runs
on a pseudo-terminal, so what is captured is what a terminal shows.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess
from tests.monitor.conftest import NOTES_APP, llm_env, start_held_task

ADMIN_KEY = "cli-test-admin-key"
KEYED = {"x-functions-key": ADMIN_KEY}
DURABLE = "/runtime/webhooks/durabletask"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, fake_llm: Any) -> Iterator[HostProcess]:
    process = HostProcess(ROOT, tmp_path_factory.mktemp("cli-app"),
                          env={"FUNCHOST_ADMIN_KEY": ADMIN_KEY, **llm_env(fake_llm)})
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """tests/monitor/notes_app (no keys): its entity and custom status hold whatever a test gives them."""
    process = HostProcess(NOTES_APP, tmp_path_factory.mktemp("cli-notes"))
    process.start()
    yield process
    process.stop()


def env(key: str | None = ADMIN_KEY) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FUNCHOST_ADMIN_KEY", "FUNCHOST_URL")}
    base.update({"PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    if key:
        base["FUNCHOST_ADMIN_KEY"] = key
    return base


def run(host: HostProcess, *args: str, key: str | None = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "funchost", *args, "--url", host.base], env=env(key), cwd=ROOT,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def run_json(host: HostProcess, *args: str) -> Any:
    done = run(host, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_on_terminal(host: HostProcess, *args: str) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdout and stderr; its exit code and everything it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "funchost", *args, "--url", host.base], env=env(), cwd=ROOT,
                            stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(60), b"".join(chunks).decode("utf-8", "replace")


def start_task(host: HostProcess, progression: str = "Dm7 G7 Cmaj7 A7", budget_ms: int = 200) -> str:
    reply = host.request("POST", "/api/agents/tasks/spice-up", {"progression": progression, "budgetMs": budget_ms})
    assert reply.status == 202, reply.body
    return str(reply.json()["taskId"])


def api_status(host: HostProcess, instance_id: str, history: bool = False) -> dict[str, Any]:
    query = "?showHistory=true&showHistoryOutput=true" if history else ""
    reply = host.request("GET", f"{DURABLE}/instances/{instance_id}{query}", headers=KEYED)
    assert reply.status in (200, 202), reply.body
    return dict(reply.json())


def wait_status(host: HostProcess, instance_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = api_status(host, instance_id)
        if status["runtimeStatus"] in statuses:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} did not reach {statuses}")


def test_watch_draws_the_progress_bar_to_100_percent_and_prints_the_end(host: HostProcess) -> None:
    task = start_task(host, "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6", 1500)
    code, screen = run_on_terminal(host, "watch", task, "--interval", "0.05")
    plain = ANSI.sub("", screen)
    assert code == 0, plain
    assert "\x1b[" in screen  # a live display: the terminal got cursor and colour codes
    assert re.search(r"━{10,}\s*100%\s+Completed completed: done", plain), plain[-2000:]
    percents = [int(p) for p in re.findall(r"(\d+)%\s+\w+ \w", plain)]
    assert percents[-1] == 100 and percents == sorted(percents)  # the bar only moves forward
    assert f"{task} Completed" in plain
    assert api_status(host, task)["runtimeStatus"] == "Completed"


def test_watch_exits_4_when_the_instance_does_not_complete(host: HostProcess) -> None:
    task = start_held_task(host, KEYED)
    assert host.request("POST", f"{DURABLE}/instances/{task}/terminate?reason=test", headers=KEYED).status == 202
    done = run(host, "watch", task)
    assert done.returncode == 4, done.stderr
    assert f"{task} Terminated" in done.stdout


def test_instances_list_and_show_as_tables_and_json(host: HostProcess) -> None:
    task = start_task(host)
    wait_status(host, task, ("Completed",))
    table = run(host, "instances", "list", "--status", "Completed")
    assert table.returncode == 0, table.stderr
    line = next(row for row in table.stdout.splitlines() if task in row)
    assert "agent_spice_up" in line and "Completed" in line and "100 %" in line and "completed: done" in line
    listed = run_json(host, "instances", "list", "--status", "Completed", "--top", "100")
    assert task in {item["instanceId"] for item in listed["instances"]}
    assert {item["runtimeStatus"] for item in listed["instances"]} == {"Completed"}
    shown = run_json(host, "instances", "show", task)
    assert shown == api_status(host, task)
    show = run(host, "instances", "show", task)
    assert show.returncode == 0 and "Custom status" in show.stdout and '"title":' in show.stdout


def test_instances_list_pages_with_the_continuation_token(host: HostProcess) -> None:
    for _ in range(3):
        start_task(host)
    first = run_json(host, "instances", "list", "--top", "2")
    assert len(first["instances"]) == 2 and first["continuationToken"]
    second = run_json(host, "instances", "list", "--top", "2", "--token", first["continuationToken"])
    assert not {i["instanceId"] for i in first["instances"]} & {i["instanceId"] for i in second["instances"]}
    everything = run_json(host, "instances", "list", "--top", "2", "--all")
    assert everything["continuationToken"] is None
    api = host.request("GET", f"{DURABLE}/instances?top=1000", headers=KEYED).json()
    assert {i["instanceId"] for i in everything["instances"]} == {i["instanceId"] for i in api}


def test_history_shows_each_activity_with_its_duration(host: HostProcess) -> None:
    task = start_task(host)
    wait_status(host, task, ("Completed",))
    events = run_json(host, "instances", "history", task)
    assert events == api_status(host, task, history=True)["historyEvents"]
    table = run(host, "instances", "history", task)
    completed = [row for row in table.stdout.splitlines() if "TaskCompleted" in row]
    assert len(completed) == sum(e["EventType"] == "TaskCompleted" for e in events)
    assert all(re.search(r"\d+ ms", row) for row in completed)
    assert any("agent_assemble" in row for row in completed)


def test_suspend_resume_terminate_and_purge_act_on_the_instance(host: HostProcess) -> None:
    task = start_held_task(host, KEYED)
    assert run(host, "instances", "suspend", task, "--reason", "cli").returncode == 0
    wait_status(host, task, ("Suspended",))
    assert run(host, "instances", "resume", task).returncode == 0
    wait_status(host, task, ("Running",))
    refused = run(host, "instances", "terminate", task)  # no terminal to confirm on: nothing happens
    assert refused.returncode == 1 and "Aborted" in refused.stderr
    assert api_status(host, task)["runtimeStatus"] == "Running"
    done = run_json(host, "instances", "terminate", task, "--reason", "from the cli", "--yes")
    assert done == {"instanceId": task, "operation": "terminate", "status": 202}
    wait_status(host, task, ("Terminated",))
    restarted = run_json(host, "instances", "restart", task)
    assert restarted["id"] != task and api_status(host, restarted["id"])["name"] == "agent_spice_up"
    assert run(host, "instances", "terminate", restarted["id"], "--yes").returncode == 0
    assert run_json(host, "instances", "purge", task, "--yes") == {"instancesDeleted": 1}
    assert host.request("GET", f"{DURABLE}/instances/{task}", headers=KEYED).status == 404


def test_raise_sends_an_event_and_rejects_bad_json(host: HostProcess) -> None:
    task = start_held_task(host, KEYED)
    bad = run(host, "instances", "raise", task, "Poke", "{not json")
    assert bad.returncode == 2 and "DATA must be JSON" in bad.stderr
    sent = run_json(host, "instances", "raise", task, "Poke", '{"n": 1}')
    assert sent == {"instanceId": task, "event": "Poke", "status": 202}
    deadline = time.monotonic() + 30
    while not any(e["EventType"] == "EventRaised" and e["Name"] == "Poke"
                  for e in api_status(host, task, history=True)["historyEvents"]):
        assert time.monotonic() < deadline, "the event did not reach the instance's history"
        time.sleep(0.05)
    assert run(host, "instances", "terminate", task, "--yes").returncode == 0


def test_entities_list_show_signal_and_delete(host: HostProcess) -> None:
    attempt = {"success": True, "timeMs": 800, "attempts": 1, "shapeId": "G7", "now": int(time.time() * 1000)}
    signalled = run(host, "entities", "signal", "PlayerSession", "cli-player", "record_attempt", json.dumps(attempt))
    assert signalled.returncode == 0, signalled.stderr
    deadline = time.monotonic() + 30
    while host.request("GET", f"{DURABLE}/entities/PlayerSession/cli-player", headers=KEYED).status != 200:
        assert time.monotonic() < deadline, "the signal was not processed"
        time.sleep(0.05)
    shown = run_json(host, "entities", "show", "PlayerSession", "cli-player")
    assert shown["state"]["playerId"] == "cli-player" and shown["state"]["tracker"]["attempts"] == 1
    listed = run_json(host, "entities", "list", "--name", "PlayerSession")
    assert {"name": "playersession", "key": "cli-player"} in [e["entityId"] for e in listed["entities"]]
    table = run(host, "entities", "list", "--state")
    assert any("cli-player" in row and '"playerId": "cli-player"' in row for row in table.stdout.splitlines())
    assert run(host, "entities", "delete", "PlayerSession", "cli-player", "--yes").returncode == 0
    deadline = time.monotonic() + 30
    while run(host, "entities", "show", "PlayerSession", "cli-player").returncode != 1:
        assert time.monotonic() < deadline, "the entity was not deleted"


def test_errors_have_one_line_and_distinct_exit_codes(host: HostProcess) -> None:
    missing = run(host, "instances", "show", "no-such-instance")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        f"funchost: error: GET {DURABLE}/instances/no-such-instance answered 404: "
        "no orchestration instance with id 'no-such-instance'"]
    no_key = run(host, "instances", "list", key=None)
    assert no_key.returncode == 1 and "401" in no_key.stderr and "admin" in no_key.stderr
    wrong_key = run(host, "entities", "list", "--key", "wrong")
    assert wrong_key.returncode == 1 and ADMIN_KEY not in wrong_key.stderr + wrong_key.stdout
    bad_status = run(host, "instances", "list", "--status", "Sleeping")
    assert bad_status.returncode == 1 and "unknown runtimeStatus 'Sleeping'" in bad_status.stderr
    unreachable = subprocess.run([sys.executable, "-m", "funchost", "instances", "list", "--url",
                                  "http://127.0.0.1:9"], env=env(), capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 3 and "cannot reach the host at http://127.0.0.1:9" in unreachable.stderr
    usage = run(host, "instances", "list", "--top", "0")
    assert usage.returncode == 2 and "--top" in usage.stderr
    for done in (missing, no_key, bad_status, unreachable, usage):
        assert "Traceback" not in done.stderr


def test_store_values_reach_the_terminal_as_plain_text(notes: HostProcess) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J[bold red]markup[/] \x9b31m"
    instance = notes.request("POST", f"{DURABLE}/orchestrators/status_from_input", json.dumps(hostile)).json()["id"]
    deadline = time.monotonic() + 30
    while (notes.request("GET", f"{DURABLE}/instances/{instance}").json().get("customStatus") or {}).get(
            "stage") != hostile:
        assert time.monotonic() < deadline, "the custom status was not set"
        time.sleep(0.05)
    listed = run(notes, "instances", "list", key=None)  # piped: rich adds no escape codes of its own
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if instance in line)
    assert "50 %" in row and "\\x1b]0;owned\\x07\\x1b[2J[bold red]markup[/]" in row  # shown, escaped, unstyled
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout and "\x9b" not in listed.stdout
    shown = run(notes, "instances", "show", instance, key=None)
    assert shown.returncode == 0 and "\x1b" not in shown.stdout and "[bold red]markup[/]" in shown.stdout
    assert run_json(notes, "instances", "show", instance)["customStatus"]["stage"] == hostile  # --json: exact
    assert notes.request("POST", f"{DURABLE}/instances/{instance}/raiseEvent/done", "ok").status == 202
    watched = run(notes, "watch", instance, key=None)
    assert watched.returncode == 0 and f"{instance} Completed" in watched.stdout and "\x1b" not in watched.stdout
    assert "[bold red]markup[/]" in watched.stdout  # the bar's label is the stage as text, not as markup


def test_instances_list_filters_by_creation_time(host: HostProcess) -> None:
    task = start_task(host)
    created = api_status(host, task)["createdTime"]
    since = run_json(host, "instances", "list", "--created-from", created, "--top", "1000")
    assert task in {i["instanceId"] for i in since["instances"]}
    assert all(i["createdTime"] >= created for i in since["instances"])
    future = run_json(host, "instances", "list", "--created-from", "2999-01-01T00:00:00Z")
    assert future == {"instances": [], "continuationToken": None}
    bad = run(host, "instances", "list", "--created-from", "yesterday")
    assert bad.returncode == 1 and "not an ISO-8601 time" in bad.stderr
