"""Retention: an hourly timer that purges finished agent-task instances older than the retention period.

Agent tasks keep their status, output and history in the task hub after they end, so the store would
grow forever. Every hour (`SCHEDULE`, UTC) this timer asks the durable client for the orchestration
instances created before `now - AGENT_TASK_RETENTION_DAYS` (app setting, days, default 7, `0` purges
every finished task) whose runtime status is Completed, Failed or Terminated, and purges each agent
task among them (its instance and its history) by id, exactly as it would on Azure. Leftover
`entity_call` helper orchestrations (the routes purge theirs at once; one whose caller timed out
stays behind) go the same way. Running, pending and suspended instances are never touched, nor are
player sessions: they are durable entities, which never reach a finished status and whose names
(`@playersession@<id>` where Azure lists them with the orchestrations) are not purged names.

The durable client answers a status query a page at a time (100 on Azure and funchost) and the
Python SDK does not follow continuation tokens, so the query is repeated until a round purges
nothing; `MAX_ROUNDS` bounds one run, and the next run goes on where it stopped.
Each purged instance is logged with its id, the run's totals are logged once at the end and
counted in `ga_instances_purged_total{orchestration}`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

import telemetry
from orchestrations.agent_tasks import AGENT_ORCHESTRATORS
from orchestrations.entity_call import ENTITY_CALL_ORCHESTRATOR

bp = df.Blueprint()
log = logging.getLogger(__name__)

RETENTION_SETTING = "AGENT_TASK_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 7.0
SCHEDULE = "0 0 * * * *"  # at the top of every hour
PURGED_ORCHESTRATIONS = AGENT_ORCHESTRATORS | {ENTITY_CALL_ORCHESTRATOR}
_RS = df.OrchestrationRuntimeStatus
FINISHED = [_RS.Completed, _RS.Failed, _RS.Terminated]
MAX_ROUNDS = 50


def retention_days(settings: Mapping[str, str] | None = None) -> float:
    """The retention period in days from the app settings; a missing or invalid value means the default."""
    source = os.environ if settings is None else settings
    text = source.get(RETENTION_SETTING, "").strip()
    if not text:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 36_500:
        log.warning("retention: %s=%r is not a number of days between 0 and 36500; using %g",
                    RETENTION_SETTING, text, DEFAULT_RETENTION_DAYS)
        return DEFAULT_RETENTION_DAYS
    return days


def _created_before(status: df.DurableOrchestrationStatus, cutoff: datetime) -> bool:
    created = status.created_time
    if created is None:
        return False
    if created.tzinfo is None:  # the SDK parses what the host sent; both send UTC
        created = created.replace(tzinfo=UTC)
    return created <= cutoff


async def purge_finished(client: df.DurableOrchestrationClient, cutoff: datetime) -> Counter[str]:
    """Purge the finished agent tasks (and helper calls) created at or before `cutoff`; count them by name."""
    purged: Counter[str] = Counter()
    for _ in range(MAX_ROUNDS):
        statuses = await client.get_status_by(created_time_to=cutoff, runtime_status=FINISHED)
        doomed = [s for s in statuses if s.instance_id and s.name in PURGED_ORCHESTRATIONS
                  and s.runtime_status in FINISHED and _created_before(s, cutoff)]
        deleted_this_round = 0
        for status in doomed:
            result = await client.purge_instance_history(str(status.instance_id))
            if result.instances_deleted:
                deleted_this_round += 1
                purged[str(status.name)] += 1
                log.info("retention: purged %s instance %s (%s, created %s)", status.name, status.instance_id,
                         status.runtime_status.value if status.runtime_status else "?",
                         status.created_time.isoformat() if status.created_time else "?")
        if not deleted_this_round:
            break
    else:
        log.warning("retention: stopped after %d rounds; the next run purges the rest", MAX_ROUNDS)
    return purged


@bp.timer_trigger(schedule=SCHEDULE, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def purge_finished_agent_tasks(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The hourly retention run: purge, count, and log what it did."""
    days = retention_days()
    cutoff = datetime.now(UTC) - timedelta(days=days)
    purged = await purge_finished(client, cutoff)
    for name, count in sorted(purged.items()):
        telemetry.instances_purged(name, count)
    detail = ", ".join(f"{count} {name}" for name, count in sorted(purged.items())) or "nothing"
    log.info("retention: purged %s finished before %s (retention %g days%s)", detail, cutoff.isoformat(), days,
             ", past due" if timer.past_due else "")
