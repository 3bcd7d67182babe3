"""The app's HTTP API as Python calls (httpx, synchronous): one method per route the client uses.

Every answer other than 2xx becomes an `ApiError` carrying the API's error document; a host that does not
answer becomes `HostUnreachable`. Server-Sent Events routes answer one batch of events per request (the
app's resumable SSE, see docs/api.md); `events()` reads one such response with httpx-sse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource

from practice_cli.errors import ApiError, HostUnreachable, UnexpectedAnswer

DEFAULT_URL = "http://127.0.0.1:7071"
TASK_KINDS = ("spice-up", "reharmonize", "create")
# An events request may wait up to 55 s for news on the server (`*_EVENTS_WAIT_S`, default 20 s).
STREAM_READ_TIMEOUT_S = 75.0


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event with its JSON data."""

    event: str
    id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class EventBatch:
    """One response of a resumable event route: its events, and the reconnect delay the server asked for."""

    events: list[Event]
    retry_ms: int | None


def segment(value: str) -> str:
    """`value` as one URL path segment."""
    return quote(value, safe="")


class ApiClient:
    """A connection to one app host: `base_url` (without `/api`), `key` sent as `x-functions-key` if given."""

    def __init__(self, base_url: str = DEFAULT_URL, key: str | None = None, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"x-functions-key": key} if key else {}
        try:
            self._http = httpx.Client(base_url=f"{self.base_url}/api", headers=headers, timeout=timeout_s)
        except (httpx.InvalidURL, ValueError) as exc:
            raise HostUnreachable(base_url, f"not a usable URL ({exc})") from None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._http.close()

    # -- agent tasks ------------------------------------------------------------------------------------
    def start_task(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /agents/tasks/{kind}: the 202 TaskAccepted answer (it names the task in `taskId`)."""
        answer = self._json("POST", f"/agents/tasks/{segment(kind)}", body)
        if not isinstance(answer.get("taskId"), str):
            raise UnexpectedAnswer(f"POST /api/agents/tasks/{kind}: the answer names no taskId")
        return answer

    def task_status(self, task_id: str) -> dict[str, Any]:
        """GET /agents/tasks/{taskId}/status: the TaskStatus view."""
        return self._json("GET", f"/agents/tasks/{segment(task_id)}/status")

    def cancel_task(self, task_id: str) -> dict[str, Any]:
        """POST /agents/tasks/{taskId}/cancel: `{taskId, state: Cancelled}`."""
        return self._json("POST", f"/agents/tasks/{segment(task_id)}/cancel")

    def task_events(self, task_id: str, last_event_id: str) -> EventBatch | None:
        """One response of GET /agents/tasks/{taskId}/events after `last_event_id`; None once the stream ended."""
        return self.events(f"/agents/tasks/{segment(task_id)}/events", last_event_id)

    # -- player sessions --------------------------------------------------------------------------------
    def record_performance(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /adaptive-ai/record-performance: the RecordPerformanceResponse."""
        return self._json("POST", "/adaptive-ai/record-performance", body)

    def player_stats(self, player_id: str) -> dict[str, Any]:
        """GET /adaptive-ai/player-stats/{playerId}."""
        return self._json("GET", f"/adaptive-ai/player-stats/{segment(player_id)}")

    def recommended_exercise(self, player_id: str) -> dict[str, Any]:
        """GET /adaptive-ai/recommended-exercise/{playerId}."""
        return self._json("GET", f"/adaptive-ai/recommended-exercise/{segment(player_id)}")

    def player_events(self, player_id: str, last_event_id: str) -> EventBatch | None:
        """One response of GET /adaptive-ai/session/{playerId}/events after `last_event_id`."""
        return self.events(f"/adaptive-ai/session/{segment(player_id)}/events", last_event_id)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            reply = self._http.request(method, path, json=body)
        except httpx.RequestError as exc:
            raise self._unreachable(exc) from None
        self._raise_for_error(reply)
        try:
            answer = reply.json()
        except ValueError:
            raise UnexpectedAnswer(f"{method} {reply.url}: answer {reply.status_code} is not JSON") from None
        if not isinstance(answer, dict):
            raise UnexpectedAnswer(f"{method} {reply.url}: answer is not a JSON object")
        return answer

    def events(self, path: str, last_event_id: str) -> EventBatch | None:
        """One response of a resumable event route: its events, or None on 204 (no more events)."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        try:
            with self._http.stream("GET", path, headers=headers, timeout=timeout) as reply:
                if reply.status_code == 204:
                    return None
                if reply.status_code >= 400:
                    reply.read()
                    self._raise_for_error(reply)
                content_type = reply.headers.get("content-type", "")
                if not content_type.startswith("text/event-stream"):
                    raise UnexpectedAnswer(f"GET {reply.url}: answer is {content_type or 'untyped'}, not events")
                return _batch(EventSource(reply))
        except httpx.RequestError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: httpx.RequestError) -> HostUnreachable:
        reason = str(exc) or type(exc).__name__
        return HostUnreachable(self.base_url, " ".join(reason.split()))

    @staticmethod
    def _raise_for_error(reply: httpx.Response) -> None:
        if reply.status_code < 400:
            return
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            text = " ".join(reply.text.split())[:200]
            raise UnexpectedAnswer(f"{reply.request.method} {reply.url}: {reply.status_code} {text}".rstrip())
        raise ApiError(reply.status_code, body)


def _batch(source: EventSource) -> EventBatch:
    events: list[Event] = []
    retry: int | None = None
    for item in source.iter_sse():
        retry = item.retry if item.retry is not None else retry
        if not item.data:
            continue  # a comment-only or retry-only block
        try:
            data = json.loads(item.data)
        except ValueError:
            raise UnexpectedAnswer(f"event {item.event!r} does not carry JSON data") from None
        if not isinstance(data, dict):
            raise UnexpectedAnswer(f"event {item.event!r} does not carry a JSON object")
        events.append(Event(item.event, item.id, data))
    return EventBatch(events, retry)
