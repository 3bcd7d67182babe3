"""Resumable Server-Sent Events over plain HTTP responses: the machinery every event route shares.

EventSource semantics without HTTP streaming from the Functions host (so the same code runs on
Azure): each response carries the events the client has not seen yet, then ends; the client
reconnects at once (`retry`) with `Last-Event-ID`, and the next response waits until there is
something new or the wait budget runs out (then a comment-only response, and the client simply
reconnects). A route supplies `fetch(seen)` (the frames after the event id `seen`, [] when there is
nothing new, None when the subject is gone) and `wake(timeout)` (returns early when a change may have
happened; a plain sleep is a correct, slower choice). `ConnectionLimit` bounds the waiting requests
per subject within one worker process.

Concurrency: everything here runs on the worker's event loop; no state is shared across threads.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import azure.functions as func

RETRY_MS = 100
WAKE_CHUNK_S = 5.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class Frame:
    """One event: `event` name, JSON `data`, and the `id` a reconnect sends back (None: no id line)."""

    event: str
    data: Any
    id: str | None = None

    def encode(self) -> str:
        id_line = f"id: {self.id}\n" if self.id is not None else ""
        return f"{id_line}event: {self.event}\ndata: {json.dumps(self.data)}\n\n"


Fetch = Callable[[str], Awaitable[list[Frame] | None]]
Wake = Callable[[float], Awaitable[None]]


def wait_budget_s(variable: str, default: float = 20.0) -> float:
    """How long one response may wait for news: `variable` from the environment, within 0.5..55 s."""
    try:
        return max(0.5, min(55.0, float(os.environ.get(variable, str(default)))))
    except ValueError:
        return default


def last_event_id(req: func.HttpRequest) -> str:
    """The id the client last received: the `Last-Event-ID` header, or the `lastEventId` query parameter."""
    return req.headers.get("Last-Event-ID") or req.params.get("lastEventId") or ""


def event_stream(frames: list[Frame]) -> func.HttpResponse:
    """200 `text/event-stream` with `frames` (or only a comment when there are none), then the end."""
    body = f"retry: {RETRY_MS}\n" + ("".join(f.encode() for f in frames) if frames
                                      else ": no change yet, reconnect\n\n")
    return func.HttpResponse(body, status_code=200, mimetype="text/event-stream", headers=HEADERS)


def no_more_events() -> func.HttpResponse:
    """204: EventSource stops reconnecting."""
    return func.HttpResponse(status_code=204)


async def frames_after(seen: str, fetch: Fetch, wake: Wake, budget_s: float) -> list[Frame]:
    """The frames after `seen`, waiting up to `budget_s` for some; [] when none came or the subject went."""
    deadline = time.monotonic() + budget_s
    while True:
        frames = await fetch(seen)
        if frames is None:
            return []
        if frames:
            return frames
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        await wake(min(left, WAKE_CHUNK_S))


async def respond(seen: str, first: list[Frame], fetch: Fetch, wake: Wake, budget_s: float) -> func.HttpResponse:
    """The response to a stream request whose first `fetch(seen)` gave `first` (the route handled None)."""
    frames = first or await frames_after(seen, fetch, wake, budget_s)
    return event_stream(frames)


def sleeper(interval_s: float) -> Wake:
    """A `wake` that only sleeps (at most `interval_s`): the portable fallback."""

    async def wake(timeout_s: float) -> None:
        await asyncio.sleep(min(timeout_s, interval_s))

    return wake


class ConnectionLimit:
    """At most `limit` waiting stream requests per subject (e.g. per player) in this worker process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    @contextmanager
    def hold(self, subject: str) -> Iterator[bool]:
        """Yields True while holding one of the subject's places, False (holding nothing) when all are taken."""
        if self._open.get(subject, 0) >= self.limit:
            yield False
            return
        self._open[subject] = self._open.get(subject, 0) + 1
        try:
            yield True
        finally:
            left = self._open[subject] - 1
            if left:
                self._open[subject] = left
            else:
                del self._open[subject]
