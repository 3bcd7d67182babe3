"""The console like `func start`: Executing/Executed lines per invocation, captured from a host subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from funchost import console
from tests.hostproc import ROOT, HostProcess

APP = ROOT / "tests" / "greetings_app"
BASE = "/runtime/webhooks/durabletask"
LINE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] (.*)$")
EXECUTING = re.compile(r"Executing 'Functions\.(\w+)' \(Reason='([^']*)', Id=([0-9a-f-]{36})\)$")
EXECUTED = re.compile(r"Executed 'Functions\.(\w+)' \((Succeeded|Failed), Id=([0-9a-f-]{36}), Duration=(\d+)ms\)$")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    proc = HostProcess(APP, Path(tmp_path_factory.mktemp("console"))).start()
    yield proc
    proc.stop()


def console_lines(host: HostProcess, until: str, timeout: float = 20.0, until_paired: str | None = None) -> list[str]:
    """The console's timestamped lines (prefix stripped) once a line containing `until` was printed (and,
    with `until_paired`, once every invocation of that function printed its Executed line)."""
    deadline = time.monotonic() + timeout
    while True:
        text = host.log_path.read_text(errors="replace")
        lines = [m.group(2) for m in map(LINE.match, text.splitlines()) if m]
        if until_paired is not None and not _paired(lines, until_paired) and time.monotonic() < deadline:
            time.sleep(0.05)
            continue
        if any(until in line for line in lines) or time.monotonic() > deadline:
            assert any(until in line for line in lines), f"no console line with {until!r}:\n{text[-3000:]}"
            return lines
        time.sleep(0.05)


def _paired(lines: list[str], name: str) -> bool:
    started = {m.group(3) for m in map(EXECUTING.search, lines) if m and m.group(1) == name}
    ended = {m.group(3) for m in map(EXECUTED.search, lines) if m and m.group(1) == name}
    return started == ended


def invocations(lines: list[str], name: str) -> list[tuple[str, str, str]]:
    """(reason, id, outcome) of every invocation of `name`, each Executing paired with its Executed."""
    started = {m.group(3): m.group(2) for m in map(EXECUTING.search, lines) if m and m.group(1) == name}
    ended = {m.group(3): m.group(2) for m in map(EXECUTED.search, lines) if m and m.group(1) == name}
    assert set(started) == set(ended), f"unpaired invocations of {name}: {set(started) ^ set(ended)}"
    return [(reason, inv_id, ended[inv_id]) for inv_id, reason in started.items()]


def test_http_invocation_prints_start_end_and_the_functions_own_record(host: HostProcess) -> None:
    reply = host.request("GET", "/api/greeting?name=Ann")
    invocation_id = reply.body.decode()
    lines = console_lines(host, f"Executed 'Functions.greeting' (Succeeded, Id={invocation_id}")
    start = lines.index(f"Executing 'Functions.greeting' (Reason='{console.HTTP_REASON}', Id={invocation_id})")
    record = lines.index("Function.greeting.User: Greeting Ann", start)
    end = next(i for i, line in enumerate(lines) if line.startswith(
        f"Executed 'Functions.greeting' (Succeeded, Id={invocation_id}, Duration="))
    assert start < record < end
    assert "\x1b[" not in host.log_path.read_text()  # not a terminal: no colours


def test_each_http_invocation_gets_its_own_guid(host: HostProcess) -> None:
    ids = [host.request("GET", "/api/greeting").body.decode() for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(str(uuid.UUID(inv_id)) == inv_id for inv_id in ids)  # GUID-shaped, lower-case, as Azure's


def test_failed_http_function_shows_its_message_and_no_key(host: HostProcess) -> None:
    assert host.request("GET", "/api/broken").status == 500
    lines = console_lines(host, "Exception while executing function: Functions.broken")
    [(_, _, outcome)] = invocations(lines, "broken")
    assert outcome == "Failed"
    assert ("Exception while executing function: Functions.broken. Result: Failure Exception: ValueError: "
            "the greeting service is down") in lines
    log = host.log_path.read_text()
    assert "code=***&name=ok" in log and "s3cret-code" not in log
    assert "Traceback" not in log  # the traceback only with --verbose


def test_orchestration_episodes_and_activities_carry_the_instance_id(host: HostProcess) -> None:
    started = host.request("POST", f"{BASE}/orchestrators/greet_cities").json()
    instance_id = started["id"]
    status = host.wait_status(instance_id)
    assert status["runtimeStatus"] == "Completed"
    lines = console_lines(host, f"{instance_id}: Orchestration 'greet_cities' completed.")
    episodes = [i for i in invocations(lines, "greet_cities") if instance_id in i[0]]
    assert len(episodes) == 3 and all(o == "Succeeded" for _, _, o in episodes)  # start, after each activity
    assert all(reason == f"Durable orchestration {status['instanceId']}" for reason, _, _ in episodes)
    activities = [i for i in invocations(lines, "say_hello") if instance_id in i[0]]
    assert [reason for reason, _, _ in activities] == [f"Activity of orchestration {instance_id}"] * 2
    assert "Function.say_hello.User: Saying hello to Tokyo" in lines
    assert "Function.say_hello.User: Saying hello to Lima" in lines


def test_failed_activity_and_orchestration_show_the_failure(host: HostProcess) -> None:
    instance_id = host.request("POST", f"{BASE}/orchestrators/greet_badly").json()["id"]
    status = host.wait_status(instance_id)
    assert status["runtimeStatus"] == "Failed"
    lines = console_lines(host, f"{instance_id}: Orchestration 'greet_badly' failed:")
    [(_, _, activity_outcome)] = [i for i in invocations(lines, "refuse") if instance_id in i[0]]
    assert activity_outcome == "Failed"
    assert ("Exception while executing function: Functions.refuse. Result: Failure Exception: Activity function "
            "'refuse' failed: no greetings for Oslo today") in lines
    outcomes = [o for reason, _, o in invocations(lines, "greet_badly") if instance_id in reason]
    assert outcomes == ["Succeeded", "Failed"]
    failed = next(line for line in lines if line.startswith(f"{instance_id}: Orchestration 'greet_badly' failed:"))
    assert "no greetings for Oslo today" in failed and status["output"].startswith(failed.split("failed: ", 1)[1])


def test_an_entity_batch_is_one_invocation(host: HostProcess) -> None:
    for _ in range(30):
        assert host.request("POST", f"{BASE}/entities/Counter/batch?op=add", body=1).status == 202
    assert host.request("POST", f"{BASE}/entities/Counter/batch?op=explode").status == 202
    console_lines(host, "Entity operation failed: counter exploded")
    # that batch's Executed line is queued just after the failure line: wait until it is written too
    lines = console_lines(host, "Entity operation failed: counter exploded", until_paired="Counter")
    batches = [i for i in invocations(lines, "Counter") if "@counter@batch" in i[0]]
    counts = [re.search(r", (\d+) operations?$", reason) for reason, _, _ in batches]
    assert sum(int(m.group(1)) for m in counts if m) == 31
    assert all(o == "Succeeded" for _, _, o in batches)  # a failed operation does not fail its batch
    assert host.request("GET", f"{BASE}/entities/Counter/batch").json() == 30


def test_host_json_log_levels_apply_per_category(host: HostProcess) -> None:
    assert host.request("GET", "/api/quiet_greeting").status == 200
    assert host.request("GET", "/api/chatty_greeting").status == 200
    lines = console_lines(host, "Executed 'Functions.chatty_greeting'")
    assert "Function.chatty_greeting.User: chatty debug line" in lines  # Function.chatty_greeting.User: Debug
    assert "Function.quiet_greeting.User: quiet warning line" in lines  # Function.quiet_greeting: Warning
    assert "Function.quiet_greeting.User: quiet info line" not in lines
    assert not invocations(lines, "quiet_greeting")


def test_verbose_adds_tracebacks(tmp_path: Path) -> None:
    proc = HostProcess(APP, tmp_path / "data", args=["--verbose"]).start()
    try:
        assert proc.request("GET", "/api/broken").status == 500
        console_lines(proc, "Exception while executing function: Functions.broken")
        log = proc.log_path.read_text()
        assert 'raise ValueError("the greeting service is down")' in log
        assert "s3cret-code" not in log
    finally:
        proc.stop()


def test_a_bad_log_level_in_host_json_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(APP, root)
    doc = json.loads((root / "host.json").read_text())
    doc["logging"]["logLevel"]["Function"] = "Loud"
    (root / "host.json").write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "funchost", "start", "--script-root", str(root), "--port", "0",
                           "--data", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"funchost: error: {root / 'host.json'}: logging.logLevel.Function is 'Loud'; use one of Trace, Debug, "
        "Information, Warning, Error, Critical, None"]


def test_colours_only_on_a_terminal() -> None:
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as tty:
        on_tty = console.Console(tty, console.CategoryLevels({}, 20), colour=tty.isatty())
        on_tty.write(on_tty._line(0.0, "failed", 40))
        data = os.read(primary, 200).decode()
    os.close(primary)
    assert data.startswith("\x1b[31m[1970-01-01T00:00:00.000Z] failed\x1b[0m")
    plain = io.StringIO()
    off = console.Console(plain, console.CategoryLevels({}, 20), colour=plain.isatty())
    off.write(off._line(0.0, "failed", 40))
    off.flush()  # not a terminal: lines are queued and written by the flush thread every 0.1 s
    assert plain.getvalue() == "[1970-01-01T00:00:00.000Z] failed\n"


def test_category_levels_take_the_longest_prefix() -> None:
    levels = console.CategoryLevels({"default": 30, "Function": 20, "Function.a.User": 10, "Host": 100}, 20)
    assert levels.level("Function.a.User") == 10
    assert levels.level("Function.b.User") == 20
    assert levels.level("function.A.user") == 10  # categories match case-insensitively, as in .NET
    assert levels.level("Host.Triggers.DurableTask") == 100
    assert levels.level("Other") == 30


def test_redact_removes_keys_and_tokens() -> None:
    text = "GET /api/x?code=abc123&name=ok x-functions-key: k9 Authorization: Bearer t0k access_token=zz"
    out = console.redact(text, ["k9"])
    assert all(secret not in out for secret in ("abc123", "k9", "t0k", "zz"))
    assert "name=ok" in out


def test_records_of_activities_in_worker_processes_reach_the_console(tmp_path: Path) -> None:
    proc = HostProcess(APP, tmp_path / "data", args=["--activity-processes", "1"]).start()
    try:
        instance_id = proc.request("POST", f"{BASE}/orchestrators/greet_cities").json()["id"]
        assert proc.wait_status(instance_id)["runtimeStatus"] == "Completed"
        lines = console_lines(proc, f"{instance_id}: Orchestration 'greet_cities' completed.")
        activities = [i for i in invocations(lines, "say_hello") if instance_id in i[0]]
        assert len(activities) == 2
        assert "Function.say_hello.User: Saying hello to Tokyo" in lines  # logged in the worker process
        assert "Function.say_hello.User: Saying hello to Lima" in lines
    finally:
        proc.stop()


TIMER_APP = '''
import logging

import azure.functions as func

app = func.FunctionApp()


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=True)
def tick(timer: func.TimerRequest) -> None:
    logging.info("tick ran, past due: %s", timer.past_due)


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer")
async def broken_tick(timer: func.TimerRequest) -> None:
    raise RuntimeError("the nightly job lost its database")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def yearly(timer: func.TimerRequest, context: func.Context) -> None:
    logging.info("yearly ran as %s", context.invocation_id)
'''
FIRED = re.compile(r"^Timer fired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$")


def test_timer_runs_print_start_end_records_and_failures(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "host.json").write_text('{"version": "2.0"}')
    (root / "function_app.py").write_text(TIMER_APP)
    host = HostProcess(root, tmp_path / "data").start()
    try:
        assert host.request("POST", "/admin/functions/yearly", body={"input": ""}).status == 202
        lines = console_lines(host, "Executed 'Functions.broken_tick' (Failed", until_paired="tick")
        lines = console_lines(host, "Executed 'Functions.yearly' (Succeeded", until_paired="yearly")
    finally:
        host.stop()
    ticks = invocations(lines, "tick")
    assert ticks and all(FIRED.match(reason) and outcome == "Succeeded" for reason, _, outcome in ticks), ticks
    first = lines.index(next(line for line in lines if line.startswith("Executing 'Functions.tick'")))
    assert lines[first + 1] == "Function.tick.User: tick ran, past due: False"
    broken = invocations(lines, "broken_tick")
    assert broken and all(FIRED.match(reason) and outcome == "Failed" for reason, _, outcome in broken), broken
    assert ("Exception while executing function: Functions.broken_tick. Result: Failure Exception: RuntimeError: "
            "the nightly job lost its database") in lines
    [(reason, invocation_id, outcome)] = invocations(lines, "yearly")  # the admin API's run, not the schedule
    assert reason == console.HTTP_REASON and outcome == "Succeeded"
    assert f"Function.yearly.User: yearly ran as {invocation_id}" in lines
