"""JSON from untrusted bodies with limits checked before and during parsing.

Python's parser raises RecursionError on deep nesting (about 1,000 levels, a 2 KB body) and ValueError
on integers over 4,300 digits; both escaped as 500s. `loads` turns every such input into
`UnsafeJson` (a ValueError), which callers answer as 400.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class UnsafeJson(ValueError):
    """The body is not JSON, or exceeds the nesting or number limits."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `raw` or raise UnsafeJson naming the problem."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise UnsafeJson(f"not UTF-8: {exc}") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise UnsafeJson(f"nested {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(text)
    except RecursionError:
        raise UnsafeJson(f"nested too deep; the limit is {max_depth}") from None
    except ValueError as exc:  # JSONDecodeError, and integers over the digit limit
        raise UnsafeJson(str(exc)) from None
