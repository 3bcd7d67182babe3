"""JSON from untrusted bodies with limits checked before and during parsing.

Python's parser raises RecursionError on deep nesting (about 1,000 levels, a 2 KB body) and ValueError
on integers over 4,300 digits; both escaped as 500s. `loads` turns every such input into
`UnsafeJson` (a ValueError), which callers answer as 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64


class UnsafeJson(ValueError):
    """The body is not JSON, or exceeds the nesting or number limits."""


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}|\[\}|\{\]")


def exceeds_depth(text: str, max_depth: int) -> bool:
    """Whether arrays and objects in `text` nest deeper than `max_depth` (brackets inside strings do not count).

    Runs in the regex engine, not a Python loop per character: strings and everything but brackets are
    removed, then innermost pairs are peeled `max_depth` times; brackets left mean deeper nesting (or
    unbalanced brackets, which the parser rejects anyway).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if len(brackets) <= max_depth:  # no deeper than the number of brackets
        return False
    return not _balanced_within(brackets, max_depth)


def _balanced_within(brackets: str, max_depth: int) -> bool:
    for _ in range(max_depth):
        peeled = _INNERMOST_PAIR.sub("", brackets)
        if not peeled:
            return True
        if peeled == brackets:  # unbalanced: nothing more to peel
            return False
        brackets = peeled
    return not brackets


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `raw` or raise UnsafeJson naming the problem."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise UnsafeJson(f"not UTF-8: {exc}") from None
    if exceeds_depth(text, max_depth):
        raise UnsafeJson(f"nested more than {max_depth} levels deep (or unbalanced brackets); the limit is "
                         f"{max_depth}")
    try:
        return json.loads(text)
    except RecursionError:
        raise UnsafeJson(f"nested too deep; the limit is {max_depth}") from None
    except ValueError as exc:  # JSONDecodeError, and integers over the digit limit
        raise UnsafeJson(str(exc)) from None
