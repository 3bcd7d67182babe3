"""Instance ids, entity names and keys are validated with a reason; entity ids are `@name@key`."""

from __future__ import annotations

import pytest

from funchost.errors import InvalidIdError
from funchost.ids import (
    MAX_ENTITY_KEY,
    MAX_INSTANCE_ID,
    entity_id,
    is_entity_id,
    split_entity_id,
    validate_entity_key,
    validate_entity_name,
    validate_instance_id,
)


@pytest.mark.parametrize("value", ["abc", "a-b_c.d:1", "x" * MAX_INSTANCE_ID, "caf\u00e9", "a b"])
def test_valid_instance_ids_pass_unchanged(value: str) -> None:
    assert validate_instance_id(value) == value


@pytest.mark.parametrize(("value", "reason"), [
    ("", "must not be empty"), ("x" * (MAX_INSTANCE_ID + 1), "longer than 256"), ("@counter@k", "start with '@'"),
    ("a/b", "must not contain '/'"), ("a\\b", "must not contain"), ("a#b", "must not contain"),
    ("a?b", "must not contain"), ("a\nb", "control characters"), ("a\x7fb", "control characters")])
def test_invalid_instance_ids_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdError, match="instance id") as caught:
        validate_instance_id(value)
    assert reason in str(caught.value)


@pytest.mark.parametrize("name", ["Counter", "_private", "a.b-c_1", "x" * 128])
def test_valid_entity_names(name: str) -> None:
    assert validate_entity_name(name) == name


@pytest.mark.parametrize("name", ["", "1counter", "-x", "a b", "a@b", "x" * 129, "caf\u00e9"])
def test_invalid_entity_names(name: str) -> None:
    with pytest.raises(InvalidIdError, match="entity name"):
        validate_entity_name(name)


@pytest.mark.parametrize(("key", "reason"), [
    ("k" * (MAX_ENTITY_KEY + 1), "longer than 256"), ("a@b", "must not contain '@'"), ("a\tb", "control")])
def test_invalid_entity_keys_say_why(key: str, reason: str) -> None:
    with pytest.raises(InvalidIdError, match="entity key") as caught:
        validate_entity_key(key)
    assert reason in str(caught.value)


def test_entity_id_lower_cases_the_name_and_keeps_the_key() -> None:
    assert entity_id("Counter", "Key-1 ü") == "@counter@Key-1 ü"
    assert entity_id("Counter", "") == "@counter@"  # an empty key is allowed, as in the extension
    assert split_entity_id("@counter@Key-1") == ("counter", "Key-1")
    assert is_entity_id("@counter@k") and not is_entity_id("counter")


@pytest.mark.parametrize("value", ["counter@k", "@counter", "@a@b@c", "x@y@z"])
def test_split_rejects_what_is_not_an_entity_id(value: str) -> None:
    with pytest.raises(InvalidIdError, match="expected '@name@key'"):
        split_entity_id(value)


def test_entity_id_refuses_a_bad_name_every_time_and_reuses_a_good_one() -> None:
    for _ in range(2):  # the lower-cased names it remembers are only the valid ones
        with pytest.raises(InvalidIdError):
            entity_id("9bad name", "k")
        assert entity_id("Counter", "k") == "@counter@k"
        with pytest.raises(InvalidIdError):
            entity_id("Counter", "bad@key")
