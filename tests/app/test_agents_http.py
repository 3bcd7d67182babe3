"""Agent tasks through the real host over HTTP: start, progress, result, cancel, deadline, LLM, bad input.

Everything runs on funchost subprocesses with the project's own function_app.py and a real SQLite store.
The only fake is the LLM: an OpenAI-compatible server on 127.0.0.1 in a thread of this process, whose
answer (good plan, bad JSON, too slow) is picked by a marker the test puts in the task's `notes`.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from harmony import agent
from harmony.chords import parse_chord
from orchestrations.agent_tasks import CONTINUED, STEPS_PER_EXECUTION
from tests.harmony.test_llm import GOOD_PLAN  # the same valid plan the unit tests use
from tests.hostproc import ROOT, HostProcess

TASKS = "/api/agents/tasks"
INSTANCES = "/runtime/webhooks/durabletask/instances"
AGENT_ORCHESTRATORS = {"agent_spice_up", "agent_reharmonize", "agent_create"}
FINISHED = ("Completed", "Failed", "Cancelled")
STAGES = ("queued", "consulting-llm", "searching", "voicing", "assembling", "completed")
VIEW_FIELDS = {"taskId", "type", "state", "progress", "stage", "statusMessage", "result", "errorMessage",
               "createdTime", "lastUpdatedTime"}
RESULT_FIELDS = {"title", "summary", "key", "progression", "analysis", "sections", "changes", "voicings",
                 "practiceIdeas", "warnings", "metadata", "timeline", "keyRegions", "partial"}
MANAGEMENT_LINKS = {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"}

AUTUMN = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
II_V_I = "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7"
# 16 chords: each search step takes long enough (and there are enough of them) to cancel mid-search.
LONG = f"{AUTUMN} {AUTUMN}"
# 64 chords, the most a request may have: the largest search state (~17 KB) of any task.
LONGEST = " ".join([AUTUMN] * 8)


# -- helpers ----------------------------------------------------------------------------------------
def start(host: HostProcess, task: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = host.request("POST", f"{TASKS}/{task}", body)
    assert reply.status == 202, reply.body
    return dict(reply.json(), location=reply.headers.get("Location"))


def status(host: HostProcess, task_id: str) -> dict[str, Any]:
    reply = host.request("GET", f"{TASKS}/{task_id}/status")
    assert reply.status == 200, reply.body
    view = reply.json()
    assert set(view) - {"llm"} == VIEW_FIELDS, view  # `llm` only with an LLM configured
    return view


def poll(host: HostProcess, task_id: str, until: tuple[str, ...] = FINISHED, stage: str | None = None,
         timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every status read, as fast as the host answers, until the state is in `until` (or `stage` shows)."""
    reads: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reads.append(status(host, task_id))
        if reads[-1]["state"] in until or (stage is not None and reads[-1]["stage"] == stage):
            return reads
        time.sleep(0.005)
    raise AssertionError(f"task {task_id} did not reach {until} / {stage}: {reads[-1:]}")


def agent_instances(host: HostProcess) -> list[str]:
    reply = host.request("GET", INSTANCES)
    assert reply.status == 200, reply.body
    return sorted(row["instanceId"] for row in reply.json() if row["name"] in AGENT_ORCHESTRATORS)


def history(host: HostProcess, task_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = host.request("GET", f"{INSTANCES}/{task_id}?showHistory=true").json()[
        "historyEvents"]
    return events


def cancel(host: HostProcess, task_id: str) -> tuple[int, dict[str, Any]]:
    reply = host.request("POST", f"{TASKS}/{task_id}/cancel")
    return reply.status, reply.json()


def assert_sane_progress(reads: list[dict[str, Any]]) -> None:
    """Progress never decreases, stages only move forward, and the states go Pending -> Running -> end."""
    progress = [read["progress"] for read in reads]
    assert progress == sorted(progress), progress
    stages = [STAGES.index(read["stage"]) for read in reads if read["stage"] in STAGES]
    assert stages == sorted(stages), [read["stage"] for read in reads]
    order = {"Pending": 0, "Running": 1, "Completed": 2, "Failed": 2, "Cancelled": 2}
    states = [order[read["state"]] for read in reads]
    assert states == sorted(states), [read["state"] for read in reads]


def assert_chords_parse(symbols: list[str]) -> None:
    assert symbols, "empty progression"
    for symbol in symbols:
        assert parse_chord(symbol).symbol == symbol, symbol


def bar_numbers(result: dict[str, Any]) -> list[int]:
    """The bar numbers named by the sections' focus lines ("Bars 1-4: ...", "Bar 5: ...")."""
    return [int(n) for section in result["sections"] for n in re.findall(r"\d+", section["focus"].split(":")[0])]


# -- each task type end to end ----------------------------------------------------------------------
CASES = [
    ("spice-up", {"progression": II_V_I, "style": "jazz", "budgetMs": 400}),
    ("reharmonize", {"progression": AUTUMN, "style": "bossa nova", "targetFeel": "warm", "budgetMs": 400}),
    ("create", {"key": "A minor", "style": "neo-soul", "mood": "late night", "bars": 8, "budgetMs": 400}),
]


@pytest.mark.parametrize(("task", "body"), CASES, ids=[case[0] for case in CASES])
def test_task_runs_end_to_end(app_host: HostProcess, task: str, body: dict[str, Any]) -> None:
    accepted = start(app_host, task, body)
    task_id = accepted["taskId"]
    assert accepted["type"] == task and accepted["id"] == task_id
    assert accepted["statusUrl"] == f"{app_host.base}{TASKS}/{task_id}/status"
    assert accepted["location"] == accepted["statusUrl"]
    assert set(accepted) >= MANAGEMENT_LINKS, accepted
    assert accepted["statusQueryGetUri"].startswith(f"{app_host.base}{INSTANCES}/{task_id}")

    reads = poll(app_host, task_id)
    assert reads[0]["state"] in ("Pending", "Running", "Completed")
    assert_sane_progress(reads)
    done = reads[-1]
    assert done["state"] == "Completed", done
    assert (done["progress"], done["stage"], done["errorMessage"]) == (1.0, "completed", None)
    assert done["taskId"] == task_id and done["type"] == task

    result = done["result"]
    assert set(result) == RESULT_FIELDS, sorted(result)
    assert_chords_parse(result["progression"])
    assert [shape["chord"] for shape in result["voicings"]] == result["progression"]
    assert [item["chord"] for item in result["analysis"]] == result["progression"]
    assert result["title"] and result["summary"] and result["sections"]
    assert result["metadata"]["budgetMs"] == body["budgetMs"] and result["metadata"]["source"] == "engine"
    assert result["warnings"] == []
    if task == "spice-up":
        assert result["key"] == "C major"  # inferred from the chords
        assert parse_chord(result["progression"][-1]).root == "C"  # the cadence is preserved by default
        assert result["changes"], "a jazz spice-up of plain sevenths changes something"
    elif task == "reharmonize":
        chords = AUTUMN.split()
        assert (result["progression"][0], result["progression"][-1]) == (chords[0], chords[-1])  # locked
        assert result["metadata"]["style"] == "bossa-nova"
    else:
        assert result["key"] == "A minor" and result["metadata"]["style"] == "neo-soul"
        bars = bar_numbers(result)
        assert (min(bars), max(bars)) == (1, 8), [s["focus"] for s in result["sections"]]
        assert 8 <= len(result["progression"]) <= 16
    # The orchestration left nothing behind: the durable instance completed with the same document.
    instance = app_host.request("GET", f"{INSTANCES}/{task_id}").json()
    assert instance["runtimeStatus"] == "Completed" and instance["output"] == result


def test_progress_climbs_through_the_search_and_ends_at_one(app_host: HostProcess) -> None:
    task_id = start(app_host, "spice-up", {"progression": AUTUMN, "style": "jazz", "budgetMs": 1500})["taskId"]
    reads = poll(app_host, task_id)
    assert_sane_progress(reads)
    assert reads[-1]["state"] == "Completed" and (reads[-1]["progress"], reads[-1]["stage"]) == (1.0, "completed")
    intermediate = {read["progress"] for read in reads if 0.0 < read["progress"] < 1.0}
    assert len(intermediate) >= 2, [(r["stage"], r["progress"]) for r in reads]
    searching = [read for read in reads if read["stage"] == "searching"]
    assert searching and all(0.15 <= read["progress"] <= 0.85 for read in searching)
    assert any(re.fullmatch(r"search \d+% done", read["statusMessage"]) for read in searching)


def test_same_request_and_seed_give_the_same_result(app_host: HostProcess) -> None:
    body = {"progression": AUTUMN, "style": "gospel", "seed": 42, "budgetMs": 300}
    first, second = (start(app_host, "reharmonize", body)["taskId"] for _ in range(2))
    results = [poll(app_host, task_id)[-1]["result"] for task_id in (first, second)]
    for result in results:
        result["metadata"].pop("createdAt")
    assert results[0] == results[1]


# -- cancel -----------------------------------------------------------------------------------------
def test_cancel_mid_search_stops_the_task_for_good(app_host: HostProcess) -> None:
    task_id = start(app_host, "spice-up", {"progression": LONG, "style": "jazz", "budgetMs": 10_000})["taskId"]
    # Wait until at least one search step is done (progress above the start of the searching band).
    reads = poll(app_host, task_id, stage="searching")
    deadline = time.monotonic() + 20
    while reads[-1]["progress"] <= 0.15 and time.monotonic() < deadline:
        assert reads[-1]["state"] == "Running", reads[-1]
        reads.append(status(app_host, task_id))
    assert reads[-1]["stage"] == "searching" and reads[-1]["progress"] < 0.85

    code, body = cancel(app_host, task_id)
    assert (code, body) == (202, {"taskId": task_id, "state": "Cancelled"})
    view = status(app_host, task_id)
    assert (view["state"], view["stage"], view["result"]) == ("Cancelled", "cancelled", None)
    assert view["statusMessage"] == "cancelled by user"
    events = history(app_host, task_id)
    assert events[-1]["EventType"] == "ExecutionTerminated"

    time.sleep(1.0)  # several search steps' worth: nothing may resume or complete the task
    later = status(app_host, task_id)
    assert (later["state"], later["result"]) == ("Cancelled", None)
    assert history(app_host, task_id) == events  # no step scheduled after the terminate
    assert task_id not in {t["taskId"] for t in active_tasks(app_host)}
    assert cancel(app_host, task_id)[0] == 409


def full_history(host: HostProcess, task_id: str) -> list[dict[str, Any]]:
    """The current execution's history with every input and output: what a replay of it parses."""
    reply = host.request("GET", f"{INSTANCES}/{task_id}?showHistory=true&showHistoryOutput=true&showInput=true")
    assert reply.status in (200, 202), reply.body  # 202 while the instance runs
    events: list[dict[str, Any]] = reply.json()["historyEvents"]
    return events


def execution_number(events: list[dict[str, Any]]) -> int:
    """1 for the first execution of a task, n for its (n-1)th continue-as-new."""
    started = json.loads(events[0]["Input"])
    assert events[0]["EventType"] == "ExecutionStarted"
    return int(started[CONTINUED]["execution"]) if CONTINUED in started else 1


def test_long_search_continues_as_new_and_keeps_each_history_small(app_host: HostProcess) -> None:
    """64 chords and 100 search steps: before continue-as-new the one history grew to ~4.3 MB."""
    body = {"progression": LONGEST, "style": "jazz", "seed": 7, "budgetMs": 60_000}
    task_id = start(app_host, "spice-up", body)["taskId"]
    reads: list[dict[str, Any]] = []
    searching_sizes: dict[int, int] = {}  # execution -> largest history seen while it searched
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        reads.append(status(app_host, task_id))
        if reads[-1]["state"] in FINISHED:
            break
        events = full_history(app_host, task_id)
        if events and not any(e.get("FunctionName") == "agent_voicings" for e in events):
            number = execution_number(events)
            searching_sizes[number] = max(searching_sizes.get(number, 0), len(json.dumps(events)))
        time.sleep(0.01)
    assert_sane_progress(reads)
    done = reads[-1]
    assert done["state"] == "Completed" and (done["progress"], done["stage"]) == (1.0, "completed"), done

    result = done["result"]
    assert set(result) == RESULT_FIELDS and result["warnings"] == []
    assert_chords_parse(result["progression"])
    assert [shape["chord"] for shape in result["voicings"]] == result["progression"]
    # The same document as the whole pipeline run in one go, in-process.
    assert result == agent.run_local("spice-up", body, result["metadata"]["createdAt"])

    events = full_history(app_host, task_id)
    # as the extension shows it, a finished task's TaskScheduled is folded into its TaskCompleted
    names = [e.get("FunctionName") for e in events if e["EventType"] == "TaskCompleted"]
    steps = names.count("agent_search_step")
    assert names == ["agent_search_step"] * steps + ["agent_voicings", "agent_assemble"], names
    assert 1 <= steps <= STEPS_PER_EXECUTION
    last = execution_number(events)
    assert (last - 1) * STEPS_PER_EXECUTION + steps > 20  # many steps, over many executions
    assert len(searching_sizes) >= 3 and max(searching_sizes) <= last
    # Each execution's history holds at most STEPS_PER_EXECUTION steps (~40 KB each at 64 chords, input and
    # output); the last one adds the voicings and the result (the result twice, ~65 KB each).
    assert max(searching_sizes.values()) < 220_000, searching_sizes
    assert len(json.dumps(events)) < 500_000


def test_cancel_in_a_continued_execution_stops_the_task(app_host: HostProcess) -> None:
    task_id = start(app_host, "spice-up", {"progression": LONGEST, "budgetMs": 60_000})["taskId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = full_history(app_host, task_id)
        if events and execution_number(events) >= 2:
            break
        time.sleep(0.005)
    assert status(app_host, task_id)["state"] == "Running"

    assert cancel(app_host, task_id) == (202, {"taskId": task_id, "state": "Cancelled"})
    view = status(app_host, task_id)
    assert (view["state"], view["stage"], view["result"]) == ("Cancelled", "cancelled", None)
    events = history(app_host, task_id)
    assert events[-1]["EventType"] == "ExecutionTerminated"
    time.sleep(1.0)  # several steps' and executions' worth: nothing may continue the task
    assert (status(app_host, task_id)["state"], history(app_host, task_id)) == ("Cancelled", events)
    assert task_id not in {t["taskId"] for t in active_tasks(app_host)}


def test_cancel_of_a_completed_task_is_409_and_keeps_the_result(app_host: HostProcess) -> None:
    task_id = start(app_host, "create", {"key": "G", "bars": 4, "budgetMs": 100})["taskId"]
    result = poll(app_host, task_id)[-1]["result"]
    code, body = cancel(app_host, task_id)
    assert code == 409 and body["error"] == "task already completed"
    message = f"task {task_id!r} is Completed; only Pending or Running tasks can be cancelled"
    assert body["details"] == [{"field": "taskId", "allowed": ["Pending", "Running"], "message": message}]
    view = status(app_host, task_id)
    assert view["state"] == "Completed" and view["result"] == result


def test_cancel_racing_completion_always_agrees_with_the_final_state(app_host: HostProcess) -> None:
    """Tiny tasks cancelled at once: whichever wins, the cancel answer and every later read agree."""
    outcomes = []
    for i in range(12):
        task_id = start(app_host, "spice-up", {"progression": "Dm7 G7 Cmaj7", "budgetMs": 50, "seed": i})["taskId"]
        time.sleep(0.008 * i)  # from at once to after a tiny task's usual ~50 ms run
        code, body = cancel(app_host, task_id)
        final = status(app_host, task_id)["state"]
        if code == 202:
            assert body["state"] == "Cancelled" and final == "Cancelled", (body, final)
        else:
            assert code == 409 and final == "Completed" and body["error"] == "task already completed", (code, body)
        outcomes.append((task_id, final))
    time.sleep(0.3)
    for task_id, final in outcomes:
        assert status(app_host, task_id)["state"] == final


def test_unknown_and_foreign_task_ids_are_404(app_host: HostProcess) -> None:
    for method, path in (("GET", "status"), ("POST", "cancel")):
        reply = app_host.request(method, f"{TASKS}/no-such-task/{path}")
        assert reply.status == 404 and reply.json() == {"error": "task not found", "details": [
            {"field": "taskId", "message": "no such task: 'no-such-task'"}]}
    # An orchestration that is not an agent task is neither visible nor cancellable through these routes.
    foreign = f"foreign-{time.monotonic_ns()}"
    started = app_host.request("POST", f"/runtime/webhooks/durabletask/orchestrators/entity_call/{foreign}",
                               {"entity": "PlayerSession", "key": foreign, "operation": "get"})
    assert started.status == 202, started.body
    assert app_host.request("GET", f"{TASKS}/{foreign}/status").status == 404
    assert app_host.request("POST", f"{TASKS}/{foreign}/cancel").status == 404


def test_bad_task_ids_are_400(app_host: HostProcess) -> None:
    for bad in ("bad%20id!", "x" * 129, "semi%3Bcolon", "%C3%A9t%C3%A9"):
        for method, path in (("GET", "status"), ("POST", "cancel")):
            reply = app_host.request(method, f"{TASKS}/{bad}/{path}")
            assert reply.status == 400, (bad, path, reply.body)
            assert reply.json() == {"error": "invalid taskId", "details": [
                {"field": "taskId", "message": "must be 1-128 characters of A-Z a-z 0-9 . _ : -"}]}


# -- active tasks -----------------------------------------------------------------------------------
def active_tasks(host: HostProcess, top: int = 2) -> list[dict[str, Any]]:
    """Every page of GET /agents/tasks/active, following the continuation token."""
    rows: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100):
        query = f"?top={top}" + (f"&continuationToken={quote(token)}" if token else "")
        reply = host.request("GET", f"{TASKS}/active{query}")
        assert reply.status == 200, reply.body
        page = reply.json()
        assert set(page) == {"tasks", "continuationToken"} and len(page["tasks"]) <= top
        rows.extend(page["tasks"])
        token = page["continuationToken"]
        if token is None:
            return rows
        assert len(page["tasks"]) == top
    raise AssertionError("paging did not end")


def test_active_lists_only_pending_and_running_tasks_with_paging(app_host: HostProcess) -> None:
    finished = start(app_host, "create", {"key": "C", "bars": 4, "budgetMs": 50})["taskId"]
    assert poll(app_host, finished)[-1]["state"] == "Completed"
    running = [start(app_host, task, body)["taskId"] for task, body in (
        ("spice-up", {"progression": LONG, "budgetMs": 20_000}),
        ("reharmonize", {"progression": LONG, "budgetMs": 20_000}),
        ("create", {"key": "D minor", "bars": 32, "budgetMs": 20_000}),
    )]
    try:
        rows = active_tasks(app_host, top=2)
        ids = [row["taskId"] for row in rows]
        assert len(ids) == len(set(ids)), "a task appeared on two pages"
        assert set(running) <= set(ids) and finished not in ids
        # Oldest first; createdTime has whole seconds (as on Azure), so ties are ordered by id.
        assert rows == sorted(rows, key=lambda row: (row["createdTime"], row["taskId"]))
        for row in rows:
            assert set(row) == {"taskId", "type", "state", "progress", "createdTime"}
            assert row["state"] in ("Pending", "Running") and 0.0 <= row["progress"] < 1.0
        types = {row["taskId"]: row["type"] for row in rows}
        assert [types[task_id] for task_id in running] == ["spice-up", "reharmonize", "create"]
    finally:
        for task_id in running:
            cancel(app_host, task_id)
    assert not set(running) & {row["taskId"] for row in active_tasks(app_host, top=100)}
    for query in ("top=0", "top=101", "top=x", "top=-1", "continuationToken=%25%25%25", "continuationToken=e30"):
        reply = app_host.request("GET", f"{TASKS}/active?{query}")
        assert reply.status == 400, (query, reply.body)
        assert set(reply.json()) == {"error", "details"}


# -- bad input --------------------------------------------------------------------------------------
def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


# (case, task, raw body, status, fields named in details, text in error)
BAD_REQUESTS: list[tuple[str, str, bytes, int, set[str], str]] = [
    ("malformed JSON", "spice-up", b'{"progression": ', 400, {"(body)"}, "malformed JSON"),
    ("empty body", "create", b"", 400, {"(body)"}, "empty"),
    ("not an object", "reharmonize", b'["Dm7", "G7"]', 400, {"(body)"}, "JSON object"),
    ("oversized body", "spice-up", raw({"progression": "Dm7 G7", "pad": "x" * 70_000}), 413, {"(body)"},
     "too large"),
    ("unknown fields", "spice-up", raw({"progression": "Dm7 G7", "colour": "blue", "tempo": 90}), 400,
     {"colour", "tempo"}, "colour: is not a field of this request"),
    ("unknown field beside an invalid one", "create", raw({"key": "H major", "genere": "jazz"}), 400,
     {"key", "genere"}, "genere"),
    ("progression is a number", "spice-up", raw({"progression": 42}), 400, {"progression"}, "progression"),
    ("chord is a number", "reharmonize", raw({"progression": ["Dm7", 7, "Cmaj7"]}), 400, {"progression[1]"},
     "progression[1]"),
    ("missing progression", "spice-up", raw({"style": "jazz"}), 400, {"progression"}, "progression"),
    ("budgetMs is a string", "spice-up", raw({"progression": "Dm7 G7", "budgetMs": "fast"}), 400, {"budgetMs"},
     "budgetMs"),
    ("budgetMs is a boolean", "create", raw({"key": "C", "budgetMs": True}), 400, {"budgetMs"}, "budgetMs"),
    ("flag is a string", "spice-up", raw({"progression": "Dm7 G7", "preserveCadence": "yes"}), 400,
     {"preserveCadence"}, "preserveCadence"),
    ("bars is a string", "create", raw({"key": "C", "bars": "8"}), 400, {"bars"}, "bars"),
    ("seed is negative", "create", raw({"key": "C", "seed": -1}), 400, {"seed"}, "seed"),
    ("unknown style", "spice-up", raw({"progression": "Dm7 G7", "style": "polka"}), 400, {"style"}, "'polka'"),
    ("unknown genre", "create", raw({"key": "C", "genre": "polka"}), 400, {"genre"}, "'polka'"),
    ("unknown key", "spice-up", raw({"progression": "Dm7 G7", "key": "H major"}), 400, {"key"}, "'H major'"),
    ("missing key", "create", raw({"bars": 8}), 400, {"key"}, "key"),
    ("unknown skill level", "create", raw({"key": "C", "skillLevel": "wizard"}), 400, {"skillLevel"}, "'wizard'"),
    ("unparseable chord", "spice-up", raw({"progression": "Dm7 X9 Cmaj7"}), 400, {"progression[1]"}, "'X9'"),
    ("unparseable chord in a list", "reharmonize", raw({"progression": ["Dm7", "G7", "Hmaj7"]}), 400,
     {"progression[2]"}, "'Hmaj7'"),
    ("one chord", "spice-up", raw({"progression": "Cmaj7"}), 400, {"progression"}, "got 1"),
    ("65 chords", "reharmonize", raw({"progression": ["C"] * 65}), 400, {"progression"}, "got 65"),
    ("notes of 2001 characters", "spice-up", raw({"progression": "Dm7 G7", "notes": "n" * 2001}), 400, {"notes"},
     "notes"),
    ("3 bars", "create", raw({"key": "C", "bars": 3}), 400, {"bars"}, "bars"),
    ("33 bars", "create", raw({"key": "C", "bars": 33}), 400, {"bars"}, "bars"),
    ("budgetMs 49", "spice-up", raw({"progression": "Dm7 G7", "budgetMs": 49}), 400, {"budgetMs"}, "budgetMs"),
    ("budgetMs 60001", "reharmonize", raw({"progression": "Dm7 G7", "budgetMs": 60_001}), 400, {"budgetMs"},
     "budgetMs"),
    ("every field wrong at once", "spice-up",
     raw({"progression": "Dm7 X9", "style": "polka", "budgetMs": 0, "notes": 5}), 400,
     {"progression[1]", "style", "budgetMs", "notes"}, "progression[1]"),
]


@pytest.mark.parametrize(("case", "task", "body", "code", "fields", "text"), BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests_are_rejected_and_start_nothing(app_host: HostProcess, case: str, task: str, body: bytes,
                                                     code: int, fields: set[str], text: str) -> None:
    before = agent_instances(app_host)
    reply = app_host.request("POST", f"{TASKS}/{task}", raw=body)
    assert reply.status == code, (case, reply.body)
    answer = reply.json()
    assert set(answer) == {"error", "details"} and text in answer["error"], answer
    if fields:
        assert {detail["field"] for detail in answer["details"]} == fields, answer
        assert all(detail["message"] for detail in answer["details"])
    if case in ("unknown style", "unknown genre"):
        assert "neo-soul" in answer["details"][0]["allowed"]
    if case == "unknown fields":
        assert "progression" in answer["details"][0]["allowed"]
    assert agent_instances(app_host) == before


def test_every_documented_field_is_accepted_together(app_host: HostProcess) -> None:
    """The OpenAPI document is the list of known fields: a body using all of them is not rejected."""
    body = {"progression": "Dm7 G7 Cmaj7", "key": "C major", "style": "jazz", "notes": "n", "budgetMs": 100,
            "seed": 3, "favorCloseVoicings": False, "mood": "warm", "preserveCadence": True}
    task_id = start(app_host, "spice-up", body)["taskId"]
    result = poll(app_host, task_id)[-1]["result"]
    assert result["warnings"] == []


# -- deadline ---------------------------------------------------------------------------------------
def test_task_past_its_deadline_completes_with_a_partial_result(tmp_path: Path) -> None:
    """budgetMs 1000 + AGENT_TASK_GRACE_S 1 gives a 2 s deadline; the task is suspended past it, then resumed.

    (Suspension stands for anything that holds the task up: a host that was down, a starved worker.)
    """
    host = HostProcess(ROOT, tmp_path / "grace", env={"AGENT_TASK_GRACE_S": "1"}).start()
    try:
        task_id = start(host, "reharmonize", {"progression": LONG, "budgetMs": 1000})["taskId"]
        assert host.request("POST", f"{INSTANCES}/{task_id}/suspend?reason=hold").status == 202
        assert status(host, task_id)["state"] == "Running"  # a suspended task reads as running
        time.sleep(2.3)
        assert host.request("POST", f"{INSTANCES}/{task_id}/resume?reason=go").status == 202
        view = poll(host, task_id)[-1]
        assert view["state"] == "Completed", view
        assert view["errorMessage"] is None and view["result"]["partial"] is True
        assert any("ran out of time after 2 s" in w for w in view["result"]["warnings"]), view["result"]["warnings"]
        assert len(view["result"]["voicings"]) == len(view["result"]["progression"])
        assert cancel(host, task_id)[0] == 409
        # A task within its deadline on the same host still completes.
        ok = start(host, "spice-up", {"progression": II_V_I, "budgetMs": 200})["taskId"]
        assert poll(host, ok)[-1]["state"] == "Completed"
    finally:
        host.stop()


# -- the LLM path, against a fake OpenAI-compatible server ------------------------------------------
API_KEY = "sk-e2e-NEVER-SHOW-4242"


class FakeLlm:
    """An OpenAI-compatible chat endpoint on 127.0.0.1, served by its own event loop in a thread.

    The answer depends on the marker in the task's notes (`llm:good`, `llm:bad-json`, `llm:slow`), so
    one host can run every case; `requests` records (marker, Authorization header, model) per call.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-llm", daemon=True)
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        marker = re.search(r"llm:([a-z-]+)", body["messages"][-1]["content"])
        mode = marker.group(1) if marker else "good"
        self.requests.append((mode, request.headers.get("Authorization", ""), body["model"]))
        if mode == "bad-json":
            content = "Sure! Here are some chords: Cm7, F7 {"
        else:
            if mode == "slow":
                await asyncio.sleep(3)  # LLM_TIMEOUT_S is 1
            content = json.dumps(GOOD_PLAN)
        return web.json_response({"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": content}}]})

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(self.runner.addresses[0][1])

    def start(self) -> str:
        self.thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[tuple[FakeLlm, str]]:
    fake = FakeLlm()
    base = fake.start()
    yield fake, base
    fake.stop()


@pytest.fixture(scope="module")
def llm_host(fake_llm: tuple[FakeLlm, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The app with an LLM configured; DEBUG logging so the key check covers every log line."""
    env = {"LLM_BASE_URL": fake_llm[1], "LLM_MODEL": "fake-model", "LLM_API_KEY": API_KEY, "LLM_TIMEOUT_S": "1"}
    host = HostProcess(ROOT, tmp_path_factory.mktemp("llm"), env=env, args=["--log-level", "DEBUG"]).start()
    yield host
    host.stop()


def assert_no_key(host: HostProcess, *documents: Any) -> None:
    for document in documents:
        assert API_KEY not in json.dumps(document)
    log = host.log_path.read_text(errors="replace")
    assert log and API_KEY not in log
    assert API_KEY[4:] not in log  # not even without its prefix


LLM_CASES = [
    ("good", None),
    ("bad-json", "LLM plan not used (the LLM answer is not valid JSON); the rule engine produced this result."),
    ("slow", "LLM plan not used (the LLM did not answer within 1 s); the rule engine produced this result."),
]


@pytest.mark.parametrize(("mode", "warning"), LLM_CASES, ids=[case[0] for case in LLM_CASES])
def test_llm_plan_is_used_or_falls_back_with_a_warning(llm_host: HostProcess, fake_llm: tuple[FakeLlm, str],
                                                       mode: str, warning: str | None) -> None:
    fake = fake_llm[0]
    calls = len(fake.requests)
    body = {"progression": AUTUMN, "style": "bossa nova", "budgetMs": 300, "notes": f"llm:{mode}"}
    task_id = start(llm_host, "spice-up", body)["taskId"]
    reads = poll(llm_host, task_id)
    assert_sane_progress(reads)
    done = reads[-1]
    assert done["state"] == "Completed", done
    result = done["result"]
    assert_chords_parse(result["progression"])
    assert fake.requests[calls:] == [(mode, f"Bearer {API_KEY}", "fake-model")]  # one call, key in the header
    assert done["llm"] == {"breaker": "closed", "called": True}  # one slow call is no reason to open the breaker
    if warning is None:
        assert result["progression"] == GOOD_PLAN["progression"]
        assert result["title"] == GOOD_PLAN["title"] and result["summary"] == GOOD_PLAN["summary"]
        assert result["metadata"]["source"] == "llm" and result["metadata"]["engine"].endswith(" + llm:fake-model")
        assert "Keep the thumb relaxed." in json.dumps(result["sections"])
        assert result["warnings"] == []
    else:
        assert result["metadata"]["source"] == "engine" and "llm" not in result["metadata"]["engine"]
        assert result["warnings"] == [warning]
        assert result["progression"] != GOOD_PLAN["progression"]
    assert_no_key(llm_host, *reads)


def test_cancel_while_waiting_for_the_llm(llm_host: HostProcess, fake_llm: tuple[FakeLlm, str]) -> None:
    fake = fake_llm[0]
    calls = len(fake.requests)
    body = {"progression": AUTUMN, "budgetMs": 300, "notes": "llm:slow"}
    task_id = start(llm_host, "reharmonize", body)["taskId"]
    reads = poll(llm_host, task_id, stage="consulting-llm")
    assert reads[-1]["progress"] == 0.1
    assert cancel(llm_host, task_id) == (202, {"taskId": task_id, "state": "Cancelled"})
    time.sleep(1.5)  # past LLM_TIMEOUT_S: the abandoned call must not revive the task
    view = status(llm_host, task_id)
    assert (view["state"], view["result"]) == ("Cancelled", None)
    assert [mode for mode, _, _ in fake.requests[calls:]] == ["slow"]
    assert_no_key(llm_host, *reads, view)
