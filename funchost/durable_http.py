"""The built-in `BuiltIn::HttpActivity` behind `context.call_http` (Durable HTTP)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .activities import ActivityOutcome

_TIMEOUT = aiohttp.ClientTimeout(total=100)


async def call_http(request: dict[str, Any]) -> ActivityOutcome:
    """Make the request once and return `{"statusCode", "headers", "content"}` as the task result."""
    method = str(request.get("method") or "GET").upper()
    uri = str(request.get("uri") or "")
    content = request.get("content")
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT) as session, session.request(
            method, uri, data=content if isinstance(content, str | bytes) or content is None else json.dumps(content),
            headers=headers,
        ) as resp:
            body = await resp.text()
            result = {"statusCode": resp.status, "headers": dict(resp.headers), "content": body}
            return ActivityOutcome(True, json.dumps(result))
    except Exception as exc:
        return ActivityOutcome(False, reason=f"Activity function '{'BuiltIn::HttpActivity'}' failed: "
                                             f"{type(exc).__name__}: {exc}")
