"""Request validation: clear errors naming each bad field, safe player ids, unknown fields ignored."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive.errors import ValidationError
from adaptive.events import Attempt, Performance
from adaptive.validation import (
    parse_now,
    parse_performance_request,
    parse_record_request,
    validate_player_id,
)

NOW = 1_700_000_000_000


def record(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"playerId": "p1", "success": True, "timeMs": 1500, "attempts": 2,
                            "shapeId": "Cmaj7-drop2"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def performance(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"playerId": "p1", "accuracy": 0.9, "speed": 0.5, "consistency": 0.75,
                            "context": "ii-V-I in Bb"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def rejected_fields(body: dict[str, Any], parse: Any = parse_record_request) -> tuple[str, ...]:
    with pytest.raises(ValidationError) as info:
        parse(body, NOW)
    return info.value.fields


def test_a_valid_record_request_becomes_an_attempt_stamped_with_now() -> None:
    player_id, attempt = parse_record_request(record(extra="ignored", nested={"x": 1}), NOW)
    assert player_id == "p1"
    assert attempt == Attempt(success=True, time_ms=1500, attempts=2, shape_id="Cmaj7-drop2", at_ms=NOW)


def test_time_is_kept_in_whole_milliseconds() -> None:
    assert parse_record_request(record(timeMs=1500.6), NOW)[1].time_ms == 1501
    assert parse_record_request(record(timeMs=0.2), NOW)[1].time_ms == 1


def test_an_integral_float_is_an_integer_as_in_json_schema() -> None:
    parsed = parse_record_request(record(attempts=3.0), NOW)[1].attempts
    assert parsed == 3 and type(parsed) is int


@pytest.mark.parametrize("field", ["playerId", "success", "timeMs", "attempts", "shapeId"])
def test_every_record_field_is_required(field: str) -> None:
    assert rejected_fields(record(**{field: ...})) == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("success", 1), ("success", "true"), ("success", None),
        ("timeMs", True), ("timeMs", "1500"), ("timeMs", 0), ("timeMs", -5), ("timeMs", 3_600_001),
        ("timeMs", math.nan), ("timeMs", math.inf), ("timeMs", 10**400),
        ("attempts", True), ("attempts", 0), ("attempts", 1001), ("attempts", 2.5), ("attempts", 1000.5),
        ("attempts", 1001.0), ("attempts", math.inf), ("attempts", "3"),
        ("shapeId", ""), ("shapeId", "x" * 65), ("shapeId", "C maj7"), ("shapeId", "C@7"), ("shapeId", 7),
        ("shapeId", "Cmaj7\n"),
    ],
)
def test_wrong_types_and_out_of_range_values_are_rejected_naming_the_field(field: str, value: Any) -> None:
    assert rejected_fields(record(**{field: value})) == (field,)


def test_all_problems_are_reported_at_once_with_readable_reasons() -> None:
    with pytest.raises(ValidationError) as info:
        parse_record_request({"playerId": "a b", "success": 1, "timeMs": True}, NOW)
    assert info.value.fields == ("playerId", "success", "timeMs", "attempts", "shapeId")
    message = str(info.value)
    assert "success: must be a boolean (true or false), got number" in message
    assert "timeMs: must be a number, got boolean" in message
    assert "attempts: is required" in message


@pytest.mark.parametrize("shape", ["Cmaj7-drop2", "F#m7b5", "G/B", "C7(#9)", "Bb13", "x" * 64, "A:1.2_~+"])
def test_chord_style_shape_ids_are_accepted(shape: str) -> None:
    assert parse_record_request(record(shapeId=shape), NOW)[1].shape_id == shape


@pytest.mark.parametrize(
    "player_id",
    ["", "x" * 129, "a/b", "a@b", "a b", "tab\tx", "nul\x00", "caf\u00e9", "..", ".", "a?b", "a#b", "a%20b",
     None, 42, True, ["p1"]],
)
def test_unsafe_player_ids_are_rejected(player_id: Any) -> None:
    with pytest.raises(ValidationError) as info:
        validate_player_id(player_id)
    assert info.value.fields == ("playerId",)
    assert rejected_fields(record(playerId=player_id)) == ("playerId",)


@pytest.mark.parametrize("player_id", ["p1", "Alice.Smith_42~x-y", "x" * 128, "...a", "0"])
def test_safe_player_ids_are_accepted(player_id: str) -> None:
    assert validate_player_id(player_id) == player_id


def test_a_valid_performance_request_with_optional_context() -> None:
    player_id, perf, context = parse_performance_request(performance(), NOW)
    assert (player_id, perf, context) == ("p1", Performance(0.9, 0.5, 0.75, NOW), "ii-V-I in Bb")
    assert parse_performance_request(performance(context=...), NOW)[2] == ""
    assert parse_performance_request(performance(accuracy=1, speed=0, consistency=1), NOW)[1].accuracy == 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accuracy", -0.01), ("accuracy", 1.01), ("accuracy", math.nan), ("accuracy", True),
        ("speed", "fast"), ("speed", math.inf), ("speed", ...), ("consistency", None), ("consistency", ...),
        ("context", "x" * 257), ("context", 5), ("context", "bell\x07"),
    ],
)
def test_bad_performance_fields_are_rejected_naming_the_field(field: str, value: Any) -> None:
    assert rejected_fields(performance(**{field: value}), parse_performance_request) == (field,)


def test_a_body_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_record_request([1, 2], NOW)


def test_now_accepts_epoch_ms_and_iso_strings() -> None:
    assert parse_now(NOW) == NOW
    assert parse_now("2023-11-14T22:13:20Z") == NOW
    assert parse_now("2023-11-14T22:13:20.250+00:00") == NOW + 250
    assert parse_now("2023-11-14T22:13:20") == NOW  # naive means UTC
    for bad in (True, -1, "yesterday", None, 1.5e12):
        with pytest.raises(ValidationError):
            parse_now(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
field_names = st.sampled_from(["playerId", "success", "timeMs", "attempts", "shapeId", "accuracy", "speed",
                               "consistency", "context", "other"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=10))
def test_arbitrary_json_either_parses_or_raises_validation_error(body: dict[str, Any]) -> None:
    for parse in (parse_record_request, parse_performance_request):
        try:
            parse(body, NOW)
        except ValidationError as exc:
            assert exc.errors and all(e.message for e in exc.errors)
