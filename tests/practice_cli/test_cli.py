"""The `practice` client through a real host running the app: tasks watched to 100 %, results, attempts, errors.

Each test runs the client as its own process (`python -m practice_cli`) against funchost on loopback with
the project's function_app.py, captures what it printed, and checks it against the API's own answers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from tests.hostproc import ROOT, HostProcess, free_port
from tests.practice_cli.terminal import diagrams, practice, progress_percentages

II_V_I = "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7"
AUTUMN = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
ACCEPTED = re.compile(r"^(spice-up|reharmonize|create) task ([0-9a-f]{32}) accepted", re.MULTILINE)


def accepted(out: str) -> tuple[str, str]:
    """The task type and id from the client's "<type> task <id> accepted" line."""
    match = ACCEPTED.search(out)
    assert match, out
    return match.group(1), match.group(2)


def task_status(host: HostProcess, task_id: str) -> dict[str, Any]:
    reply = host.request("GET", f"/api/agents/tasks/{task_id}/status")
    assert reply.status == 200, reply.body
    view: dict[str, Any] = reply.json()
    return view


def assert_result_printed(out: str, result: dict[str, Any]) -> None:
    """The table has a row per chord in order with its roman numeral, every change is explained, and each
    fretboard diagram shows exactly the frets of the answer's voicing for that chord."""
    rows = [line for line in out.splitlines() if re.match(r"^\s+(\S+\s+)?\d+\s+\S+\s+\S+", line)]
    for index, (chord, info) in enumerate(zip(result["progression"], result["analysis"], strict=True)):
        pattern = rf"\s{index + 1}\s+{re.escape(chord)}\s+{re.escape(info['roman'])}\s"
        assert any(re.search(pattern, row) for row in rows), (index, chord, out)
    flat = " ".join(out.split())
    for change in result["changes"]:
        source = f"was {change['from']}" if change["from"] is not None else "added"
        assert f"{source} · {change['rule']}" in flat, change
        assert change["explanation"][:60] in out, change  # the first line of the explanation, unwrapped
    drawn = diagrams(out)
    assert drawn == [(v["chord"], v["frets"]) for v in result["voicings"]], drawn


def test_spice_up_is_watched_to_100_percent_and_its_result_drawn(app_host: HostProcess) -> None:
    run = practice(app_host.base, "spice-up", II_V_I, "--style", "jazz", "--budget-ms", "400")
    assert run.code == 0, run.err
    kind, task_id = accepted(run.out)
    assert kind == "spice-up"
    # Output that is not a terminal gets the bar once, as it ended.
    assert re.search(rf"spice-up {task_id[:8]} ━+ 100% done", run.out), run.out
    view = task_status(app_host, task_id)
    assert view["state"] == "Completed"
    result = view["result"]
    assert result["changes"], "a jazz spice-up of plain sevenths changes something"
    assert result["title"] in run.out and result["summary"][:60] in run.out
    assert_result_printed(run.out, result)
    # The bars column: section "Bars 1-4" labels its first chord.
    first_focus = result["sections"][0]["focus"].split(":")[0].removeprefix("Bars ").removeprefix("Bar ")
    assert re.search(rf"^\s+{re.escape(first_focus)}\s+1\s+{re.escape(result['progression'][0])}\s", run.out,
                     re.MULTILINE)


def test_the_bar_climbs_on_a_terminal_and_ends_at_100(app_host: HostProcess) -> None:
    run = practice(app_host.base, "reharmonize", AUTUMN, "--style", "bossa nova", "--budget-ms", "1500",
                   tty=True, columns=100)
    assert run.code == 0, run.err
    seen = progress_percentages(run.out)
    assert seen == sorted(seen) and seen[-1] == 100, seen
    assert len({value for value in seen if 0 < value < 100}) >= 1, seen  # drawn during the search
    task_id = accepted(run.out)[1]
    assert diagrams(run.out) == [(v["chord"], v["frets"]) for v in task_status(app_host, task_id)["result"]["voicings"]]


def test_json_output_is_the_finished_task(app_host: HostProcess) -> None:
    run = practice(app_host.base, "--json", "create", "A minor", "--style", "neo-soul", "--bars", "8",
                   "--budget-ms", "300", "--seed", "7")
    assert run.code == 0, run.err
    view = json.loads(run.out)  # nothing but the document on stdout
    assert view["state"] == "Completed" and view["progress"] == 1.0 and view["type"] == "create"
    assert view == task_status(app_host, view["taskId"])
    assert "━" not in run.err  # no bar when stderr is not a terminal either


def test_no_wait_then_watch_by_polling_the_status(app_host: HostProcess) -> None:
    started = practice(app_host.base, "--json", "spice-up", AUTUMN, "--budget-ms", "800", "--no-wait")
    assert started.code == 0, started.err
    answer = json.loads(started.out)
    assert answer["type"] == "spice-up" and answer["statusUrl"].endswith(f"/{answer['taskId']}/status")
    run = practice(app_host.base, "watch", answer["taskId"], "--poll")
    assert run.code == 0, run.err
    assert re.search(rf"spice-up {answer['taskId'][:8]} ━+ 100% done", run.out), run.out
    assert_result_printed(run.out, task_status(app_host, answer["taskId"])["result"])
    once = practice(app_host.base, "status", answer["taskId"])
    assert once.code == 0 and once.out.startswith(f"task {answer['taskId']} (spice-up): Completed, 100 %, completed")


def test_a_cancelled_task_is_watched_to_its_end_and_exits_1(app_host: HostProcess) -> None:
    started = practice(app_host.base, "--json", "spice-up", f"{AUTUMN} {AUTUMN}", "--budget-ms", "20000",
                       "--no-wait")
    task_id = json.loads(started.out)["taskId"]
    cancelled = practice(app_host.base, "cancel", task_id)
    assert (cancelled.code, cancelled.out.strip()) == (0, f"task {task_id}: Cancelled"), cancelled.err
    run = practice(app_host.base, "watch", task_id)
    assert run.code == 1
    assert run.err.strip() == f"practice: error: task {task_id} cancelled"
    again = practice(app_host.base, "cancel", task_id)
    assert again.code == 1 and "409" in again.err and "Pending, Running" in again.err


def test_attempts_are_recorded_and_stats_shown(app_host: HostProcess) -> None:
    player = "cli-stats-player"
    attempts = [("Cmaj7-drop2", "--success", "1800"), ("G7", "--failure", "2500"), ("G7", "--success", "2100")]
    for number, (shape, outcome, time_ms) in enumerate(attempts, start=1):
        run = practice(app_host.base, "record", player, shape, outcome, "--time-ms", time_ms)
        assert run.code == 0, run.err
        assert run.out.startswith(f"{player}: attempt {number} recorded"), run.out
    stats = app_host.request("GET", f"/api/adaptive-ai/player-stats/{player}").json()
    advice = app_host.request("GET", f"/api/adaptive-ai/recommended-exercise/{player}").json()
    assert stats["totalAttempts"] == 3

    run = practice(app_host.base, "--json", "stats", player)
    assert run.code == 0 and json.loads(run.out) == {"stats": stats, "recommendation": advice}

    run = practice(app_host.base, "stats", player)
    assert run.code == 0, run.err
    assert re.search(r"attempts\s+3\b", run.out) and re.search(r"successes\s+2\b", run.out)
    assert re.search(r"success rate\s+66\.7 %", run.out)
    assert re.search(r"G7\s+2\s+1\s+0\.5\s+2300\s+2100", run.out), run.out
    assert re.search(r"Cmaj7-drop2\s+1\s+1\s+0\.6667\s+1800\s+1800", run.out), run.out
    assert advice["exercise"] in run.out
    flat = " ".join(run.out.replace("│", " ").split())
    for item in advice["parameters"]["focus"]:
        assert item["reason"] in flat, item


def test_follow_prints_each_difficulty_update(app_host: HostProcess) -> None:
    player = "cli-follow-player"
    first = practice(app_host.base, "--json", "record", player, "Am7", "--success", "--time-ms", "1500")
    follower = subprocess.Popen([sys.executable, "-m", "practice_cli", "--url", app_host.base, "--json", "follow",
                                 player, "--count", "2"], cwd=str(ROOT), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        latest = json.loads(follower.stdout.readline())  # a first connection gets the latest update
        second = practice(app_host.base, "--json", "record", player, "Am7", "--failure", "--time-ms", "2500")
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    update = json.loads(out)
    assert (latest["event"], latest["data"]["seq"], update["data"]["seq"]) == ("difficulty", 1, 2)
    assert latest["data"]["currentDifficulty"] == json.loads(first.out)["currentDifficulty"]
    assert update["data"]["currentDifficulty"] == json.loads(second.out)["currentDifficulty"]
    assert update["data"]["reason"] == json.loads(second.out)["reason"]

    human = practice(app_host.base, "follow", player, "--count", "1")
    assert human.code == 0, human.err
    figures = update["data"]
    assert f"#2 attempt: difficulty {figures['previousDifficulty']} -> {figures['currentDifficulty']}" in human.out
    assert figures["reason"] in " ".join(human.out.split())


# -- errors: one line, the API's message, exit 1 (refused) or 2 (unreachable) ------------------------------
def test_a_bad_progression_prints_the_apis_message_and_exits_1(app_host: HostProcess) -> None:
    body = {"progression": "Dm7 Hxx7 Cmaj7"}
    expected = app_host.request("POST", "/api/agents/tasks/spice-up", body).json()
    run = practice(app_host.base, "spice-up", "Dm7", "Hxx7", "Cmaj7")
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines() == [f"practice: error: 400: {expected['error']}"]
    assert "Traceback" not in run.err

    as_json = practice(app_host.base, "--json", "spice-up", "Dm7 Hxx7 Cmaj7")
    assert as_json.code == 1 and json.loads(as_json.out) == expected


def test_allowed_values_and_not_found_are_spelled_out(app_host: HostProcess) -> None:
    run = practice(app_host.base, "spice-up", "Dm7 G7", "--style", "metal")
    assert run.code == 1
    assert run.err.strip() == ("practice: error: 400: invalid request: style: unknown style 'metal' "
                               "(style allowed: blues, bossa-nova, gospel, jazz, neo-soul, pop)")
    run = practice(app_host.base, "stats", "nobody-here")
    assert (run.code, run.err.strip()) == (1, "practice: error: 404: player not found; playerId: no such player: "
                                              "'nobody-here'")
    run = practice(app_host.base, "watch", "no-such-task")
    assert run.code == 1 and run.out == "" and "no such task: 'no-such-task'" in run.err
    run = practice(app_host.base, "record", "ana", "C", "--success", "--time-ms", "0")
    assert run.code == 1 and "timeMs: must be > 0" in run.err


def test_a_host_that_is_down_is_one_line_and_exit_2() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (["stats", "ana"], ["spice-up", "Dm7 G7"], ["watch", "abc"], ["follow", "ana"]):
        run = practice(url, *args)
        assert run.code == 2, (args, run.err)
        lines = run.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"practice: error: cannot reach {url}: "), run.err
        assert "refused" in lines[0].lower() and run.out == ""
    run = practice(url, "--json", "stats", "ana")
    assert run.code == 2 and json.loads(run.out)["error"].startswith(f"cannot reach {url}")


def test_follow_passes_a_session_reset_through(app_host: HostProcess) -> None:
    player = "cli-reset-player"
    assert practice(app_host.base, "record", player, "E", "--success", "--time-ms", "900").code == 0
    follower = subprocess.Popen([sys.executable, "-m", "practice_cli", "--url", app_host.base, "--json", "follow",
                                 player, "--count", "2"], cwd=str(ROOT), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        latest = json.loads(follower.stdout.readline())
        assert app_host.request("POST", f"/api/adaptive-ai/reset-session/{player}").status == 200
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    reset = json.loads(out)
    assert (latest["event"], reset["event"], reset["data"]["playerId"]) == ("difficulty", "reset", player)
    assert reset["data"]["previousSessionStartedAtMs"] == latest["data"]["sessionStartedAtMs"]
