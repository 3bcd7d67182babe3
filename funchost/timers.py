"""Timer triggers: NCRONTAB and TimeSpan schedules, and the loop that runs each timer function.

Schedules are read as the Functions host reads them: six NCRONTAB fields, seconds first
(`*`, lists, ranges, `/` steps, month and day names; a day matches when both the day of the month
and the day of the week match), or a TimeSpan `hh:mm:ss` (`d.hh:mm:ss`) run every so often.
Occurrences are computed in UTC, or in the zone named by `WEBSITE_TIME_ZONE` (an IANA name).
A timer function runs at most one invocation at a time: the next occurrence is computed after the
previous invocation returned, and a run started by `/admin/functions/{name}` takes the same turn.
Monitored timers (`use_monitor`, see schedule_monitor.py) keep their schedule status in the store
and run at start-up with `past_due` when the host was down across an occurrence.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azure.functions.timer import TimerRequest

from . import console
from .schedule_monitor import ScheduleMonitor, ScheduleStatus, missed_occurrence

log = logging.getLogger("funchost.timers")

_MONTHS = {n: i for i, n in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DAYS = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}), ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day of week", 0, 6, _DAYS))
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")


class ScheduleError(ValueError):
    """The schedule expression is not a valid NCRONTAB or TimeSpan expression."""


@dataclass(frozen=True)
class Cron:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]


@dataclass(frozen=True)
class Schedule:
    expression: str
    cron: Cron | None = None
    interval: timedelta | None = None

    def next_after(self, after: datetime, zone: tzinfo = UTC) -> datetime:
        """The first occurrence strictly after `after` (an aware datetime), in UTC."""
        if self.interval is not None:
            return (after + self.interval).astimezone(UTC)
        assert self.cron is not None
        return next_occurrence(self.cron, after, zone)


def _value(text: str, names: dict[str, int], field: str) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise ScheduleError(f"{field} field: {text!r} is not a number" + (" or a name" if names else ""))
    return int(text)


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{field} field: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{field} field: step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, names, field), _value(last, names, field)
        else:
            start = _value(base, names, field)
            end = high if step_text else start
        if field == "day of week" and end == 7:  # 7 is Sunday too
            end = 6 if start <= 6 else 7
            if start == 7:
                start = end = 0
        for value in (start, end):
            if not low <= value <= high:
                raise ScheduleError(f"{field} field: {value} is outside {low}-{high}")
        if start > end:
            raise ScheduleError(f"{field} field: range {base!r} runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(expression: str) -> Schedule:
    """Parse an NCRONTAB (six fields) or TimeSpan schedule; raise ScheduleError naming the problem."""
    text = expression.strip()
    span = _TIMESPAN.match(text)
    if span:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in span.groups())
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ScheduleError(f"TimeSpan {expression!r} has an hour, minute or second out of range")
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ScheduleError(f"TimeSpan {expression!r} must be positive")
        return Schedule(expression, interval=interval)
    parts = text.split()
    if len(parts) != 6:
        raise ScheduleError(f"{expression!r} is neither a six-field NCRONTAB expression "
                            "({second} {minute} {hour} {day} {month} {day-of-week}) nor a TimeSpan (hh:mm:ss)")
    sets = [_parse_field(p, name, low, high, names) for p, (name, low, high, names) in zip(parts, _FIELDS, strict=True)]
    cron = Cron(tuple(sorted(sets[0])), tuple(sorted(sets[1])), tuple(sorted(sets[2])), sets[3], sets[4], sets[5])
    if not any(_day_exists(d, m) for d in cron.days for m in cron.months):
        raise ScheduleError(f"{expression!r} names no day that exists")
    return Schedule(expression, cron=cron)


def _day_exists(day: int, month: int) -> bool:
    return day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)


def next_occurrence(cron: Cron, after: datetime, zone: tzinfo = UTC) -> datetime:
    """The first time matching `cron` (read as wall-clock time in `zone`) strictly after `after`, in UTC."""
    local = after.astimezone(zone).replace(microsecond=0, tzinfo=None)
    day = local.replace(hour=0, minute=0, second=0)
    for _ in range(366 * 28):  # every weekday/date combination recurs within 28 years
        weekday = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        if day.month in cron.months and day.day in cron.days and weekday in cron.weekdays:
            for hour in cron.hours:
                for minute in cron.minutes:
                    for second in cron.seconds:
                        candidate = day.replace(hour=hour, minute=minute, second=second)
                        if candidate > local:
                            aware = candidate.replace(tzinfo=zone).astimezone(UTC)
                            if aware > after:
                                return aware
        day += timedelta(days=1)
    raise ScheduleError("the schedule has no occurrence in the next 28 years")


def time_zone(name: str | None) -> tzinfo:
    """UTC, or the IANA zone `name` (the WEBSITE_TIME_ZONE setting; an unknown name is logged and UTC used)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("WEBSITE_TIME_ZONE %r is not a known IANA time zone; timers use UTC", name)
        return UTC


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: Schedule
    run_on_startup: bool
    trigger_param: str
    client_params: tuple[str, ...]
    wants_context: bool
    callable: Callable[..., Any]
    is_async: bool
    use_monitor: bool = False


class TimerRunner:
    """Runs every timer function on its schedule, one invocation of each at a time.

    Owned by the event loop: `start()` reads the monitored timers' schedule status (and notes the ones
    past due) before any loop runs; each timer then has one task, and `_invoke` writes the status back
    after each scheduled run. Each run is one console invocation (Executing/Executed lines); an exception
    from a timer function is printed there (its traceback logged at DEBUG) and the schedule goes on.
    """

    def __init__(self, timers: list[TimerFunction], client_binding: Callable[[], str],
                 run_sync: Callable[[Callable[[], Any]], Awaitable[Any]],
                 context: Callable[[str], Any], monitor: ScheduleMonitor, zone: tzinfo = UTC) -> None:
        self.timers = {t.name.lower(): t for t in timers}
        self._client_binding = client_binding
        self._run_sync = run_sync
        self._context = context
        self._monitor = monitor
        self._locks = {name: asyncio.Lock() for name in self.timers}
        self._status: dict[str, ScheduleStatus] = {}
        self._missed: dict[str, datetime] = {}  # found past due by start(); kept for the listing
        self._status_at_start: dict[str, ScheduleStatus] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._manual: set[asyncio.Task[None]] = set()
        self.zone = zone

    def next_occurrence(self, timer: TimerFunction, after: datetime | None = None) -> datetime:
        return timer.schedule.next_after(after or datetime.now(UTC), self.zone)

    def start(self) -> None:
        now = datetime.now(UTC)
        for key, timer in self.timers.items():
            if timer.use_monitor:
                self._read_status(key, timer, now)
        for timer in self.timers.values():
            self._tasks.append(asyncio.create_task(self._loop(timer), name=f"funchost-timer-{timer.name}"))

    def _read_status(self, key: str, timer: TimerFunction, now: datetime) -> None:
        """The stored status, or a first one (as Azure writes it for a timer never run before)."""
        status = self._monitor.load(timer.name)
        if status is None:
            status = ScheduleStatus(None, self.next_occurrence(timer, now), now)
            self._monitor.save(timer.name, status)
        else:
            missed = missed_occurrence(status, timer.schedule, self.zone, now)
            if missed is not None:
                self._missed[key] = missed
        self._status[key] = self._status_at_start[key] = status

    def describe(self, timer: TimerFunction) -> str:
        """The start-up listing line: schedule, next occurrence, and the monitor's view when monitored."""
        line = (f"{timer.name}: timerTrigger ({timer.schedule.expression}), next occurrence "
                f"{self.next_occurrence(timer).isoformat()}")
        key = timer.name.lower()
        if not timer.use_monitor:
            return line
        missed = self._missed.get(key)
        status = self._status_at_start.get(key)
        if missed is not None:
            return f"{line}, monitored: past due (missed {missed.isoformat()}), running now"
        last = status.last.isoformat() if status and status.last else "never"
        return f"{line}, monitored: last run {last}"

    async def stop(self) -> None:
        for task in [*self._tasks, *self._manual]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._manual, return_exceptions=True)
        self._tasks.clear()

    def invoke_now(self, timer: TimerFunction, payload: Any) -> None:
        """Run the function once, as `/admin/functions/{name}` does (after a run in progress finishes).

        As in Azure, a manual run is not a scheduled occurrence: it does not change the schedule status.
        """
        task = asyncio.create_task(self._invoke(timer, past_due=False, scheduled=None, manual=True),
                                   name=f"funchost-timer-admin-{timer.name}")
        self._manual.add(task)
        task.add_done_callback(self._manual.discard)

    async def _loop(self, timer: TimerFunction) -> None:
        try:
            await self._run_forever(timer)
        except asyncio.CancelledError:
            raise
        except Exception:  # a host defect: say so instead of a timer that silently stops
            log.exception("the timer loop of %s stopped", timer.name)

    async def _run_forever(self, timer: TimerFunction) -> None:
        missed = self._missed.get(timer.name.lower())
        if missed is not None:  # Azure runs a past-due timer instead of its run_on_startup run
            log.warning("timer %s is past due: its occurrence at %s passed while the host was down; running it now",
                        timer.name, missed.isoformat())
            await self._invoke(timer, past_due=True, scheduled=missed)
        elif timer.run_on_startup:
            await self._invoke(timer, past_due=False, scheduled=None)
        while True:
            due = self.next_occurrence(timer)
            delay = (due - datetime.now(UTC)).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            # Past due when the invocation starts an occurrence later than the one that follows it.
            late = datetime.now(UTC) >= self.next_occurrence(timer, due)
            await self._invoke(timer, past_due=late, scheduled=due)

    async def _invoke(self, timer: TimerFunction, past_due: bool, scheduled: datetime | None,
                      manual: bool = False) -> None:
        key = timer.name.lower()
        async with self._locks[key]:
            started = datetime.now(UTC)
            status = self._status.get(key)
            # Azure passes the status as it was before this run (its Next is this occurrence), or none
            # at all for an unmonitored timer.
            request = TimerRequest(past_due=past_due, schedule_status=status.to_json() if status else None,
                                   schedule={"AdjustForDST": True})
            kwargs: dict[str, Any] = {timer.trigger_param: request}
            for name in timer.client_params:
                kwargs[name] = self._client_binding()
            invocation_id = None
            if timer.wants_context:  # the console shows the invocation id the function sees
                kwargs["context"] = self._context(timer.name)
                invocation_id = getattr(kwargs["context"], "invocation_id", None)
            reason = console.HTTP_REASON if manual else fired_reason(datetime.now(self.zone))

            async def call(_: console.Invocation) -> Any:
                if timer.is_async:
                    return await timer.callable(**kwargs)
                return await self._run_sync(console.active().in_context(lambda: timer.callable(**kwargs)))

            try:  # the console prints Executing/Executed and the failure's message, as `func start`
                await console.active().invoke_async(timer.name, reason, call, invocation_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("timer function %s failed%s", timer.name, " (past due)" if past_due else "", exc_info=True)
            if timer.use_monitor and not manual:
                self._record_run(key, timer, scheduled or started)

    def _record_run(self, key: str, timer: TimerFunction, occurrence: datetime) -> None:
        now = datetime.now(UTC)
        status = ScheduleStatus(occurrence, self.next_occurrence(timer, now), now)
        self._status[key] = status
        self._monitor.save(timer.name, status)


def fired_reason(at: datetime) -> str:
    """The console's Reason for a timer run, as the Functions host words it: the firing time in .NET's
    round-trip format (seven fractional digits and the offset of the schedule's zone)."""
    return f"Timer fired at {at:%Y-%m-%dT%H:%M:%S}.{at.microsecond:06d}0{at.isoformat()[-6:]}"


def is_async(callable_: Callable[..., Any]) -> bool:
    target = getattr(callable_, "client_function", callable_)
    return inspect.iscoroutinefunction(callable_) or inspect.iscoroutinefunction(target)
