"""Timer triggers: schedule arithmetic, and timer functions run by the real host over loopback."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from funchost.schedule_monitor import ScheduleStatus, missed_occurrence, monitored
from funchost.store import SCHEMA_VERSION, Store, TimerStatusRow
from funchost.timers import ScheduleError, parse_schedule
from tests.hostproc import HostProcess


def at(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("*/2 * * * * *", at(2026, 1, 1, 0, 0, 1), at(2026, 1, 1, 0, 0, 2)),
    ("*/2 * * * * *", at(2026, 1, 1, 0, 0, 2), at(2026, 1, 1, 0, 0, 4)),
    ("0 */5 * * * *", at(2026, 1, 1, 0, 7, 0), at(2026, 1, 1, 0, 10, 0)),
    ("0 30 9 * Jan-Mar Mon-Fri", at(2026, 1, 3, 0, 0, 0), at(2026, 1, 5, 9, 30, 0)),  # Sat -> Mon
    ("0 0 12 1,15 * *", at(2026, 1, 2, 0, 0, 0), at(2026, 1, 15, 12, 0, 0)),
    ("0 0 0 29 Feb *", at(2026, 3, 1, 0, 0, 0), at(2028, 2, 29, 0, 0, 0)),
    ("0 0 0 * * 7", at(2026, 1, 1, 0, 0, 0), at(2026, 1, 4, 0, 0, 0)),  # 7 is Sunday
    ("10-20/5 0 0 * dec sun", at(2026, 1, 1, 0, 0, 0), at(2026, 12, 6, 0, 0, 10)),
    ("0 59 23 31 12 *", at(2026, 12, 31, 23, 59, 0), at(2027, 12, 31, 23, 59, 0)),
    ("00:00:30", at(2026, 1, 1, 0, 0, 0), at(2026, 1, 1, 0, 0, 30)),
    ("1.02:00:00", at(2026, 1, 1, 0, 0, 0), at(2026, 1, 2, 2, 0, 0)),
])
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert parse_schedule(expression).next_after(after) == expected


def test_next_occurrence_in_a_time_zone() -> None:
    zone = ZoneInfo("Europe/Berlin")  # UTC+1 in winter
    assert parse_schedule("0 0 9 * * *").next_after(at(2026, 1, 1, 0, 0, 0), zone) == at(2026, 1, 1, 8, 0, 0)


@pytest.mark.parametrize(("expression", "words"), [
    ("* * * * *", "six-field"), ("60 * * * * *", "outside 0-59"), ("* * * * Foo *", "not a number or a name"),
    ("*/0 * * * * *", "step"), ("5-1 * * * * *", "backwards"), ("0 0 0 31 Feb *", "no day"),
    ("00:61:00", "out of range"), ("00:00:00", "positive"), ("", "six-field"),
])
def test_invalid_schedules_are_named(expression: str, words: str) -> None:
    with pytest.raises(ScheduleError, match=words):
        parse_schedule(expression)


TIMER_APP = '''
import json
import os
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
OUT = Path(os.environ["TIMER_TEST_OUT"])


@app.timer_trigger(schedule="*/2 * * * * *", arg_name="timer", run_on_startup=True)
@app.durable_client_input(client_name="client")
def every_two_seconds(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Records each run's start and end; overlapping runs would interleave the records."""
    with (OUT / "runs.jsonl").open("a") as f:
        f.write(json.dumps({"event": "start", "past_due": timer.past_due,
                            "status": timer.schedule_status, "client": type(client).__name__}) + "\\n")
    time.sleep(2.5)  # longer than the schedule: the next occurrence must wait for this run
    with (OUT / "runs.jsonl").open("a") as f:
        f.write(json.dumps({"event": "end"}) + "\\n")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def yearly(timer: func.TimerRequest) -> None:
    (OUT / "yearly").write_text("ran")


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def on_queue(msg: func.QueueMessage) -> None:
    pass
'''


def write_app(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(TIMER_APP)
    (root / "host.json").write_text(json.dumps({"version": "2.0"}))
    return root


def wait_for(check: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def runs(out: Path) -> list[dict[str, Any]]:
    path = out / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_timer_runs_on_startup_and_schedule_one_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    host = HostProcess(write_app(tmp_path / "app"), tmp_path / "data", env={"TIMER_TEST_OUT": str(out)})
    host.start()
    try:
        wait_for(lambda: sum(r["event"] == "end" for r in runs(out)) >= 3, "three finished timer runs")
        status = host.request("GET", "/admin/host/status")
        assert status.status == 200
    finally:
        host.stop()
    records = runs(out)
    events = [r["event"] for r in records]
    # One at a time: starts and ends alternate.
    assert events[:6] == ["start", "end"] * 3, events
    first = records[0]
    assert first["status"] == {}  # schedules more often than once a minute are not monitored (Azure's default)
    assert first["client"] == "DurableOrchestrationClient"
    log = host.log_path.read_text()
    assert "every_two_seconds: timerTrigger (*/2 * * * * *), next occurrence" in log
    assert "on_queue: queueTrigger, not supported by funchost: runs on Azure" in log
    assert not (out / "yearly").exists()


@pytest.mark.parametrize("admin_key", [None, "the-admin-key"])
def test_admin_functions_runs_a_timer_function(tmp_path: Path, admin_key: str | None) -> None:
    out = tmp_path / "out"
    out.mkdir()
    env = {"TIMER_TEST_OUT": str(out), **({"FUNCHOST_ADMIN_KEY": admin_key} if admin_key else {})}
    host = HostProcess(write_app(tmp_path / "app"), tmp_path / "data", env=env).start()
    key = {"x-functions-key": admin_key} if admin_key else {}
    try:
        if admin_key:
            refused = host.request("POST", "/admin/functions/yearly", body={"input": ""})
            assert refused.status == 401
            wrong = host.request("POST", "/admin/functions/yearly", body={"input": ""},
                                 headers={"x-functions-key": "wrong"})
            assert wrong.status == 401
            assert not (out / "yearly").exists()
        missing = host.request("POST", "/admin/functions/nope", body={"input": ""}, headers=key)
        assert missing.status == 404 and "nope" in missing.json()["details"]
        queue = host.request("POST", "/admin/functions/on_queue", body={"input": "x"}, headers=key)
        assert queue.status == 404 and "runs on Azure" in queue.json()["details"]
        bad = host.request("POST", "/admin/functions/yearly", raw=b"{not json", headers=key)
        assert bad.status == 400 and bad.json()["error"] == "invalid body"
        assert not (out / "yearly").exists()
        accepted = host.request("POST", "/admin/functions/yearly", body={"input": ""}, headers=key)
        assert accepted.status == 202
        wait_for(lambda: (out / "yearly").exists(), "the yearly function run by /admin/functions")
    finally:
        host.stop()
    assert (out / "yearly").read_text() == "ran"


MONITORED_APP = '''
import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
OUT = Path(os.environ["TIMER_TEST_OUT"])


@app.timer_trigger(schedule="*/2 * * * * *", arg_name="timer", use_monitor=True)
def monitored(timer: func.TimerRequest) -> None:
    with (OUT / "runs.jsonl").open("a") as f:
        f.write(json.dumps({"event": "start", "past_due": timer.past_due, "status": timer.schedule_status,
                            "pid": os.getpid()}) + "\\n")
'''


def stored_status(data: Path) -> tuple[float | None, float, float]:
    db = sqlite3.connect(data / "durable.sqlite3")
    try:
        last, nxt, updated = db.execute("SELECT last, next, last_updated FROM timer_status WHERE name = ?",
                                        ("monitored",)).fetchone()
    finally:
        db.close()
    return last, nxt, updated


def test_a_monitored_timer_is_past_due_after_the_host_was_down_across_an_occurrence(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    root = tmp_path / "app"
    root.mkdir()
    (root / "function_app.py").write_text(MONITORED_APP)
    (root / "host.json").write_text(json.dumps({"version": "2.0"}))
    data = tmp_path / "data"
    host = HostProcess(root, data, env={"TIMER_TEST_OUT": str(out)})
    host.start()
    try:
        wait_for(lambda: len(runs(out)) >= 2, "two scheduled runs")
    finally:
        host.stop()
    first_life = runs(out)
    assert [r["past_due"] for r in first_life[:2]] == [False, False]
    assert first_life[0]["status"]["Last"] == "0001-01-01T00:00:00+00:00"  # never ran before
    assert "monitored: timerTrigger (*/2 * * * * *), next occurrence" in host.log_path.read_text()
    assert "monitored: last run never" in host.log_path.read_text()
    _, expected_next, _ = stored_status(data)
    # Stay down until the recorded next occurrence has passed.
    wait_for(lambda: time.time() > expected_next + 0.5, "the recorded next occurrence to pass while down")
    host.start()
    try:
        wait_for(lambda: len(runs(out)) > len(first_life), "a run after the restart")
    finally:
        host.stop()
    after = runs(out)[len(first_life)]
    assert after["past_due"] is True
    missed = datetime.fromtimestamp(expected_next, UTC)
    assert datetime.fromisoformat(after["status"]["Next"]) == missed  # the status as it was: this occurrence
    assert after["status"]["Last"] != "0001-01-01T00:00:00+00:00"
    assert f"past due (missed {missed.isoformat()}), running now" in host.log_path.read_text()
    last, _, _ = stored_status(data)
    assert last is not None and last >= expected_next  # the catch-up run is recorded as that occurrence


def test_missed_occurrence_follows_a_changed_schedule() -> None:
    hourly = parse_schedule("0 0 * * * *")
    written = at(2026, 1, 1, 10, 0, 0)
    status = ScheduleStatus(at(2026, 1, 1, 10, 0, 0), at(2026, 1, 1, 11, 0, 0), written)
    assert missed_occurrence(status, hourly, UTC, at(2026, 1, 1, 10, 30, 0)) is None
    assert missed_occurrence(status, hourly, UTC, at(2026, 1, 1, 11, 0, 1)) == at(2026, 1, 1, 11, 0, 0)
    # Changed to every five minutes while down: the occurrence after the last write is the one missed.
    assert missed_occurrence(status, parse_schedule("0 */5 * * * *"), UTC, at(2026, 1, 1, 10, 6, 0)) == \
        at(2026, 1, 1, 10, 5, 0)


@pytest.mark.parametrize(("use_monitor", "expression", "expected"), [
    (None, "*/2 * * * * *", False), (None, "0 * * * * *", True), (None, "00:00:30", False),
    (None, "00:05:00", True), (True, "*/2 * * * * *", True), (False, "0 0 * * * *", False),
])
def test_monitoring_default_follows_the_schedule_period(use_monitor: bool | None, expression: str,
                                                       expected: bool) -> None:
    assert monitored(use_monitor, parse_schedule(expression)) is expected


def test_a_version_1_store_is_upgraded_with_the_timer_status_table(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE timer_status")
    db.execute("UPDATE schema_version SET version = 1")
    db.commit()
    db.close()
    store = Store(path)
    row = TimerStatusRow("t", None, 10.0, 5.0)
    with store.transaction():
        store.put_timer_status(row)
    assert store.get_timer_status("t") == row
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


SETTING_APP = '''
import azure.functions as func

app = func.FunctionApp()


@app.timer_trigger(schedule="%BEAT_SCHEDULE%", arg_name="timer")
def beat(timer: func.TimerRequest) -> None:
    pass
'''


def test_a_schedule_can_name_an_app_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from funchost.discovery import load_app
    from funchost.errors import AppLoadError
    from tests.azure_fidelity.apps import isolated_import

    root = tmp_path / "app"
    root.mkdir()
    (root / "function_app.py").write_text(SETTING_APP)
    monkeypatch.delenv("BEAT_SCHEDULE", raising=False)
    with isolated_import(), pytest.raises(AppLoadError, match=r"function beat: the timer schedule '%BEAT_SCHEDULE%' "
                                                             r"does not resolve to a value \(set the app setting"):
        load_app(root)
    monkeypatch.setenv("BEAT_SCHEDULE", "0 */10 * * * *")
    with isolated_import():
        [timer] = load_app(root).timers
    assert timer.schedule.expression == "0 */10 * * * *" and timer.use_monitor
