"""Wake-ups for the player event streams: a write route says "player P changed", waiting streams of P wake.

In-process and best effort: it only shortens the wait of streams served by the same worker process
as the write (all of them on funchost). Streams never rely on it for correctness: they re-read the
entity state after every wake-up and at least every `POLL_S` (a write served by another Azure
instance, or a signal sent through the management API, is seen by that poll).

Concurrency: used only from the worker's event loop; `notify` resolves futures created on it.
"""

from __future__ import annotations

import asyncio
import contextlib

POLL_S = 1.0

_waiters: dict[str, set[asyncio.Future[None]]] = {}


def notify(player_id: str) -> None:
    """Wake every stream of `player_id` waiting in this process."""
    for future in _waiters.pop(player_id, set()):
        if not future.done():
            future.set_result(None)


async def wait(player_id: str, timeout_s: float) -> None:
    """Return when `player_id` may have changed: after a `notify`, or after min(timeout_s, POLL_S)."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters = _waiters.setdefault(player_id, set())
    waiters.add(future)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, min(timeout_s, POLL_S))
    finally:
        waiters.discard(future)
        if not waiters and _waiters.get(player_id) is waiters:
            del _waiters[player_id]
