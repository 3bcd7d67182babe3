"""A small client of a running host's management API and admin endpoints, for the `funchost` admin commands.

Synchronous (the CLI does one thing at a time) on the standard library's HTTP client. Every call sends the
admin key, when one is given, as the `x-functions-key` header; an answer outside 2xx raises `AdminApiError`
with the host's own message, and a host that cannot be reached raises `HostUnreachable`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

DURABLE = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


class AdminClientError(Exception):
    """Base of the client's errors; `str()` is a line for the user."""


class HostUnreachable(AdminClientError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the host at {url}: {reason} (is `funchost start` running? see --url)")
        self.url = url


class AdminApiError(AdminClientError):
    """The host answered with an error status; `message` is its explanation."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {message}")
        self.status = status
        self.message = message


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    data: Any


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:500] or "(no body)"
    if isinstance(data, dict):
        return str(data.get("details") or data.get("Message") or data.get("error") or data)[:500]
    return str(data)[:500]


def _segment(value: str) -> str:
    return quote(value, safe="")


def _entity_path(name: str, key: str) -> str:
    return f"{DURABLE}/entities/{_segment(name)}/{_segment(key) if key else '$'}"


class AdminClient:
    """Calls against one host (`base_url`, e.g. http://127.0.0.1:7071); owned by one thread."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key or None
        self.timeout = timeout

    def request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                headers: dict[str, str] | None = None, has_body: bool = False) -> Reply:
        """One call; `body` is sent as JSON when given (or when `has_body`, so `None` sends `null`)."""
        params = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        sent = dict(headers or {})
        if self.key:
            sent["x-functions-key"] = self.key
        data = None
        if body is not None or has_body:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                status, got = resp.status, {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            raise AdminApiError(method, path, err.code, _message(err.read())) from None
        except (urllib.error.URLError, OSError) as err:
            raise HostUnreachable(self.base_url, str(getattr(err, "reason", err))) from None
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return Reply(status, got, parsed)

    # -- instances ----------------------------------------------------------------------------------
    def list_instances(self, statuses: tuple[str, ...] = (), prefix: str | None = None,
                       created_from: str | None = None, created_to: str | None = None, top: int | None = None,
                       token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of instances and the continuation token of the next page (None at the end)."""
        reply = self.request("GET", f"{DURABLE}/instances", {
            "runtimeStatus": ",".join(statuses), "instanceIdPrefix": prefix, "createdTimeFrom": created_from,
            "createdTimeTo": created_to, "top": top, "showInput": "false"},
            headers={CONTINUATION_HEADER: token} if token else None)
        return list(reply.data or []), reply.headers.get(CONTINUATION_HEADER)

    def instance(self, instance_id: str, history: bool = False) -> dict[str, Any]:
        reply = self.request("GET", f"{DURABLE}/instances/{_segment(instance_id)}", {
            "showHistory": "true" if history else None, "showHistoryOutput": "true" if history else None})
        return dict(reply.data)

    def operation(self, instance_id: str, operation: str, reason: str | None = None) -> Reply:
        """terminate, suspend or resume (202 when accepted)."""
        return self.request("POST", f"{DURABLE}/instances/{_segment(instance_id)}/{operation}", {"reason": reason})

    def restart(self, instance_id: str, new_instance_id: bool = True) -> dict[str, Any]:
        """The management links of the restarted instance (`id` is its instance id)."""
        reply = self.request("POST", f"{DURABLE}/instances/{_segment(instance_id)}/restart",
                             {"restartWithNewInstanceId": "true" if new_instance_id else "false"})
        return dict(reply.data)

    def purge(self, instance_id: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"{DURABLE}/instances/{_segment(instance_id)}").data)

    def raise_event(self, instance_id: str, event: str, data: Any) -> Reply:
        return self.request("POST", f"{DURABLE}/instances/{_segment(instance_id)}/raiseEvent/{_segment(event)}",
                            body=data, has_body=True)

    # -- entities -----------------------------------------------------------------------------------
    def list_entities(self, name: str | None = None, top: int | None = None, token: str | None = None,
                      fetch_state: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        path = f"{DURABLE}/entities" + (f"/{_segment(name)}" if name else "")
        reply = self.request("GET", path, {"top": top, "fetchState": "true" if fetch_state else None},
                             headers={CONTINUATION_HEADER: token} if token else None)
        return list(reply.data or []), reply.headers.get(CONTINUATION_HEADER)

    def entity_state(self, name: str, key: str) -> Any:
        return self.request("GET", _entity_path(name, key)).data

    def signal(self, name: str, key: str, operation: str, data: Any = None, has_input: bool = False) -> Reply:
        return self.request("POST", _entity_path(name, key), {"op": operation}, body=data, has_body=has_input)

    def delete_entity(self, name: str, key: str) -> Reply:
        return self.request("DELETE", _entity_path(name, key))

    # -- host ---------------------------------------------------------------------------------------
    def functions(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/admin/functions").data["functions"])
