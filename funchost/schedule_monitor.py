"""Schedule monitoring (`use_monitor`): a timer's schedule status kept in the store across restarts.

As in Azure's `ScheduleMonitor`, a monitored timer records after each scheduled run the occurrence it
ran for (`Last`), the next one it expects (`Next`) and when it wrote that (`LastUpdated`). When the
host starts and the recorded `Next` has passed, the host was down across an occurrence: the function
runs at once with `past_due` true, for that missed occurrence. If the schedule changed since the
status was written (the recorded `Next` is not what the schedule gives after `LastUpdated`), the
expected occurrence is recomputed from `LastUpdated` with the new schedule first.

Monitoring is on when the binding says `useMonitor: true`, off when it says false, and when it does
not say, on for schedules that recur at most once a minute (Azure's default).
The status is read on the event-loop thread (the store's read connection) and written through the
dispatcher's group commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from .store import Store, TimerStatusRow

log = logging.getLogger("funchost.timers")

# What Azure shows as `Last` before the first run: .NET's DateTime.MinValue.
NEVER = "0001-01-01T00:00:00+00:00"
_MONITOR_MIN_PERIOD = timedelta(minutes=1)


@dataclass(frozen=True)
class ScheduleStatus:
    last: datetime | None
    next: datetime
    last_updated: datetime

    def to_json(self) -> dict[str, str]:
        """The `schedule_status` a `func.TimerRequest` carries (ISO 8601, UTC)."""
        return {"Last": self.last.isoformat() if self.last else NEVER, "Next": self.next.isoformat(),
                "LastUpdated": self.last_updated.isoformat()}


class ScheduleMonitor(Protocol):
    """Where monitored timers keep their schedule status, by function name."""

    def load(self, name: str) -> ScheduleStatus | None: ...

    def save(self, name: str, status: ScheduleStatus) -> None: ...


class StoreScheduleMonitor:
    """The schedule status in the host's SQLite store (table `timer_status`); loop thread only.

    Reads use the store's read connection; a save goes through `submit` (the dispatcher's group
    commit, on the store's writer thread) and is not waited for: a refused save is logged, and the
    next run saves again.
    """

    def __init__(self, store: Store, submit: Callable[[Callable[[], None]], asyncio.Future[None]]) -> None:
        self._store = store
        self._submit = submit

    def load(self, name: str) -> ScheduleStatus | None:
        row = self._store.get_timer_status(name.lower())
        if row is None:
            return None
        return ScheduleStatus(_moment(row.last) if row.last is not None else None, _moment(row.next),
                              _moment(row.last_updated))

    def save(self, name: str, status: ScheduleStatus) -> None:
        row = TimerStatusRow(name.lower(), status.last.timestamp() if status.last else None,
                             status.next.timestamp(), status.last_updated.timestamp())
        store = self._store
        self._submit(lambda: store.put_timer_status(row)).add_done_callback(
            lambda done: _log_refused_save(name, done))


def _log_refused_save(name: str, done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("the schedule status of timer %s was not saved: %s", name, done.exception())


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def monitored(use_monitor: Any, schedule: Any, zone: tzinfo = UTC, now: datetime | None = None) -> bool:
    """Whether a timer is monitored: its binding's `useMonitor`, else whether it recurs at most once a minute.

    `schedule` is a `timers.Schedule` (anything with `next_after(after, zone)`).
    """
    if isinstance(use_monitor, bool):
        return use_monitor
    if isinstance(use_monitor, str) and use_monitor.lower() in ("true", "false"):
        return use_monitor.lower() == "true"
    first = schedule.next_after(now or datetime.now(UTC), zone)
    return bool(schedule.next_after(first, zone) - first >= _MONITOR_MIN_PERIOD)


def missed_occurrence(status: ScheduleStatus, schedule: Any, zone: tzinfo, now: datetime) -> datetime | None:
    """The recorded next occurrence if it passed while nobody ran it, else None."""
    expected = status.next
    if schedule.next_after(status.last_updated, zone) != expected:  # the schedule changed meanwhile
        expected = schedule.next_after(status.last_updated, zone)
    return expected if now > expected else None
