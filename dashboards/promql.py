"""Every PromQL expression the dashboards and the alert rules use, in one place.

Each function takes `sel`, label matchers added to every selector (the dashboards pass their `job`
and `instance` variables, the alert rules pass nothing), and `window`, the range of `rate()`
(`$__rate_interval` on a dashboard, a fixed range in an alert). Alerts and panels that show the same
thing call the same function, so a panel shows exactly what pages.
"""

from __future__ import annotations

# Metric families (Prometheus names as the OpenTelemetry exporter writes them).
HTTP = "http_server_request_duration_seconds"
ENTITY_OPS = "funchost_entity_operations_total"
ENTITY_DURATION = "funchost_entity_operation_duration_seconds"
ENTITY_QUEUE_WAIT = "funchost_entity_queue_wait_seconds"
ENTITY_BATCH = "funchost_entity_batch_size"
MAILBOX_DEPTH = "funchost_entity_mailbox_depth"
MAILBOX_HIGH_WATER = "funchost_entity_mailbox_high_water"
ENQUEUE_DEPTH = "funchost_entity_mailbox_enqueue_depth"
ENTITIES_ACTIVE = "funchost_entities_active"
ORCH_STARTED = "funchost_orchestrations_started_total"
ORCH_FINISHED = "funchost_orchestrations_finished_total"
ORCH_RUNNING = "funchost_orchestrations_running"
EPISODE = "funchost_orchestration_episode_duration_seconds"
ACTIVITY = "funchost_activity_duration_seconds"
WORK_PENDING = "funchost_work_items_pending"
COMMIT = "funchost_store_commit_duration_seconds"
STORE_SIZE = "funchost_store_size_bytes"
TARGET_INFO = "target_info"
PROCESS_CPU = "process_cpu_seconds_total"
PROCESS_MEMORY = "process_resident_memory_bytes"
PROCESS_FDS = "process_open_fds"
PROCESS_MAX_FDS = "process_max_fds"
ATTEMPTS = "ga_player_attempts_total"
DIFFICULTY = "ga_player_difficulty_ratio"
TASKS_STARTED = "ga_agent_tasks_started_total"
TASKS_FINISHED = "ga_agent_tasks_finished_total"
TASKS_RUNNING = "ga_agent_tasks_running"
TASK_DURATION = "ga_agent_task_duration_seconds"
TASK_CANCEL = "ga_agent_task_cancel_latency_seconds"
TASK_PROGRESS = "ga_agent_task_progress_ratio"
TASK_QUEUE_WAIT = "ga_agent_task_queue_wait_seconds"
TASKS_QUEUED = "ga_agent_tasks_queued"
TASK_QUEUE_OLDEST = "ga_agent_task_queue_oldest_wait_seconds"
TASKS_PAST_DEADLINE = "ga_agent_tasks_past_deadline"
LLM_BREAKER_STATE = "ga_llm_breaker_state"

# Label names of the function names.
ORCHESTRATOR = "orchestrator"
ACTIVITY_NAME = "activity"

SCRAPE_JOB = "funchost"
NOT_METRICS = 'http_route!="/metrics"'  # Prometheus' own scrapes are not user traffic
FAILED = 'outcome="failed"'
FAILED_TASK = 'outcome=~"failed|timed_out"'
SERVER_ERROR = 'http_response_status_code=~"5.."'
CLIENT_ERROR = 'http_response_status_code=~"4.."'


def series(metric: str, sel: str = "", *matchers: str) -> str:
    """`metric{matchers..., sel}`, or the bare name when there are no matchers."""
    parts = [m for m in (*matchers, sel) if m]
    return f"{metric}{{{', '.join(parts)}}}" if parts else metric


def rate(metric: str, sel: str, window: str, *matchers: str) -> str:
    return f"rate({series(metric, sel, *matchers)}[{window}])"


def sum_rate(metric: str, by: str, sel: str, window: str, *matchers: str) -> str:
    grouping = f"sum by ({by}) " if by else "sum"
    return f"{grouping}({rate(metric, sel, window, *matchers)})"


def quantile(q: float, histogram: str, by: str, sel: str, window: str, *matchers: str) -> str:
    """`histogram_quantile(q, ...)` of a histogram family (its `_bucket` series) summed by `by`."""
    keep = ", ".join(["le", *[b.strip() for b in by.split(",") if b.strip()]])
    return f"histogram_quantile({q}, sum by ({keep}) ({rate(histogram + '_bucket', sel, window, *matchers)}))"


def ratio(metric: str, part: str, by: str, sel: str, window: str, *matchers: str) -> str:
    """Share of `metric`'s rate matching `part`; 0 (not absent) where nothing matched but there was traffic."""
    matching = sum_rate(metric, by, sel, window, part, *matchers)
    total = sum_rate(metric, by, sel, window, *matchers)
    return f"({matching} or {total} * 0) / {total}"


def or_zero(matching: str, total: str) -> str:
    """`matching`, with 0 for the groups of `total` that have none (so a panel shows 0, not "no data")."""
    return f"{matching} or {total} * 0"


# -- HTTP ------------------------------------------------------------------------------------------
def http_rate(sel: str, window: str, by: str = "") -> str:
    return sum_rate(HTTP + "_count", by, sel, window, NOT_METRICS)


def http_quantile(q: float, sel: str, window: str, by: str = "") -> str:
    return quantile(q, HTTP, by, sel, window, NOT_METRICS)


def http_5xx_ratio(sel: str, window: str, by: str = "") -> str:
    return ratio(HTTP + "_count", SERVER_ERROR, by, sel, window, NOT_METRICS)


def http_status_rate(status: str, sel: str, window: str, by: str) -> str:
    """Requests per second with a status matching `status`, per `by`; 0 for groups without any."""
    matching = sum_rate(HTTP + "_count", by, sel, window, status, NOT_METRICS)
    return or_zero(matching, http_rate(sel, window, by))


# -- entities --------------------------------------------------------------------------------------
def entity_duration_quantile(q: float, sel: str, window: str, by: str = "entity") -> str:
    return quantile(q, ENTITY_DURATION, by, sel, window)


def queue_wait_quantile(q: float, sel: str, window: str, by: str = "entity") -> str:
    return quantile(q, ENTITY_QUEUE_WAIT, by, sel, window)


def high_water(sel: str, window: str, by: str = "entity") -> str:
    """The deepest single mailbox per `by` over `window`: the gauge is reset at each scrape, so this
    is the burst the instantaneous depth misses."""
    return f"max by ({by}) (max_over_time({series(MAILBOX_HIGH_WATER, sel)}[{window}]))"


def enqueue_depth_quantile(q: float, sel: str, window: str) -> str:
    """Depth of the mailbox an operation joined; a whole number, like the batch size."""
    return f"ceil({quantile(q, ENQUEUE_DEPTH, 'entity', sel, window)})"


def batch_size_quantile(q: float, sel: str, window: str) -> str:
    """A batch size is a whole number: the interpolated quantile is rounded up to the bucket's integer."""
    return f"ceil({quantile(q, ENTITY_BATCH, 'entity', sel, window)})"


def entity_error_ratio(sel: str, window: str) -> str:
    return ratio(ENTITY_OPS, FAILED, "entity", sel, window)


# -- agent tasks -----------------------------------------------------------------------------------
def task_failure_ratio(sel: str, window: str, by: str = "task_type") -> str:
    return ratio(TASKS_FINISHED, FAILED_TASK, by, sel, window)


def tasks_queued(sel: str, by: str = "job, instance") -> str:
    """Tasks in the admission queue. `max`, not `sum`: with several worker processes each reports the
    latest queue it saw of the one admission entity."""
    return f"max by ({by}) ({series(TASKS_QUEUED, sel)})"


def queue_oldest_wait(sel: str, by: str = "job, instance") -> str:
    """How long the longest-waiting queued task has waited (0 when none waits); `max` as `tasks_queued`."""
    return f"max by ({by}) ({series(TASK_QUEUE_OLDEST, sel)})"


def queue_wait_task_quantile(q: float, sel: str, window: str, by: str = "task_type") -> str:
    """Time from submission to admission of the tasks admitted in `window`."""
    return quantile(q, TASK_QUEUE_WAIT, by, sel, window)


def tasks_past_deadline(sel: str, by: str = "task_type") -> str:
    """Running tasks whose deadline (budget plus grace) has passed: stuck in a step or delayed."""
    return f"sum by ({by}) ({series(TASKS_PAST_DEADLINE, sel)})"


def llm_breaker_state(sel: str, by: str = "job, instance") -> str:
    """The LLM circuit breaker per host: 0 closed, 1 half-open, 2 open (`max` over worker processes)."""
    return f"max by ({by}) ({series(LLM_BREAKER_STATE, sel)})"


# -- store -----------------------------------------------------------------------------------------
def commit_quantile(q: float, sel: str, window: str) -> str:
    return quantile(q, COMMIT, "", sel, window)


def scrape_up(sel: str) -> str:
    """`up` of the scrape job: 1 per reachable target."""
    job = f'job="{SCRAPE_JOB}"'
    return series("up", sel or job)
