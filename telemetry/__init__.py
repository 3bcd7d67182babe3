"""The app's own telemetry: `ga_*` metrics through the OpenTelemetry API, and provider set-up on Azure.

The app's code uses only the OpenTelemetry API; whoever hosts the app owns the providers. On
funchost the host sets them (Prometheus at `GET /metrics`, OTLP when configured); in an Azure
worker `configure()` sets them up from the OTLP app settings. See docs/observability.md.
"""

from .metrics import (
    CANCELLED,
    COMPLETED,
    FAILED,
    TIMED_OUT,
    admission_queue,
    declare_task_types,
    instances_purged,
    llm_breaker,
    observe_difficulty,
    record_attempt,
    tag_span,
    task_admitted,
    task_cancelled,
    task_deadline,
    task_finished,
    task_progress,
    task_started,
)
from .setup import configure

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "TIMED_OUT",
    "admission_queue",
    "configure",
    "declare_task_types",
    "instances_purged",
    "llm_breaker",
    "observe_difficulty",
    "record_attempt",
    "tag_span",
    "task_admitted",
    "task_cancelled",
    "task_deadline",
    "task_finished",
    "task_progress",
    "task_started",
]
