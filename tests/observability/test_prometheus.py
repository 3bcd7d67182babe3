"""The project app on a real funchost, scraped every second by a real Prometheus during a known workload.

The workload: 6 attempts (4 successes) and 2 performance reports for two players, two reads; agent
tasks A (create) and B (spice-up) that complete, E (create, started through the management API with
an invalid request) that fails, C (reharmonize) cancelled while it waits for the (fake) LLM, and D
(create) held at the LLM while every dashboard query is evaluated, then released to complete.
Afterwards the host's own `/metrics` must show exactly these counts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.hostproc import ROOT, HostProcess
from tests.observability.exposition import Exposition, dashboard_queries, resolve_grafana_variables
from tests.observability.fake_llm import HOLD_MARKER, FakeLlm
from tests.observability.promserver import PrometheusProcess, prometheus_binary

PLAYERS = [f"player-{uuid.uuid4().hex[:12]}", f"p.{uuid.uuid4().hex[:10]}"]
ATTEMPTS = [(PLAYERS[0], True), (PLAYERS[0], True), (PLAYERS[0], False),
            (PLAYERS[1], True), (PLAYERS[1], False), (PLAYERS[1], True)]
REPORTS = PLAYERS
TERMINAL = ("Completed", "Failed", "Cancelled")


@dataclass
class Observed:
    host: HostProcess
    prometheus: PrometheusProcess
    eval_at: float
    final: Exposition
    task_ids: dict[str, str] = field(default_factory=dict)


def _post_ok(host: HostProcess, path: str, body: Any, status: int = 200) -> Any:
    reply = host.request("POST", path, body)
    assert reply.status == status, f"POST {path} -> {reply.status}: {reply.body[:500]!r}"
    return reply.json()


def _task_status(host: HostProcess, task_id: str) -> dict[str, Any]:
    reply = host.request("GET", f"/api/agents/tasks/{task_id}/status")
    assert reply.status == 200, reply.body[:300]
    doc: dict[str, Any] = reply.json()
    return doc


def _wait_task(host: HostProcess, task_id: str, *, state: tuple[str, ...] = TERMINAL, stage: str | None = None,
               timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        doc = _task_status(host, task_id)
        if doc["state"] in state and (stage is None or doc["stage"] == stage):
            return doc
        time.sleep(0.03)
    raise AssertionError(f"task {task_id} did not reach {state}/{stage}: {doc}")


def _wait_idle(host: HostProcess, timeout: float = 20.0) -> Exposition:
    deadline = time.monotonic() + timeout
    while True:
        scraped = Exposition.scrape(host)
        busy = scraped.value("funchost_orchestrations_running") + scraped.value("funchost_work_items_pending")
        if busy == 0 or time.monotonic() > deadline:
            return scraped
        time.sleep(0.05)


def _run_players(host: HostProcess) -> None:
    for player, success in ATTEMPTS:
        _post_ok(host, "/api/adaptive-ai/record-performance",
                 {"playerId": player, "success": success, "timeMs": 1500, "attempts": 1, "shapeId": "E-major"})
    for player in REPORTS:
        _post_ok(host, "/api/adaptive-ai/update-performance",
                 {"playerId": player, "accuracy": 0.8, "speed": 0.6, "consistency": 0.7, "context": "scales"})
    assert host.request("GET", f"/api/adaptive-ai/difficulty/{PLAYERS[0]}").status == 200
    assert host.request("GET", f"/api/adaptive-ai/player-stats/never-{uuid.uuid4().hex[:8]}").status == 404


def _start(host: HostProcess, kind: str, body: dict[str, Any]) -> str:
    task_id: str = _post_ok(host, f"/api/agents/tasks/{kind}", body, status=202)["taskId"]
    return task_id


def _run_agent_tasks(host: HostProcess, prometheus: PrometheusProcess, llm: FakeLlm) -> tuple[dict[str, str], float]:
    """A, B complete; E fails; C is cancelled at the LLM; D is held there while the evaluation time is chosen."""
    ids = {"A": _start(host, "create", {"key": "C", "budgetMs": 300}),
           "B": _start(host, "spice-up", {"progression": "Dm7 G7 Cmaj7", "budgetMs": 300})}
    # E: started behind the routes' back with a request they would have refused, so it fails in agent_prepare.
    reply = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/agent_create",
                         {"type": "create", "request": {"key": "Q##", "budgetMs": 300}})
    assert reply.status == 202, reply.body[:300]
    ids["E"] = reply.json()["id"]
    for name in ("A", "B"):
        assert _wait_task(host, ids[name])["state"] == "Completed"
    assert "invalid request" in str(_wait_task(host, ids["E"])["errorMessage"])
    ids["C"] = _start(host, "reharmonize", {"progression": "C Am F G", "budgetMs": 300, "notes": HOLD_MARKER})
    _wait_task(host, ids["C"], state=("Running",), stage="consulting-llm")
    assert host.request("POST", f"/api/agents/tasks/{ids['C']}/cancel").status == 202
    ids["D"] = _start(host, "create", {"key": "G", "budgetMs": 300, "notes": HOLD_MARKER})
    _wait_task(host, ids["D"], state=("Running",), stage="consulting-llm")
    prometheus.wait_for("ga_agent_task_progress_ratio")
    prometheus.wait_for("ga_agent_task_cancel_latency_seconds_count")
    time.sleep(2.5)  # two more scrapes: every counter series now has enough samples for rate()
    eval_at = time.time()
    assert _task_status(host, ids["D"])["state"] == "Running"
    return ids, eval_at


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    prometheus_binary()
    base = tmp_path_factory.mktemp("observed")
    llm = FakeLlm().start()
    host = HostProcess(ROOT, base / "host", env={
        "LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake", "LLM_TIMEOUT_S": "60", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "FUNCHOST_TELEMETRY": "1"})
    prometheus = PrometheusProcess(f"127.0.0.1:{host.port}", base / "prometheus")
    try:
        host.start()
        prometheus.start()
        prometheus.wait_for('up{job="funchost"} == 1')
        _run_players(host)
        task_ids, eval_at = _run_agent_tasks(host, prometheus, llm)
        llm.release()
        assert _wait_task(host, task_ids["D"])["state"] == "Completed"
        final = _wait_idle(host)
        yield Observed(host, prometheus, eval_at, final, task_ids)
    finally:
        llm.stop()
        prometheus.stop()
        host.stop()


def test_every_dashboard_query_returns_data_from_prometheus(observed: Observed) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 40, "the four dashboards should have their panels"
    empty = []
    for file, panel, expr in queries:
        resolved = resolve_grafana_variables(expr)
        assert "$" not in resolved, f"{file} / {panel}: unresolved Grafana variable in {expr!r}"
        if not observed.prometheus.query(resolved, at=observed.eval_at)["result"]:
            empty.append(f"{file} / {panel}: {expr}")
    assert not empty, "queries with no data:\n" + "\n".join(empty)


def test_prometheus_saw_the_held_task_running_with_its_progress(observed: Observed) -> None:
    running = observed.prometheus.query("sum by (task_type) (ga_agent_tasks_running)", at=observed.eval_at)
    by_type = {r["metric"]["task_type"]: float(r["value"][1]) for r in running["result"]}
    assert by_type == {"create": 1.0, "spice-up": 0.0, "reharmonize": 0.0}
    progress = observed.prometheus.query("ga_agent_task_progress_ratio", at=observed.eval_at)["result"]
    assert [float(r["value"][1]) for r in progress] == [pytest.approx(0.1)]  # consulting-llm stage


def test_app_counters_are_exact_after_the_workload(observed: Observed) -> None:
    m = observed.final
    successes = sum(1 for _, ok in ATTEMPTS if ok)
    assert m.value("ga_player_attempts_total", result="success") == successes
    assert m.value("ga_player_attempts_total", result="failure") == len(ATTEMPTS) - successes
    assert {s.labels["task_type"]: s.value for s in m.find("ga_agent_tasks_started_total")} == {
        "create": 3, "spice-up": 1, "reharmonize": 1}
    assert {(s.labels["task_type"], s.labels["outcome"]): s.value for s in m.find("ga_agent_tasks_finished_total")} == {
        ("create", "completed"): 2, ("create", "failed"): 1, ("spice-up", "completed"): 1,
        ("reharmonize", "cancelled"): 1}
    assert {s.labels["task_type"]: s.value for s in m.find("ga_agent_tasks_running")} == {
        "create": 0, "spice-up": 0, "reharmonize": 0}
    assert not m.find("ga_agent_task_progress_ratio"), "no task runs, so there is no mean progress"


def test_host_counters_are_exact_after_the_workload(observed: Observed) -> None:
    m = observed.final
    assert m.value("funchost_entity_operations_total", entity="playersession", operation="record_attempt",
                   outcome="completed") == len(ATTEMPTS)
    assert m.value("funchost_entity_operations_total", entity="playersession", operation="update_performance",
                   outcome="completed") == len(REPORTS)
    assert m.value("funchost_entity_operations_total", outcome="failed") == 0
    assert m.value("funchost_entity_batch_size_count", entity="playersession") <= len(ATTEMPTS) + len(REPORTS)
    assert m.value("funchost_orchestrations_started_total", orchestrator="agent_create") == 3
    finished = "funchost_orchestrations_finished_total"
    assert m.value(finished, orchestrator="agent_create", status="completed") == 2
    assert m.value(finished, orchestrator="agent_create", status="failed") == 1
    assert m.value(finished, orchestrator="agent_reharmonize", status="terminated") == 1
    assert not m.find("funchost_orchestrations_completed_total"), "the misnamed family is gone"
    assert m.value("funchost_orchestrations_running") == 0
    assert m.value("funchost_entity_mailbox_depth") == 0


def test_histogram_counts_match_the_operations(observed: Observed) -> None:
    m = observed.final
    writes = len(ATTEMPTS) + len(REPORTS)
    assert m.value("ga_player_difficulty_ratio_count") == writes
    difficulty = m.value("ga_player_difficulty_ratio_sum")
    assert 0.05 * writes <= difficulty <= 0.95 * writes  # difficulty lives in [0.05, 0.95]
    for histogram in ("funchost_entity_operation_duration_seconds_count", "funchost_entity_queue_wait_seconds_count",
                      "funchost_entity_batch_size_sum", "funchost_entity_mailbox_enqueue_depth_count"):
        assert m.value(histogram, entity="playersession") == writes, histogram
    route = "/api/adaptive-ai/record-performance"
    assert m.value("http_server_request_duration_seconds_count", http_route=route, http_request_method="POST",
                   http_response_status_code="200") == len(ATTEMPTS)
    assert m.value("http_server_request_duration_seconds_count", http_route="/api/adaptive-ai/player-stats/{playerId}",
                   http_response_status_code="404") == 1
    assert m.value("ga_agent_task_duration_seconds_count", task_type="create", outcome="completed") == 2
    assert m.value("ga_agent_task_duration_seconds_count", task_type="reharmonize", outcome="cancelled") == 1
    assert m.value("ga_agent_task_cancel_latency_seconds_count") == 1
    assert m.value("ga_agent_task_duration_seconds_count", task_type="create", outcome="failed") == 1
    # every task got a slot (8 of them), E too before it failed in agent_prepare
    assert {s.labels["task_type"]: s.value for s in m.find("ga_agent_task_queue_wait_seconds_count")} == {
        "create": 3, "spice-up": 1, "reharmonize": 1}
    assert m.value("ga_agent_tasks_queued") == 0 and m.value("ga_agent_tasks_past_deadline") == 0
    activities = "funchost_activity_duration_seconds_count"
    assert m.value(activities, activity="agent_prepare", outcome="completed") == 5
    for activity in ("agent_voicings", "agent_assemble"):
        assert m.value(activities, activity=activity, outcome="completed") == 3, activity


def test_histogram_buckets_are_cumulative_and_end_at_the_count(observed: Observed) -> None:
    m = observed.final
    histograms = [name for name, kind in m.types.items() if kind == "histogram"]
    expected = {"ga_player_difficulty_ratio", "ga_agent_task_duration_seconds", "funchost_entity_batch_size"}
    assert expected <= set(histograms)
    for name in histograms:
        for count in m.find(f"{name}_count"):
            buckets = [s for s in m.find(f"{name}_bucket", **count.labels)]
            values = [s.value for s in sorted(buckets, key=lambda s: float(s.labels["le"]))]
            assert values == sorted(values), f"{name}{count.labels}: buckets not cumulative"
            assert values[-1] == count.value, f"{name}{count.labels}: +Inf bucket != count"


ID_SHAPES = {
    "uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    "hex id": re.compile(r"[0-9a-fA-F]{12,}"),
    "entity id": re.compile(r"@\w+@"),
}


def test_no_label_value_is_an_id(observed: Observed) -> None:
    known_ids = [*PLAYERS, *observed.task_ids.values()]
    offenders = []
    for name, label, value in observed.final.label_values():
        shapes = [shape for shape, pattern in ID_SHAPES.items() if pattern.search(value)]
        shapes += [f"workload id {known}" for known in known_ids if known in value]
        if shapes:
            offenders.append(f"{name}{{{label}={value!r}}}: {', '.join(shapes)}")
    assert not offenders, "id-shaped label values:\n" + "\n".join(offenders)
    series = {(s.name, tuple(sorted(s.labels.items()))) for s in observed.final.samples}
    assert len(series) < 2000, "label cardinality should stay bounded"


def test_metric_names_follow_the_documented_list(observed: Observed) -> None:
    documented = (Path(ROOT) / "docs" / "observability.md").read_text()
    exported = {name for name, _ in observed.final.types.items()}
    app_and_host = {n for n in exported if n.startswith(("ga_", "funchost_", "http_server_", "process_", "target_"))}
    missing = sorted(n for n in app_and_host if f"`{n}" not in documented)
    assert not missing, f"exported but not documented in docs/observability.md: {missing}"



OUTCOMES = {"completed", "failed", "timed_out", "cancelled", "terminated"}  # docs/observability.md, "Outcomes"


def test_every_outcome_and_status_label_uses_the_one_vocabulary(observed: Observed) -> None:
    used = {(s.name, label, value) for s in observed.final.samples for label, value in s.labels.items()
            if label in {"outcome", "status"}}
    assert {value for _, _, value in used} - OUTCOMES == set(), sorted(used)
    families = {name.split("_bucket")[0].split("_count")[0].split("_sum")[0] for name, _, _ in used}
    assert {"funchost_entity_operations_total", "funchost_activity_duration_seconds",
            "funchost_orchestrations_finished_total", "ga_agent_tasks_finished_total"} <= families


def test_target_info_process_metrics_and_http_semantic_conventions(observed: Observed) -> None:
    m = observed.final
    [info] = m.find("target_info")
    assert info.labels["service_name"] == "guitar-alchemist-funchost"
    assert info.labels["service_version"] and observed.host.proc is not None
    assert info.labels["service_instance_id"].endswith(f"-{observed.host.proc.pid}")
    for family in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                   "process_max_fds"):
        assert m.value(family) > 0, family
    http = m.find("http_server_request_duration_seconds_count")
    assert http and all(s.labels["url_scheme"] == "http" for s in http)
    # error.type only where the request failed in the server (a 5xx); 2xx and 4xx carry none
    assert all(("error_type" in s.labels) == s.labels["http_response_status_code"].startswith("5") for s in http)
