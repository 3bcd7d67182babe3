"""Cooperative cancellation for activities: a documented host extra that Azure does not have.

When an orchestration is terminated, the host flips the token of every activity of that
instance that is still running. An activity polls `current_token().cancelled` (or awaits
`token.wait()` in async code) and returns early. Apps should reach this module only through
their own optional adapter, so the same code runs unchanged on Azure, where nothing cancels.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable


class CancellationToken:
    """Set once by the dispatcher (loop thread); read from any thread or task."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        if self._event.is_set():
            return
        self._event.set()
        for callback in self._callbacks:
            callback()

    def wait_blocking(self, timeout: float | None = None) -> bool:
        """Block the calling thread until cancelled or `timeout` seconds pass; True if cancelled."""
        return self._event.wait(timeout)

    async def wait(self) -> None:
        """Await cancellation from async activity code (runs on the host's loop)."""
        if self.cancelled:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def resolve() -> None:
            if not future.done():
                future.set_result(None)

        def wake() -> None:
            future.get_loop().call_soon_threadsafe(resolve)

        self._callbacks.append(wake)
        await future


_current: contextvars.ContextVar[CancellationToken | None] = contextvars.ContextVar(
    "funchost_cancellation", default=None)


def current_token() -> CancellationToken | None:
    """The token of the activity running in this context, or None outside an activity."""
    return _current.get()


def bind(token: CancellationToken) -> contextvars.Token[CancellationToken | None]:
    return _current.set(token)


def unbind(reset: contextvars.Token[CancellationToken | None]) -> None:
    _current.reset(reset)
