"""Validation of untrusted input: player ids, attempt and performance requests, caller timestamps.

Every check names the offending field as the client spelled it and says what was expected, and all
problems of one request are reported together (`ValidationError.errors`). Unknown extra fields are
ignored. The rules:

- `playerId`: a string of 1..128 characters from `[A-Za-z0-9._~-]` (the RFC 3986 unreserved set), and
  not made only of dots. This rejects `/`, `@` (it separates name and key in durable entity ids),
  whitespace, control characters and anything needing percent-encoding; ids of dots only would be
  rewritten by URL normalisation and so could never be read back through the GET routes.
- `success`: a JSON boolean (`1` is not a boolean).
- `timeMs`: a finite JSON number, 0 < timeMs <= 3,600,000 (one hour); `true` is not a number. It is
  kept in whole milliseconds (rounded, at least 1): finer precision means nothing for a chord change
  and integer totals keep the stored session small.
- `attempts`: a JSON integer, 1..1000; as in JSON Schema an integral float (`3.0`) is an integer, `3.5` is not.
- `shapeId`: a string of 1..64 characters from `[A-Za-z0-9._~#+/():-]` (chord names such as
  `Cmaj7-drop2`, `F#m7b5`, `G/B`, `C7(#9)`).
- `accuracy`, `speed`, `consistency`: finite JSON numbers in [0, 1]; NaN and infinities are rejected.
- `context`: optional string of at most 256 characters without control characters (default `""`).
- `now` (entity operation input only): epoch milliseconds as a JSON integer, or an ISO 8601 string
  (a naive time is taken as UTC).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adaptive.errors import FieldError, ValidationError
from adaptive.events import Attempt, Performance

PLAYER_ID_MAX_CHARS = 128
PLAYER_ID_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
SHAPE_ID_MAX_CHARS = 64
SHAPE_ID_PATTERN = re.compile(r"[A-Za-z0-9._~#+/():-]+")
MAX_TIME_MS = 3_600_000
MAX_ATTEMPTS = 1000
CONTEXT_MAX_CHARS = 256
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the largest datetime can represent

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages a client can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


class _Collector:
    """Gathers the errors of one request so the client sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, reason: str) -> None:
        self.errors.append(FieldError(field, reason))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)

    def present(self, data: Mapping[str, Any], field: str) -> bool:
        if field not in data:
            self.add(field, "is required")
            return False
        return True

    def boolean(self, data: Mapping[str, Any], field: str) -> bool | None:
        if not self.present(data, field):
            return None
        value = data[field]
        if not isinstance(value, bool):
            self.add(field, f"must be a boolean (true or false), got {json_type_name(value)}")
            return None
        return value

    def number(self, data: Mapping[str, Any], field: str, low: float, high: float,
               low_exclusive: bool = False) -> float | None:
        if not self.present(data, field):
            return None
        value = data[field]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(field, f"must be a number, got {json_type_name(value)}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(field, "must be a finite number (NaN and infinity are not allowed)")
            return None
        too_low = value <= low if low_exclusive else value < low
        if too_low or value > high:
            low_text = f"> {_fmt(low)}" if low_exclusive else f">= {_fmt(low)}"
            self.add(field, f"must be {low_text} and <= {_fmt(high)}, got {_fmt(value)}")
            return None
        return float(value)

    def integer(self, data: Mapping[str, Any], field: str, low: int, high: int) -> int | None:
        if not self.present(data, field):
            return None
        value = data[field]
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)  # JSON Schema counts 3.0 as an integer
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, f"must be an integer, got {json_type_name(value)}"
                     + (f" {_fmt(value)}" if isinstance(value, float) else ""))
            return None
        if not low <= value <= high:
            self.add(field, f"must be between {low} and {high}, got {_fmt(value)}")
            return None
        return value

    def text(self, data: Mapping[str, Any], field: str, max_chars: int, pattern: re.Pattern[str],
             allowed: str) -> str | None:
        if not self.present(data, field):
            return None
        value = data[field]
        if not isinstance(value, str):
            self.add(field, f"must be a string, got {json_type_name(value)}")
            return None
        if not 1 <= len(value) <= max_chars:
            self.add(field, f"must be 1..{max_chars} characters long, got {len(value)}")
            return None
        if pattern.fullmatch(value) is None:
            self.add(field, f"may contain only {allowed}")
            return None
        return value


def _fmt(value: float) -> str:
    """A number as a short string; huge integers are abbreviated so messages stay short."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{'-' if value < 0 else ''}an integer of {len(str(abs(value)))} digits"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_player_id(errors: _Collector, value: object, field: str) -> str | None:
    if not isinstance(value, str):
        errors.add(field, f"must be a string, got {json_type_name(value)}")
        return None
    if not 1 <= len(value) <= PLAYER_ID_MAX_CHARS:
        errors.add(field, f"must be 1..{PLAYER_ID_MAX_CHARS} characters long, got {len(value)}")
        return None
    if PLAYER_ID_PATTERN.fullmatch(value) is None:
        errors.add(field, "may contain only letters A-Z a-z, digits 0-9 and . _ ~ -")
        return None
    if value.strip(".") == "":
        errors.add(field, "must not consist only of dots")
        return None
    return value


def validate_player_id(value: object, field: str = "playerId") -> str:
    """Return `value` as a player id, or raise ValidationError naming `field`."""
    errors = _Collector()
    player_id = _check_player_id(errors, value, field)
    if player_id is None:
        raise ValidationError(errors.errors)
    return player_id


def parse_now(value: object, field: str = "now") -> int:
    """Epoch milliseconds from an integer or an ISO 8601 string; raise ValidationError otherwise."""
    if isinstance(value, bool):
        raise ValidationError.single(field, "must be epoch milliseconds or an ISO 8601 string, got boolean")
    if isinstance(value, int):
        if not 0 <= value <= MAX_EPOCH_MS:
            raise ValidationError.single(field, f"must be between 0 and {MAX_EPOCH_MS} ms, got {_fmt(value)}")
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError.single(field, f"is not an ISO 8601 date-time: {value[:40]!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        millis = math.floor(moment.timestamp() * 1000)
        if not 0 <= millis <= MAX_EPOCH_MS:
            raise ValidationError.single(field, "must not be before 1970-01-01T00:00:00Z")
        return millis
    raise ValidationError.single(
        field, f"must be epoch milliseconds or an ISO 8601 string, got {json_type_name(value)}"
    )


def _attempt_fields(errors: _Collector, data: Mapping[str, Any]) -> tuple[Any, ...]:
    success = errors.boolean(data, "success")
    time_ms = errors.number(data, "timeMs", 0, MAX_TIME_MS, low_exclusive=True)
    return (
        success,
        None if time_ms is None else max(1, round(time_ms)),
        errors.integer(data, "attempts", 1, MAX_ATTEMPTS),
        errors.text(data, "shapeId", SHAPE_ID_MAX_CHARS, SHAPE_ID_PATTERN,
                    "letters, digits and . _ ~ # + / ( ) : -"),
    )


def _performance_fields(errors: _Collector, data: Mapping[str, Any]) -> tuple[Any, ...]:
    accuracy = errors.number(data, "accuracy", 0.0, 1.0)
    speed = errors.number(data, "speed", 0.0, 1.0)
    consistency = errors.number(data, "consistency", 0.0, 1.0)
    context = data.get("context", "")
    if context is None:
        context = ""
    if not isinstance(context, str):
        errors.add("context", f"must be a string, got {json_type_name(context)}")
    elif len(context) > CONTEXT_MAX_CHARS:
        errors.add("context", f"must be at most {CONTEXT_MAX_CHARS} characters long, got {len(context)}")
    elif _CONTROL_CHARS.search(context):
        errors.add("context", "must not contain control characters")
    return accuracy, speed, consistency, context


def _require_object(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError.single("(body)", f"must be a JSON object, got {json_type_name(data)}")
    return data


def _body_player_id(errors: _Collector, fields: Mapping[str, Any]) -> str:
    """The body's `playerId`, or `""` after recording why it is invalid (the caller then raises)."""
    if not errors.present(fields, "playerId"):
        return ""
    return _check_player_id(errors, fields["playerId"], "playerId") or ""


def parse_attempt(data: object, now_ms: int) -> Attempt:
    """An Attempt at `now_ms` from the fields `success`, `timeMs`, `attempts`, `shapeId` of `data`."""
    fields = _require_object(data)
    errors = _Collector()
    success, time_ms, attempts, shape_id = _attempt_fields(errors, fields)
    errors.raise_if_any()
    return Attempt(success=success, time_ms=time_ms, attempts=attempts, shape_id=shape_id, at_ms=now_ms)


def parse_performance(data: object, now_ms: int) -> tuple[Performance, str]:
    """A Performance at `now_ms` and its context string from `accuracy`, `speed`, `consistency`, `context`."""
    fields = _require_object(data)
    errors = _Collector()
    accuracy, speed, consistency, context = _performance_fields(errors, fields)
    errors.raise_if_any()
    return Performance(accuracy=accuracy, speed=speed, consistency=consistency, at_ms=now_ms), context


def parse_record_request(body: object, now_ms: int) -> tuple[str, Attempt]:
    """Validate a record-performance request body: its player id and the attempt, all errors at once."""
    fields = _require_object(body)
    errors = _Collector()
    player_id = _body_player_id(errors, fields)
    success, time_ms, attempts, shape_id = _attempt_fields(errors, fields)
    errors.raise_if_any()
    attempt = Attempt(success=success, time_ms=time_ms, attempts=attempts, shape_id=shape_id, at_ms=now_ms)
    return player_id, attempt


def parse_performance_request(body: object, now_ms: int) -> tuple[str, Performance, str]:
    """Validate an update-performance request body: player id, performance and context."""
    fields = _require_object(body)
    errors = _Collector()
    player_id = _body_player_id(errors, fields)
    accuracy, speed, consistency, context = _performance_fields(errors, fields)
    errors.raise_if_any()
    performance = Performance(accuracy=accuracy, speed=speed, consistency=consistency, at_ms=now_ms)
    return player_id, performance, context
