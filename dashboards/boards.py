"""The four Guitar Alchemist dashboards, as code (panels built in `grafana`, PromQL from `promql`)."""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from . import promql as q
from .grafana import SEL, WINDOW, board, graph, heatmap, single

W = WINDOW
AGENT_ORCHESTRATORS = f'{q.ORCHESTRATOR}=~"agent_.*"'


def overview() -> Dashboard:
    return board("ga-overview", "Guitar Alchemist / Overview",
                 "Requests, players, agent tasks and the durable backend at a glance.", [
        ("Traffic", [
            single("HTTP requests / s", "HTTP requests the host served (Prometheus' /metrics scrapes excluded).",
                   "reqps", (q.http_rate(SEL, W), "requests/s")),
            single("HTTP 5xx ratio", "Share of requests answered with a 5xx status (the FunchostHttp5xxRatio "
                   "alert looks at the same ratio per route).", "percentunit", (q.http_5xx_ratio(SEL, W), "5xx")),
            single("HTTP p95 latency", "95th percentile of request duration over all routes but /metrics.", "s",
                   (q.http_quantile(0.95, SEL, W), "p95")),
            single("Scrape targets up", "Host processes Prometheus reaches (1 each).", "short",
                   (f"sum({q.scrape_up(SEL)})", "up")),
        ]),
        ("Players", [
            graph("Practice attempts / s by result", "Attempts stored by PlayerSession entities.", "ops",
                  (q.sum_rate(q.ATTEMPTS, "result", SEL, W), "{{result}}"), width=6, height=5),
            single("Attempt success ratio", "Share of attempts the player succeeded at.", "percentunit",
                   (q.ratio(q.ATTEMPTS, 'result="success"', "", SEL, W), "success")),
            single("Median difficulty", "Median of players' difficulty (0 easiest .. 1 hardest) after each "
                   "attempt or performance report.", "none",
                   (q.quantile(0.5, q.DIFFICULTY, "", SEL, W), "median"), decimals=2, bounds=(0, 1)),
            heatmap("Difficulty distribution", "How many difficulty values fell in each 0.1-wide band.",
                    (f"sum by (le) (increase({q.series(q.DIFFICULTY + '_bucket', SEL)}[{W}]))", "{{le}}")),
        ]),
        ("Agent tasks", [
            single("Agent tasks running", "Tasks whose latest step ran in this host and that have not ended.",
                   "short", (f"sum({q.series(q.TASKS_RUNNING, SEL)})", "running")),
            single("Mean task progress", "Mean progress of the running tasks.", "percentunit",
                   (f"avg({q.series(q.TASK_PROGRESS, SEL)})", "progress")),
            single("Agent tasks queued", "Tasks waiting in the admission queue for a free slot (the "
                   "AgentTaskQueuedTooLong alert watches how long the oldest has waited).", "short",
                   (f"max({q.tasks_queued(SEL)})", "queued")),
            graph("Agent tasks started and finished / s", "Task starts, and ends by outcome.", "ops",
                  (q.sum_rate(q.TASKS_STARTED, "", SEL, W), "started"),
                  (q.sum_rate(q.TASKS_FINISHED, "outcome", SEL, W), "{{outcome}}"), width=6, height=5),
        ]),
        ("Durable backend", [
            graph("Orchestrations running", "Instances not yet finished, per orchestrator.", "short",
                  (f"sum by ({q.ORCHESTRATOR}) ({q.series(q.ORCH_RUNNING, SEL)})", f"{{{{{q.ORCHESTRATOR}}}}}")),
            graph("Entity operations / s", "Operations processed, per entity type.", "ops",
                  (q.sum_rate(q.ENTITY_OPS, "entity", SEL, W), "{{entity}}")),
            graph("Entity mailbox depth", "Deepest single mailbox between scrapes (high-water, sees bursts), "
                  "and operations waiting at each scrape, all entity types.", "short",
                  (q.high_water(SEL, W, "job"), "deepest mailbox"),
                  (f"sum({q.series(q.MAILBOX_DEPTH, SEL)})", "waiting at scrape")),
        ]),
    ])


def actors() -> Dashboard:
    return board("ga-actors", "Guitar Alchemist / Actors and mailboxes",
                 "Entity mailboxes, operations and batching, per entity type.", [
        ("Mailboxes", [
            graph("Mailbox high-water by entity", "Deepest single mailbox of each entity type between two "
                  "scrapes: shows bursts that drain before a scrape (the FunchostMailboxBacklog alert watches "
                  "it).", "short", (q.high_water(SEL, W), "{{entity}}"), width=6),
            graph("Depth at enqueue p50 / p99", "Depth of the mailbox each operation joined, itself included.",
                  "short", (q.enqueue_depth_quantile(0.5, SEL, W), "p50 {{entity}}"),
                  (q.enqueue_depth_quantile(0.99, SEL, W), "p99 {{entity}}"), width=6),
            graph("Mailbox depth by entity", "Operations waiting per entity type at each scrape.", "short",
                  (f"sum by (entity) ({q.series(q.MAILBOX_DEPTH, SEL)})", "{{entity}}"), width=6),
            graph("Active entities", "Entities with queued or running operations.", "short",
                  (f"sum by (entity) ({q.series(q.ENTITIES_ACTIVE, SEL)})", "{{entity}}"), width=6),
            graph("Queue wait p50 / p95", "Time from enqueue to the start of an operation (the "
                  "FunchostMailboxBacklog alert watches the p95).", "s",
                  (q.queue_wait_quantile(0.5, SEL, W), "p50 {{entity}}"),
                  (q.queue_wait_quantile(0.95, SEL, W), "p95 {{entity}}"), width=6),
            graph("Work items pending", "Messages waiting, activities running, timers set.", "short",
                  (f"sum by (kind) ({q.series(q.WORK_PENDING, SEL)})", "{{kind}}"), width=6),
        ]),
        ("Operations", [
            graph("Operations / s", "Entity operations per type and operation.", "ops",
                  (q.sum_rate(q.ENTITY_OPS, "entity, operation", SEL, W), "{{entity}} {{operation}}")),
            graph("Operation error ratio", "Share of operations that raised.", "percentunit",
                  (q.entity_error_ratio(SEL, W), "{{entity}}")),
            graph("Operation duration p50 / p95 / p99", "Time in user code per operation (the FunchostSlowActor "
                  "alert watches the p95).", "s",
                  *[(q.entity_duration_quantile(p, SEL, W), f"p{round(p * 100)} {{{{entity}}}}")
                    for p in (0.5, 0.95, 0.99)]),
        ]),
        ("Batching", [
            graph("Batches / s", "Entity function calls per type.", "ops",
                  (q.sum_rate(q.ENTITY_BATCH + "_count", "entity", SEL, W), "{{entity}}")),
            graph("Mean batch size", "Operations per entity function call, on average.", "short",
                  (f"{q.sum_rate(q.ENTITY_BATCH + '_sum', 'entity', SEL, W)} / "
                   f"{q.sum_rate(q.ENTITY_BATCH + '_count', 'entity', SEL, W)}", "{{entity}}")),
            graph("Batch size p95", "95th percentile of operations per batch, a whole number.", "short",
                  (q.batch_size_quantile(0.95, SEL, W), "{{entity}}")),
        ]),
    ])


def agent_tasks() -> Dashboard:
    return board("ga-agent-tasks", "Guitar Alchemist / Agent tasks",
                 "Agent tasks (spice-up, reharmonize, create): running, outcomes, durations.", [
        ("Now", [
            graph("Running by type", "Tasks running now, per type.", "short",
                  (f"sum by (task_type) ({q.series(q.TASKS_RUNNING, SEL)})", "{{task_type}}"), width=12),
            single("Mean progress of running tasks", "Mean progress of the running tasks.", "percentunit",
                   (f"avg({q.series(q.TASK_PROGRESS, SEL)})", "progress")),
            single("Tasks ended in the time range, by outcome", "Ended tasks, by outcome.", "short",
                   (f"sum by (outcome) (increase({q.series(q.TASKS_FINISHED, SEL)}[$__range]))", "{{outcome}}")),
        ]),
        ("Admission and budget", [
            graph("Tasks queued", "Tasks waiting in the admission queue for a free slot (AGENT_TASKS_MAX_RUNNING "
                  "run at once).", "short", (q.tasks_queued(SEL, "instance"), "{{instance}}"), width=6),
            graph("Oldest queued wait", "How long the longest-waiting queued task has waited, growing while it "
                  "waits (the AgentTaskQueuedTooLong alert watches it).", "s",
                  (q.queue_oldest_wait(SEL, "instance"), "{{instance}}"), width=6),
            graph("Queue wait p50 / p95 by type", "Time from submission to admission of the tasks admitted.", "s",
                  (q.queue_wait_task_quantile(0.5, SEL, W), "p50 {{task_type}}"),
                  (q.queue_wait_task_quantile(0.95, SEL, W), "p95 {{task_type}}"), width=6),
            graph("Running past their deadline", "Running tasks whose deadline (budgetMs plus grace) has passed "
                  "without their timing out: stuck in a step or delayed (the AgentTaskPastDeadline alert).",
                  "short", (q.tasks_past_deadline(SEL), "{{task_type}}"), width=6),
        ]),
        ("Throughput and outcomes", [
            graph("Started / s by type", "Task starts per type.", "ops",
                  (q.sum_rate(q.TASKS_STARTED, "task_type", SEL, W), "{{task_type}}")),
            graph("Finished / s by type and outcome", "Task ends per type and outcome.", "ops",
                  (q.sum_rate(q.TASKS_FINISHED, "task_type, outcome", SEL, W), "{{task_type}} {{outcome}}")),
            graph("Failure ratio by type", "Share of ended tasks that failed or timed out (the "
                  "AgentTaskFailureRatio alert looks at the same ratio).", "percentunit",
                  (q.task_failure_ratio(SEL, W), "{{task_type}}")),
        ]),
        ("Latency", [
            graph("Duration p50 / p95 by type and outcome", "Task time from start to end, for each outcome.", "s",
                  (q.quantile(0.5, q.TASK_DURATION, "task_type, outcome", SEL, W), "p50 {{task_type}} {{outcome}}"),
                  (q.quantile(0.95, q.TASK_DURATION, "task_type, outcome", SEL, W),
                   "p95 {{task_type}} {{outcome}}")),
            graph("Cancel latency p50 / p95", "From a cancel request to the task confirmed cancelled.", "s",
                  (q.quantile(0.5, q.TASK_CANCEL, "", SEL, W), "p50"),
                  (q.quantile(0.95, q.TASK_CANCEL, "", SEL, W), "p95")),
            graph("Agent activity p95 by name", "95th percentile of the agents' activity durations.", "s",
                  (q.quantile(0.95, q.ACTIVITY, q.ACTIVITY_NAME, SEL, W, f'{q.ACTIVITY_NAME}=~"agent_.*"'),
                   f"{{{{{q.ACTIVITY_NAME}}}}}")),
        ]),
        ("Orchestrations", [
            graph("Agent orchestrations running", "Agent orchestration instances not yet finished.", "short",
                  (f"sum by ({q.ORCHESTRATOR}) "
                   f"({q.series(q.ORCH_RUNNING, SEL, AGENT_ORCHESTRATORS)})",
                   f"{{{{{q.ORCHESTRATOR}}}}}"), width=12),
            graph("Agent orchestrations finished / s", "Agent orchestrations that reached a final state, by status.",
                  "ops", (q.sum_rate(q.ORCH_FINISHED, f"{q.ORCHESTRATOR}, status", SEL, W,
                                     AGENT_ORCHESTRATORS), f"{{{{{q.ORCHESTRATOR}}}}} {{{{status}}}}"),
                  width=12),
        ]),
    ])


def host_and_http() -> Dashboard:
    route = "http_route"
    return board("ga-host-http", "Guitar Alchemist / Host and HTTP",
                 "HTTP routes, orchestrations, activities and the SQLite store of the host.", [
        ("HTTP", [
            graph("Requests / s by route", "Requests per route template (/metrics excluded).", "reqps",
                  (q.http_rate(SEL, W, route), "{{http_route}}")),
            graph("Requests / s by status", "Requests per response status code.", "reqps",
                  (q.http_rate(SEL, W, "http_response_status_code"), "{{http_response_status_code}}")),
            graph("Latency p50 / p95 / p99", "Request duration over all routes but /metrics.", "s",
                  *[(q.http_quantile(p, SEL, W), f"p{round(p * 100)}") for p in (0.5, 0.95, 0.99)]),
            graph("p95 latency by route", "95th percentile of request duration per route.", "s",
                  (q.http_quantile(0.95, SEL, W, route), "{{http_route}}")),
            graph("4xx / s by route", "Requests refused as bad input, unauthorised or not found, per route.",
                  "reqps", (q.http_status_rate(q.CLIENT_ERROR, SEL, W, route), "{{http_route}}")),
            graph("5xx / s by route", "Requests that failed in the host or the app, per route (always a bug).",
                  "reqps", (q.http_status_rate(q.SERVER_ERROR, SEL, W, route), "{{http_route}}")),
        ]),
        ("Orchestrations", [
            graph("Started / s", "Orchestration instances started, per orchestrator.", "ops",
                  (q.sum_rate(q.ORCH_STARTED, q.ORCHESTRATOR, SEL, W), f"{{{{{q.ORCHESTRATOR}}}}}")),
            graph("Finished / s by status", "Instances that reached a final state, by status.", "ops",
                  (q.sum_rate(q.ORCH_FINISHED, f"{q.ORCHESTRATOR}, status", SEL, W),
                   f"{{{{{q.ORCHESTRATOR}}}}} {{{{status}}}}")),
            graph("Episode duration p95", "One run (replay) of an orchestrator function.", "s",
                  (q.quantile(0.95, q.EPISODE, q.ORCHESTRATOR, SEL, W), f"{{{{{q.ORCHESTRATOR}}}}}")),
        ]),
        ("Activities", [
            graph("Activities / s by outcome", "Activity executions per name and outcome.", "ops",
                  (q.sum_rate(q.ACTIVITY + "_count", f"{q.ACTIVITY_NAME}, outcome", SEL, W),
                   f"{{{{{q.ACTIVITY_NAME}}}}} {{{{outcome}}}}"), width=12),
            graph("Activity duration p95", "95th percentile of activity durations per name.", "s",
                  (q.quantile(0.95, q.ACTIVITY, q.ACTIVITY_NAME, SEL, W), f"{{{{{q.ACTIVITY_NAME}}}}}"), width=12),
        ]),
        ("Process", [
            graph("CPU", "CPU time the host process uses per second (1 = one core).", "percentunit",
                  (f"sum by (instance) ({q.rate(q.PROCESS_CPU, SEL, W)})", "{{instance}}"), width=6),
            graph("Resident memory", "Resident set size of the host process.", "bytes",
                  (f"sum by (instance) ({q.series(q.PROCESS_MEMORY, SEL)})", "{{instance}}"), width=6),
            graph("Open file descriptors", "Open file descriptors, and the process limit.", "short",
                  (f"sum by (instance) ({q.series(q.PROCESS_FDS, SEL)})", "open {{instance}}"),
                  (f"sum by (instance) ({q.series(q.PROCESS_MAX_FDS, SEL)})", "limit {{instance}}"), width=6),
            single("Version", "Service name, version and instance id of each host (target_info).", "short",
                   (f"max by (instance, service_name, service_version, service_instance_id) "
                    f"({q.series(q.TARGET_INFO, SEL)})",
                    "{{service_name}} {{service_version}} {{service_instance_id}}"), width=6, names=True),
        ]),
        ("Store and queues", [
            graph("Store commit duration p50 / p99", "SQLite group commits (the FunchostStoreCommitSlow alert "
                  "watches the p95).", "s", (q.commit_quantile(0.5, SEL, W), "p50"),
                  (q.commit_quantile(0.99, SEL, W), "p99"), width=6),
            graph("Commits / s", "SQLite group commits per second.", "ops",
                  (q.sum_rate(q.COMMIT + "_count", "", SEL, W), "commits/s"), width=6),
            graph("Store size", "Bytes on disk of the SQLite store: the database file and its write-ahead log "
                  "(the WAL file keeps its largest size after checkpoints; the database file grows until vacuumed).",
                  "bytes", (f"sum by (instance, file) ({q.series(q.STORE_SIZE, SEL)})", "{{file}} {{instance}}"),
                  width=6),
            graph("Work items pending by kind", "Messages waiting, activities running, timers set.", "short",
                  (f"sum by (kind) ({q.series(q.WORK_PENDING, SEL)})", "{{kind}}"), width=6),
        ]),
    ])


DASHBOARDS = {"overview.json": overview, "actors-and-mailboxes.json": actors, "agent-tasks.json": agent_tasks,
              "host-and-http.json": host_and_http}
