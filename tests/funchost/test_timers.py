"""Timer triggers: schedule arithmetic, and timer functions run by the real host over loopback."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

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
                            "status": sorted(timer.schedule_status), "client": type(client).__name__}) + "\\n")
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


def runs(out: Path) -> list[dict[str, object]]:
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
    assert first["status"] == ["Last", "LastUpdated", "Next"]
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
