"""Follow an agent task to its end with a progress bar, and a player's difficulty as it moves.

Task progress comes from the task's event stream (`/agents/tasks/{id}/events`: one response per change,
resumed with `Last-Event-ID`); a host without that route (404/405 on it, or an answer that is not an event
stream) is read through the status route instead, polled every POLL_INTERVAL_S. The bar is rich's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from practice_cli.client import ApiClient, Event
from practice_cli.errors import ApiError, UnexpectedAnswer

FINISHED_STATES = frozenset({"Completed", "Failed", "Cancelled"})
POLL_INTERVAL_S = 0.25
NO_STREAM_STATUSES = frozenset({404, 405, 501})


def _stream_views(client: ApiClient, task_id: str) -> Iterator[dict[str, Any]]:
    """The task's views from its event stream, the last one final; ends early only if the stream does."""
    last = ""
    while True:
        batch = client.task_events(task_id, last)
        if batch is None:
            return
        for event in batch.events:
            last = event.id or last
            yield event.data
            if event.event == "end":
                return


def _polled_views(client: ApiClient, task_id: str, sleep: Callable[[float], None]) -> Iterator[dict[str, Any]]:
    """The task's views from its status route, one per change, until it finishes."""
    seen: tuple[Any, ...] | None = None
    while True:
        view = client.task_status(task_id)
        key = (view.get("state"), view.get("progress"), view.get("stage"))
        if key != seen:
            seen = key
            yield view
        if view.get("state") in FINISHED_STATES:
            return
        sleep(POLL_INTERVAL_S)


def task_views(client: ApiClient, task_id: str, stream: bool = True,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, Any]]:
    """Every change of the task until it finishes, the last view being the finished task with its result."""
    view: dict[str, Any] | None = None
    if stream:
        try:
            for view in _stream_views(client, task_id):
                yield view
        except (ApiError, UnexpectedAnswer) as exc:
            no_stream = isinstance(exc, UnexpectedAnswer) or exc.status in NO_STREAM_STATUSES
            if view is not None or not no_stream:
                raise
        if view is not None and view.get("state") in FINISHED_STATES:
            return
    yield from _polled_views(client, task_id, sleep)


def progress_bar(console: Console, enabled: bool = True) -> Progress:
    """The bar a watched task fills: label, bar, percentage, the task's status message, elapsed time."""
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                    TextColumn("{task.fields[stage]}", markup=False), TimeElapsedColumn(),
                    console=console, disable=not enabled)


def watch_task(client: ApiClient, task_id: str, console: Console, stream: bool = True,
               show: bool = True) -> dict[str, Any]:
    """Watch the task to its end with a progress bar on `console` (if `show`); returns the final view.

    The bar appears with the first answer, so a refused request prints only its error.
    """
    views = task_views(client, task_id, stream)
    final = next(views)
    with progress_bar(console, show) as bar:
        job = bar.add_task(total=100, **_bar_fields(task_id, final))
        for view in views:
            final = view
            bar.update(job, **_bar_fields(task_id, view))
    return final


def _bar_fields(task_id: str, view: dict[str, Any]) -> dict[str, Any]:
    return {"description": f"{view.get('type', 'task')} {task_id[:8]}",
            "completed": float(view.get("progress") or 0) * 100,
            "stage": str(view.get("statusMessage") or view.get("stage") or "")}


def player_updates(client: ApiClient, player_id: str) -> Iterator[Event]:
    """The player's difficulty events as they happen (difficulty, gap, reset), forever."""
    last = ""
    while True:
        batch = client.player_events(player_id, last)
        if batch is None:
            return
        for event in batch.events:
            last = event.id or last
            yield event
