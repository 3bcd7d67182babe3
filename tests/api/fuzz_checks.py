"""Schemathesis checks shared by the fuzz runs: every error is the JSON error document, hostile input gets
a 4xx, and no answer repeats the bytes a hostile request carried.

A check is called by Schemathesis as `check(ctx, response, case)`; it returns None when it does not apply,
True when it passed, and raises AssertionError naming the request when it failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from tests.api.spec import check_error_document

Check = Callable[[Any, Any, Any], bool | None]


def media_type_of(response: Any) -> str:
    """The answer's media type without parameters, '' when it has none."""
    return str(response.headers.get("content-type", [""])[0]).split(";")[0].strip()


def error_body_is_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx/5xx answer is the one error document (schema ErrorDocument), whatever the route."""
    if response.status_code < 400:
        return None
    media_type = media_type_of(response)
    assert media_type == "application/json", (
        f"{case.method} {case.formatted_path} answered {response.status_code} with {media_type!r}: "
        f"{response.content[:200]!r}")
    check_error_document(json.loads(response.content))
    return True


def rejected_with(statuses: Iterable[int], attack: str) -> Check:
    """A check that the answer is a 4xx among `statuses`: the host refused the hostile request `attack`."""
    allowed = sorted(statuses)
    assert allowed and all(400 <= status < 500 for status in allowed), allowed

    def hostile_request_rejected(ctx: Any, response: Any, case: Any) -> bool:
        assert response.status_code in allowed, (
            f"{attack}: {case.method} {case.formatted_path} answered {response.status_code}, expected one of "
            f"{allowed}: {response.content[:300]!r}")
        return True

    return hostile_request_rejected


def echoes_none_of(fragments: Iterable[bytes], attack: str) -> Check:
    """A check that the answer (headers and body) repeats none of `fragments`, bytes the request carried."""
    sent = [fragment for fragment in fragments if fragment]

    def answer_echoes_nothing(ctx: Any, response: Any, case: Any) -> bool:
        headers = "\r\n".join(f"{name}: {value}" for name, values in response.headers.items() for value in values)
        answer = headers.encode("latin-1", "replace") + b"\r\n\r\n" + response.content
        echoed = [fragment for fragment in sent if fragment in answer]
        assert not echoed, f"{attack}: the answer repeats request bytes {echoed[:3]!r}: {response.content[:300]!r}"
        return True

    return answer_echoes_nothing
