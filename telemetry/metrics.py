"""The app's metrics (`ga_*`), made with the OpenTelemetry API on the meter "guitar_alchemist".

Instruments are created on first use from the global MeterProvider (after `setup.configure()` has
had its say), so importing the app costs nothing and the same code runs on funchost (whose
provider serves them at `GET /metrics`) and on Azure (OTLP). Each function here is one small
measurement. Labels are bounded enums only (`result`, `outcome`, `task_type`); player and task ids never
become labels: `tag_span` puts them on the current span instead.

Replay safety: every function has a side effect, so orchestrator code calls them only when
`not context.is_replaying` (entity operations and HTTP handlers run once and call them freely).

Running tasks and their mean progress are observable gauges fed by `RunningTasks`, a registry of
the agent tasks whose latest step ran in this process; see its docstring for what that means when
a host runs several worker processes.

Prometheus names (the exporter adds `_total` to counters and `_seconds` for unit "s"):
`ga_player_attempts_total{result}`, `ga_player_difficulty_ratio` (histogram), `ga_agent_tasks_started_total{task_type}`,
`ga_agent_tasks_finished_total{task_type,outcome}`, `ga_agent_tasks_running{task_type}`,
`ga_agent_task_duration_seconds{task_type,outcome}` (histogram), `ga_agent_task_cancel_latency_seconds`
(histogram), `ga_agent_task_progress_ratio`, `ga_instances_purged_total{orchestration}` (the retention timer),
`ga_agent_task_queue_wait_seconds{task_type}` (histogram), `ga_agent_tasks_queued`,
`ga_agent_task_queue_oldest_wait_seconds` (the admission queue, `admission`) and
`ga_agent_tasks_past_deadline{task_type}`, `ga_llm_breaker_state` (0 closed, 1 half-open, 2 open) and
`ga_llm_breaker_transitions_total{to}` (the LLM circuit breaker, `llm_breaker`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .admission import AdmissionQueue
from .attempts import AttemptCounts
from .llm_breaker import BreakerReport
from .setup import configure

METER_NAME = "guitar_alchemist"

# A practice attempt's `result` (what the player did, not how the code ran).
SUCCESS, FAILURE = "success", "failure"
# `outcome` of an agent task: the words of the one outcome vocabulary host and app share
# (funchost uses completed, failed, terminated, cancelled; docs/observability.md, "Outcomes").
COMPLETED, FAILED, TIMED_OUT, CANCELLED = "completed", "failed", "timed_out", "cancelled"

# A live task refreshes its entry at every step (~0.1 s apart); the longest legitimate gap is one
# LLM call (LLM_TIMEOUT_S is at most 120 s). Entries older than this belong to tasks that ended
# where this process could not see it.
STALE_AFTER_S = 180.0

_DIFFICULTY_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
_TASK_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
# Admitted at once, a task waits for its first poll (tens of ms); queued, for whole seconds to minutes.
_QUEUE_SECONDS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
_CANCEL_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


@dataclass
class _Entry:
    task_type: str
    progress: float
    seen_at: float
    deadline_at: float | None = None  # epoch seconds: when the task times out (budget plus grace)


class RunningTasks:
    """The agent tasks whose latest step ran in this process: feeds `ga_agent_tasks_running` and
    `ga_agent_task_progress_ratio`.

    Orchestrator code (when not replaying) refreshes a task's entry at every status change and
    removes it when the task ends; the cancel route removes it after a confirmed cancel. Entries
    not refreshed for `stale_after_s` are dropped, so a task that ended out of this process's
    sight (in another worker process, or terminated outside the routes) does not count forever.
    On funchost (one process) the gauges are exact. On an Azure host with several worker
    processes each process reports the tasks it last ran a step of; a task whose steps moved to
    another process may be counted in both until its entry goes stale.

    A task's deadline (`set_deadline`, before each step) also feeds `ga_agent_tasks_past_deadline`:
    the tasks still running at collection time although their deadline has passed, i.e. stuck in a
    step or delayed by the host (the orchestration times out at its next step once the deadline has
    passed). A stuck task stops counting when its entry goes stale.

    Owned by no thread in particular (orchestrators, HTTP handlers and the metric reader's thread
    all reach it), so every access takes the lock. The observe callbacks never raise.
    """

    def __init__(self, stale_after_s: float = STALE_AFTER_S, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.wall_clock = wall_clock  # deadlines are the orchestrations' UTC timestamps
        self._lock = threading.Lock()
        self._tasks: dict[str, _Entry] = {}
        self._types: set[str] = set()

    def declare(self, task_types: Iterable[str]) -> None:
        """Report these types (as 0 running) before any task of theirs has run."""
        with self._lock:
            self._types.update(task_types)

    def update(self, task_id: str, task_type: str, progress: float) -> None:
        with self._lock:
            self._types.add(task_type)
            known = self._tasks.get(task_id)
            self._tasks[task_id] = _Entry(task_type, min(1.0, max(0.0, float(progress))), self.clock(),
                                          known.deadline_at if known is not None else None)

    def set_deadline(self, task_id: str, deadline_at: float) -> None:
        """The running task `task_id` times out at `deadline_at` (epoch seconds); unknown ids are ignored."""
        with self._lock:
            entry = self._tasks.get(task_id)
            if entry is not None:
                entry.deadline_at = deadline_at

    def remove(self, task_id: str) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)

    def _drop_stale(self) -> None:
        oldest = self.clock() - self.stale_after_s
        for task_id in [t for t, e in self._tasks.items() if e.seen_at < oldest]:
            del self._tasks[task_id]

    def snapshot(self) -> tuple[dict[str, int], float | None]:
        """Running tasks per type (every known type, 0 included) and their mean progress (None if none)."""
        with self._lock:
            self._drop_stale()
            counts = dict.fromkeys(self._types, 0)
            for entry in self._tasks.values():
                counts[entry.task_type] += 1
            mean = sum(e.progress for e in self._tasks.values()) / len(self._tasks) if self._tasks else None
        return counts, mean

    def observe_running(self, _options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        counts, _ = self.snapshot()
        return [Observation(count, {"task_type": task_type}) for task_type, count in sorted(counts.items())]

    def observe_progress(self, _options: Any = None) -> list[Any]:
        """The mean over running tasks; no observation at all (no series) while none is running."""
        from opentelemetry.metrics import Observation

        _, mean = self.snapshot()
        return [] if mean is None else [Observation(mean)]

    def past_deadline(self) -> dict[str, int]:
        """Running tasks whose deadline has passed, per type (every known type, 0 included)."""
        with self._lock:
            self._drop_stale()
            now = self.wall_clock()
            counts = dict.fromkeys(self._types, 0)
            for entry in self._tasks.values():
                if entry.deadline_at is not None and now > entry.deadline_at:
                    counts[entry.task_type] += 1
        return counts

    def observe_past_deadline(self, _options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(count, {"task_type": task_type}) for task_type, count in
                sorted(self.past_deadline().items())]


TASKS = RunningTasks()
ATTEMPTS = AttemptCounts()
QUEUE = AdmissionQueue()
BREAKER = BreakerReport()


class _Instruments:
    """Every `ga_*` instrument, created together on one meter."""

    def __init__(self, meter: Any, tasks: RunningTasks, queue: AdmissionQueue, breaker: BreakerReport,
                 attempts: AttemptCounts) -> None:
        meter.create_observable_counter(
            "ga_player_attempts", callbacks=[attempts.observe], unit="{attempt}",
            description="Practice attempts recorded, by result")
        self.difficulty = meter.create_histogram(
            "ga_player_difficulty_ratio", unit="1",
            description="A player's current difficulty (0..1) after each recorded attempt or performance report",
            explicit_bucket_boundaries_advisory=_DIFFICULTY_BUCKETS)
        self.started = meter.create_counter(
            "ga_agent_tasks_started", unit="{task}", description="Agent tasks that began to run, by type")
        self.finished = meter.create_counter(
            "ga_agent_tasks_finished", unit="{task}",
            description="Agent tasks that ended, by type and outcome (completed, failed, timed_out, cancelled)")
        self.duration = meter.create_histogram(
            "ga_agent_task_duration", unit="s", description="Agent task time from start to end, by type and outcome",
            explicit_bucket_boundaries_advisory=_TASK_SECONDS_BUCKETS)
        self.cancel_latency = meter.create_histogram(
            "ga_agent_task_cancel_latency", unit="s",
            description="Time from a cancel request to the task confirmed cancelled",
            explicit_bucket_boundaries_advisory=_CANCEL_SECONDS_BUCKETS)
        self.queue_wait = meter.create_histogram(
            "ga_agent_task_queue_wait", unit="s",
            description="Agent task time from submission to admission (a free slot), by type",
            explicit_bucket_boundaries_advisory=_QUEUE_SECONDS_BUCKETS)
        self.purged = meter.create_counter(
            "ga_instances_purged", unit="{instance}",
            description="Finished orchestration instances purged by the retention timer, by orchestration name")
        meter.create_observable_gauge(
            "ga_agent_tasks_running", callbacks=[tasks.observe_running], unit="{task}",
            description="Agent tasks running (their latest step ran in this process), by type")
        meter.create_observable_gauge(
            "ga_agent_task_progress_ratio", callbacks=[tasks.observe_progress], unit="1",
            description="Mean progress (0..1) of the running agent tasks; absent while none runs")
        meter.create_observable_gauge(
            "ga_agent_tasks_past_deadline", callbacks=[tasks.observe_past_deadline], unit="{task}",
            description="Running agent tasks whose deadline (budget plus grace) has passed, by type")
        meter.create_observable_gauge(
            "ga_agent_tasks_queued", callbacks=[queue.observe_queued], unit="{task}",
            description="Agent tasks waiting in the admission queue for a free slot")
        meter.create_observable_gauge(
            "ga_agent_task_queue_oldest_wait", callbacks=[queue.observe_oldest_wait], unit="s",
            description="How long the longest-waiting agent task in the admission queue has waited (0 when none)")
        self.breaker_transitions = meter.create_counter(
            "ga_llm_breaker_transitions", unit="{transition}",
            description="LLM circuit breaker state changes, by the state entered (open, half-open, closed)")
        meter.create_observable_gauge(
            "ga_llm_breaker_state", callbacks=[breaker.observe_state], unit="1",
            description="The LLM circuit breaker as last seen in this process: 0 closed, 1 half-open, 2 open")


_instruments: _Instruments | None = None
_instruments_lock = threading.Lock()


def _get() -> _Instruments:
    global _instruments
    made = _instruments
    if made is None:
        with _instruments_lock:
            if _instruments is None:
                configure()
                from opentelemetry import metrics

                _instruments = _Instruments(metrics.get_meter(METER_NAME), TASKS, QUEUE, BREAKER, ATTEMPTS)
            made = _instruments
    return made


# -- players ---------------------------------------------------------------------------------------
def record_attempt(success: bool, difficulty: float) -> None:
    """One practice attempt stored, and the player's difficulty after it."""
    made = _get()
    ATTEMPTS.add(SUCCESS if success else FAILURE)
    made.difficulty.record(difficulty)


def observe_difficulty(difficulty: float) -> None:
    """The player's difficulty after a change other than an attempt (a performance report)."""
    _get().difficulty.record(difficulty)


# -- agent tasks -----------------------------------------------------------------------------------
def declare_task_types(task_types: Iterable[str]) -> None:
    """The task types to report as 0 running before any of them ran (no instrument is made here)."""
    TASKS.declare(task_types)


def task_started(task_type: str) -> None:
    """A task began to run (its orchestration's first episode)."""
    _get().started.add(1, {"task_type": task_type})


def task_progress(task_id: str, task_type: str, progress: float) -> None:
    """The task is running in this process at `progress` (0..1). The id stays in this process."""
    _get()
    TASKS.update(task_id, task_type, progress)


def task_admitted(task_type: str, waited_s: float) -> None:
    """A task got a slot `waited_s` after it was submitted (its orchestration time; 0-ish when not queued)."""
    _get().queue_wait.record(max(0.0, waited_s), {"task_type": task_type})


def task_deadline(task_id: str, deadline_at: float) -> None:
    """The running task times out at `deadline_at` (epoch seconds); reported before each step."""
    _get()
    TASKS.set_deadline(task_id, deadline_at)


def admission_queue(queued: int, oldest_enqueued_at: float | None) -> None:
    """The admission entity's queue after an operation: `queued` tasks, the oldest joined at that epoch time."""
    _get()
    QUEUE.report(queued, oldest_enqueued_at)


def llm_breaker(state: str, entered: str | None) -> None:
    """The LLM breaker entity's state after an operation, and the state it just entered (None: no change)."""
    made = _get()
    BREAKER.report(state)
    if entered is not None:
        made.breaker_transitions.add(1, {"to": entered})


def task_finished(task_id: str, task_type: str, outcome: str, duration_s: float | None) -> None:
    """The task ended with `outcome` (COMPLETED, FAILED, TIMED_OUT or CANCELLED) after `duration_s`."""
    made = _get()
    attrs = {"task_type": task_type, "outcome": outcome}
    made.finished.add(1, attrs)
    if duration_s is not None:
        made.duration.record(max(0.0, duration_s), attrs)
    TASKS.remove(task_id)


def task_cancelled(task_id: str, task_type: str, latency_s: float, duration_s: float | None) -> None:
    """A cancel was confirmed `latency_s` after it was requested; the task ends as CANCELLED."""
    _get().cancel_latency.record(max(0.0, latency_s))
    task_finished(task_id, task_type, CANCELLED, duration_s)


def instances_purged(orchestration: str, count: int) -> None:
    """The retention timer purged `count` finished instances of the orchestration named `orchestration`."""
    _get().purged.add(count, {"orchestration": orchestration})


# -- spans -----------------------------------------------------------------------------------------
def tag_span(attributes: Mapping[str, str]) -> None:
    """Put ids (player, task) on the current span, where they belong instead of on metric labels."""
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(dict(attributes))
