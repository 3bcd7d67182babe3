"""The web monitor in a real browser (Playwright driving Debian's Chromium) against real hosts.

`app` runs the project's function_app.py with an admin key, so the page must ask for it; `notes`
runs tests/monitor/notes_app, whose entity keeps any JSON (hostile text included) and whose
orchestration has every kind of timeline step. Screenshots go to tests/monitor/artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.hostproc import ROOT, HostProcess, wait_until
from tests.monitor.conftest import NOTES_APP, llm_env, screenshot, start_held_task

ADMIN_KEY = "monitor-test-admin-key"
KEYED = {"x-functions-key": ADMIN_KEY}
DURABLE = "/runtime/webhooks/durabletask"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake_llm: Any) -> Iterator[HostProcess]:
    host = HostProcess(ROOT, tmp_path_factory.mktemp("monitor-app"),
                       env={"FUNCHOST_ADMIN_KEY": ADMIN_KEY, **llm_env(fake_llm)})
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    host = HostProcess(NOTES_APP, tmp_path_factory.mktemp("monitor-notes"))
    host.start()
    yield host
    host.stop()


def start_task(host: HostProcess, progression: str, budget_ms: int) -> str:
    reply = host.request("POST", "/api/agents/tasks/spice-up", {"progression": progression, "budgetMs": budget_ms})
    assert reply.status == 202, reply.body
    return str(reply.json()["taskId"])


def api_status(host: HostProcess, instance_id: str, history: bool = False) -> dict[str, Any]:
    query = "?showHistory=true" if history else ""
    reply = host.request("GET", f"{DURABLE}/instances/{quote(instance_id, safe='')}{query}", headers=KEYED)
    assert reply.status in (200, 202), reply.body
    return dict(reply.json())




def open_with_key(page: Any, host: HostProcess, fragment: str) -> None:
    """Open the monitor, answer its key prompt, and wait for the view to load."""
    page.goto(f"{host.base}/_funchost/#/{fragment}")
    page.locator("#key-dialog[open]").wait_for()
    page.fill("#key-input", ADMIN_KEY)
    page.click("#key-save")


def test_the_instance_list_asks_for_the_key_and_shows_a_started_task(app: HostProcess, page: Any) -> None:
    done = start_task(app, "Dm7 G7 Cmaj7 A7", 200)
    wait_until(lambda: api_status(app, done)["runtimeStatus"] == "Completed", "the short task to complete", 60)
    running = start_held_task(app, KEYED)
    open_with_key(page, app, "instances")
    row = page.locator(f'[data-testid="instance-row"][data-instance-id="{running}"]')
    row.wait_for()
    assert row.locator("td").nth(0).inner_text() == "agent_spice_up"
    assert row.locator('[data-testid="status"]').inner_text() == "Running"
    bar = row.locator('[role="progressbar"]')
    assert bar.get_attribute("aria-valuenow") == "10" and "consulting-llm" in row.inner_text()
    finished = page.locator(f'[data-testid="instance-row"][data-instance-id="{done}"]')
    assert finished.locator('[data-testid="status"]').inner_text() == "Completed"
    # The agent's custom status as a bar: the completed task's reads 100 %.
    assert finished.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "100"
    # Auto-refresh: a task started now shows up without reloading the page.
    later = start_task(app, "Dm7 G7 Cmaj7 A7", 200)
    page.locator(f'[data-testid="instance-row"][data-instance-id="{later}"]').wait_for(timeout=30_000)
    # Filters: the status filter leaves only completed ones.
    page.select_option('[data-testid="filter-status"]', "Completed")
    page.click('[data-testid="instance-filters"] button[type="submit"]')
    row.wait_for(state="detached")
    statuses = page.locator('[data-testid="instance-row"] [data-testid="status"]').all_inner_texts()
    assert statuses and set(statuses) == {"Completed"}
    screenshot(page, "instances")


def test_the_timeline_shows_the_activities_of_a_task(app: HostProcess, page: Any) -> None:
    task = start_task(app, "Dm7 G7 Cmaj7 A7", 200)
    wait_until(lambda: api_status(app, task)["runtimeStatus"] == "Completed", "the task to complete", 60)
    events = api_status(app, task, history=True)["historyEvents"]
    # The extension's shape: a finished activity's TaskScheduled is folded into its TaskCompleted/TaskFailed.
    steps = sorted((e for e in events if e["EventType"] in ("TaskCompleted", "TaskFailed")),
                   key=lambda e: e["ScheduledTime"])
    scheduled = [e["FunctionName"] for e in steps]
    timers = [e for e in events if e["EventType"] == "TimerCreated"]
    entity_calls = [e for e in events if e["EventType"] == "EventSent" and str(e.get("InstanceId", "")).startswith("@")]
    assert "agent_voicings" in scheduled and "agent_assemble" in scheduled
    open_with_key(page, app, f"instance/{task}")
    page.locator('[data-testid="timeline-row"]').first.wait_for()
    activities = page.locator('[data-testid="timeline-row"][data-kind="activity"]')
    labels = [text.split("\n")[0].strip() for text in activities.locator(".label").all_inner_texts()]
    assert labels == scheduled  # one bar per activity, in the order they were scheduled
    kinds = page.locator('[data-testid="timeline-row"]').evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert len(kinds) == len(scheduled) + len(timers) + len(entity_calls)
    assert set(kinds) <= {"activity", "timer", "entity"} and kinds.count("entity") == len(entity_calls)
    custom = page.locator('[data-testid="custom-status"]').inner_text()
    assert json.loads(custom) == api_status(app, task)["customStatus"] and "\n  " in custom  # indented JSON
    screenshot(page, "instance-timeline")


def test_terminate_from_the_page_ends_the_task(app: HostProcess, page: Any) -> None:
    task = start_held_task(app, KEYED)
    open_with_key(page, app, f"instance/{task}")
    page.locator('[data-testid="action-terminate"]:enabled').click()
    page.locator("#confirm-dialog[open]").wait_for()
    page.fill('[data-testid="confirm-reason"]', "stopped from the monitor")
    page.click("#confirm-ok")
    page.locator('[data-testid="facts"] [data-testid="status"]', has_text="Terminated").wait_for(timeout=30_000)
    status = api_status(app, task, history=True)
    assert status["runtimeStatus"] == "Terminated"
    terminated = [e for e in status["historyEvents"] if e["EventType"] == "ExecutionTerminated"]
    assert terminated and "stopped from the monitor" in json.dumps(terminated[0])
    assert page.locator('[data-testid="timeline-row"] .tag', has_text="running").count() == 0  # nothing runs now
    screenshot(page, "instance-terminated")


def test_cancelling_the_confirmation_changes_nothing(app: HostProcess, page: Any) -> None:
    task = start_held_task(app, KEYED)
    open_with_key(page, app, f"instance/{task}")
    page.locator('[data-testid="action-terminate"]:enabled').click()
    page.click("#confirm-cancel")
    page.locator('[data-testid="action-suspend"]:enabled').click()
    page.click("#confirm-ok")
    page.locator('[data-testid="facts"] [data-testid="status"]', has_text="Suspended").wait_for(timeout=30_000)
    assert api_status(app, task)["runtimeStatus"] == "Suspended"  # suspended, not terminated
    page.locator('[data-testid="action-resume"]:enabled').click()
    page.click("#confirm-ok")
    page.locator('[data-testid="facts"] [data-testid="status"]', has_text="Running").wait_for(timeout=30_000)
    assert api_status(app, task)["runtimeStatus"] == "Running"
    app.request("POST", f"{DURABLE}/instances/{task}/terminate", headers=KEYED)


def test_the_instance_list_pages_through_the_continuation_token(app: HostProcess, page: Any) -> None:
    for _ in range(6):
        start_task(app, "Dm7 G7", 100)
    open_with_key(page, app, "instances")
    page.locator('[data-testid="instance-row"]').first.wait_for()
    page.uncheck('[data-testid="auto-refresh"]')
    page.select_option('[data-testid="filter-top"]', "5")
    page.click('[data-testid="instance-filters"] button[type="submit"]')
    rows = page.locator('[data-testid="instance-row"]')
    page.locator('.pager', has_text="page 1, 5 shown").wait_for()
    first = rows.evaluate_all("rows => rows.map(r => r.dataset.instanceId)")
    page.click('[data-testid="next-page"]')
    page.locator('.pager', has_text="page 2").wait_for()
    second = rows.evaluate_all("rows => rows.map(r => r.dataset.instanceId)")
    assert len(first) == 5 and second and not set(first) & set(second)
    listed = [i["instanceId"] for i in app.request("GET", f"{DURABLE}/instances?top=10", headers=KEYED).json()]
    assert first + second == listed[:len(first) + len(second)]  # the API's order, page after page
    page.click('.pager button:has-text("Previous")')
    page.locator('.pager', has_text="page 1, 5 shown").wait_for()
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.instanceId)") == first


def test_an_entity_state_is_shown_as_readable_json(app: HostProcess, page: Any) -> None:
    attempt = {"playerId": "monitor-player", "success": True, "timeMs": 900, "attempts": 1, "shapeId": "Cmaj7"}
    assert app.request("POST", "/api/adaptive-ai/record-performance", attempt).status == 200
    state = app.request("GET", f"{DURABLE}/entities/PlayerSession/monitor-player", headers=KEYED).json()
    open_with_key(page, app, "entities")
    row = page.locator('[data-testid="entity-row"]', has_text="monitor-player")
    row.locator('[data-testid="entity-show"]').click()
    shown = page.locator('[data-testid="entity-state"]')
    assert json.loads(shown.inner_text()) == state
    assert '\n  "playerId": "monitor-player",\n' in shown.inner_text()  # indented, as a person reads it
    screenshot(page, "entity-state")
    page.click('[data-testid="entity-delete"]')
    page.click("#confirm-ok")
    wait_until(lambda: app.request("GET", f"{DURABLE}/entities/PlayerSession/monitor-player",
                                   headers=KEYED).status == 404, "the entity to be deleted")


def test_the_host_page_shows_functions_mailboxes_metrics_and_store_size(app: HostProcess, page: Any) -> None:
    open_with_key(page, app, "host")
    page.locator('[data-testid="function-row"]').first.wait_for()
    names = set(page.locator('[data-testid="function-row"] td:first-child').all_inner_texts())
    listed = {f["name"] for f in app.request("GET", "/admin/functions", headers=KEYED).json()["functions"]}
    assert names == listed and {"agent_spice_up", "PlayerSession", "players_record_performance"} <= names
    page.locator('[data-testid="store-size"]').wait_for()
    number, unit = page.locator('[data-testid="store-size"] .metric').inner_text().split()
    shown = float(number) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit]
    on_disk = sum(p.stat().st_size for p in app.data_dir.glob("durable.sqlite3*"))
    assert 0.8 * on_disk <= shown <= 1.2 * on_disk, (shown, on_disk)  # the files' size (it grows as tasks run)
    assert "playersession" in page.locator('[data-testid="mailboxes"]').inner_text()
    assert "since start" in page.locator('[data-testid="metric-activities"]').inner_text()
    page.locator('[data-testid="metric-http"] .metric', has_text="/s").wait_for()  # a rate, once scraped twice
    screenshot(page, "host")


def test_hostile_entity_keys_states_and_instance_data_render_as_text(notes: HostProcess, page: Any) -> None:
    hostile_state = {"html": HOSTILE, "script": "<script>window.__pwned=2</script>", "link": "javascript:alert(1)"}
    key = quote(HOSTILE, safe="")
    assert notes.request("POST", f"{DURABLE}/entities/Notes/{key}?op=set", hostile_state).status == 202
    wait_until(lambda: notes.request("GET", f"{DURABLE}/entities/Notes/{key}").status == 200, "the entity state")
    instance = quote(f"x{HOSTILE}", safe="")
    assert notes.request("POST", f"{DURABLE}/orchestrators/echo_once/{instance}", HOSTILE).status == 202
    page.goto(f"{notes.base}/_funchost/#/entities")
    row = page.locator('[data-testid="entity-row"]', has_text="notes")
    row.first.wait_for()
    assert HOSTILE in page.locator('[data-testid="entity-key"]').all_inner_texts()
    page.locator('[data-testid="entity-row"]', has_text="onerror").locator('[data-testid="entity-show"]').click()
    assert json.loads(page.locator('[data-testid="entity-state"]').inner_text()) == hostile_state
    assert page.locator('[data-testid="entity-detail-key"]').inner_text() == HOSTILE
    screenshot(page, "hostile-entity")
    page.click('[data-testid="entity-signal"]')
    page.fill('[data-testid="confirm-op"]', "set")
    page.fill('[data-testid="confirm-input"]', '{"replaced": "<b>by the monitor</b>"}')
    page.click("#confirm-ok")
    wait_until(lambda: notes.request("GET", f"{DURABLE}/entities/Notes/{key}").json() == {
        "replaced": "<b>by the monitor</b>"}, "the signal from the page to be processed")
    # The Python client sends JSON text as a JSON string (its double encoding); the host stores the inner text.
    failing = notes.request("POST", f"{DURABLE}/orchestrators/fails_with_input", json.dumps(HOSTILE)).json()["id"]
    notes.wait_status(failing, timeout=30)
    page.goto(f"{notes.base}/_funchost/#/instance/{failing}")
    page.locator('[data-testid="failure-details"]').wait_for()
    assert HOSTILE in page.locator('[data-testid="failure-details"]').inner_text()
    screenshot(page, "hostile-failure")
    page.goto(f"{notes.base}/_funchost/#/instance/{instance}")
    page.locator('[data-testid="input"]').wait_for()
    assert page.locator('[data-testid="input"]').inner_text() == HOSTILE
    assert page.locator("h1").inner_text().startswith(f"echo_once x{HOSTILE}")
    screenshot(page, "hostile-instance")
    # Nothing became markup: no image, no script beyond the page's own, nothing ran.
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert page.evaluate("window.__pwned") is None


def test_the_timeline_marks_failures_retries_timers_entity_calls_and_sub_orchestrations(
        notes: HostProcess, page: Any) -> None:
    reply = notes.request("POST", f"{DURABLE}/orchestrators/every_step")
    instance = reply.json()["id"]
    notes.wait_status(instance, timeout=30)
    page.goto(f"{notes.base}/_funchost/#/instance/{instance}")
    page.locator('[data-testid="timeline-row"]').first.wait_for()
    kinds = page.locator('[data-testid="timeline-row"]').evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["activity", "timer", "activity", "timer", "entity", "suborchestration"]
    labels = page.locator('[data-testid="timeline-row"] .label').all_inner_texts()
    assert "failed" in labels[0] and "retry 1" in labels[2] and labels[1].startswith("retry delay of fails_once")
    assert "first call for" in page.locator('[data-testid="timeline-reason"]').inner_text()
    assert "notes@timeline" in labels[4] and labels[5].startswith("echo_once")
    screenshot(page, "timeline-every-step")
    waiting = notes.request("POST", f"{DURABLE}/orchestrators/status_from_input", json.dumps("waiting")).json()["id"]
    page.goto(f"{notes.base}/_funchost/#/instance/{waiting}")
    page.locator('[data-testid="action-raise"]:enabled').click()
    page.fill('[data-testid="confirm-event"]', "done")
    page.fill('[data-testid="confirm-data"]', '{"by": "the monitor"}')
    page.click("#confirm-ok")
    event_row = page.locator('[data-testid="timeline-row"][data-kind="event"]')
    event_row.wait_for(timeout=30_000)
    assert "external event done" in event_row.inner_text()
    assert notes.wait_status(waiting, timeout=30)["output"] == "finished"


def test_a_cross_site_page_cannot_act_on_the_host(app: HostProcess, notes: HostProcess, page: Any) -> None:
    task = start_held_task(app, KEYED)
    target = f"{app.base}{DURABLE}/instances/{task}/terminate?code={ADMIN_KEY}"
    page.goto(notes.base + "/")  # another origin (another port) than the app host
    page.evaluate("url => fetch(url, {method: 'POST', mode: 'no-cors'})", target)
    with page.expect_navigation():
        page.evaluate("""url => { const f = document.createElement('form'); f.method = 'POST'; f.action = url;
            document.body.append(f); f.submit(); }""", target)
    assert page.url.startswith(app.base)  # the form's answer was loaded: the request did arrive
    assert "cross-site request refused" in page.content()
    assert api_status(app, task)["runtimeStatus"] == "Running"
    app.request("POST", f"{DURABLE}/instances/{task}/terminate", headers=KEYED)
