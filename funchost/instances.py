"""The live orchestration instances of one host, with their status listeners and completion waiters.

Every instance that has not finished is held here (recovered from the store at start); a
finished one leaves the table and is read from the store. Owned by the dispatcher's loop
thread. A listener that raises is logged and the other listeners still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .model import TERMINAL_STATUSES, Instance
from .store import InstanceRow
from .telemetry import HostTelemetry

log = logging.getLogger("funchost.dispatcher")

Listener = Callable[[InstanceRow], None]


class LiveInstances:
    """Unfinished instances by id (each with its created/updated times), listeners and waiters."""

    def __init__(self, telemetry: HostTelemetry) -> None:
        self._telemetry = telemetry
        self._rows: dict[str, InstanceRow] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._listeners: dict[str, list[Listener]] = {}

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._rows

    def get(self, instance_id: str) -> InstanceRow | None:
        return self._rows.get(instance_id)

    def put(self, inst: Instance, created: float, updated: float) -> None:
        self._rows[inst.instance_id] = InstanceRow(inst, created, updated)

    def pop(self, instance_id: str) -> None:
        self._rows.pop(instance_id, None)

    def running_by_name(self) -> dict[str, int]:
        """Unfinished instances per orchestrator name."""
        counts: dict[str, int] = {}
        for row in self._rows.values():
            counts[row.instance.name] = counts.get(row.instance.name, 0) + 1
        return counts

    def waiter(self, instance_id: str) -> asyncio.Future[None]:
        """A future that resolves when the instance finishes (at once if it is not live)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if instance_id not in self._rows:
            future.set_result(None)
        else:
            self._waiters.setdefault(instance_id, []).append(future)
        return future

    def add_listener(self, instance_id: str, callback: Listener) -> Callable[[], None]:
        """Call `callback` after every committed change of the instance; returns the remover."""
        self._listeners.setdefault(instance_id, []).append(callback)

        def remove() -> None:
            callbacks = self._listeners.get(instance_id, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._listeners.pop(instance_id, None)

        return remove

    def notify(self, row: InstanceRow) -> None:
        """Tell the listeners of a committed change; on a final status, wake the waiters."""
        instance_id = row.instance.instance_id
        for callback in list(self._listeners.get(instance_id, ())):
            try:
                callback(row)
            except Exception:
                log.exception("status listener of %s failed", instance_id)
        if row.instance.status in TERMINAL_STATUSES:
            self._telemetry.orchestration_finished(row.instance.name, row.instance.status)
            for future in self._waiters.pop(instance_id, []):
                if not future.done():
                    future.set_result(None)

    def fail_waiters(self, error: BaseException) -> None:
        """Fail every waiter with `error` (the host is stopping)."""
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(error)
        self._waiters.clear()
