"""Validation of instance ids, entity names and keys before they reach the store."""

from __future__ import annotations

import re

from .errors import InvalidIdError

MAX_INSTANCE_ID = 256
MAX_ENTITY_KEY = 256
_FORBIDDEN_INSTANCE = re.compile(r"[/\\#?\x00-\x1f\x7f]")
_ENTITY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # compiled once: this check runs on every signal and entity call


def validate_instance_id(value: str) -> str:
    if not value:
        raise InvalidIdError("instance id", value, "it must not be empty")
    if len(value) > MAX_INSTANCE_ID:
        raise InvalidIdError("instance id", value, f"it is longer than {MAX_INSTANCE_ID} characters")
    if value.startswith("@"):
        raise InvalidIdError("instance id", value, "it must not start with '@'")
    if _FORBIDDEN_INSTANCE.search(value):
        raise InvalidIdError("instance id", value, "it must not contain '/', '\\', '#', '?' or control characters")
    return value


def validate_entity_name(value: str) -> str:
    if not _ENTITY_NAME.match(value or ""):
        raise InvalidIdError("entity name", value, "use letters, digits, '_', '.', '-' (max 128), starting "
                                                   "with a letter or '_'")
    return value


def validate_entity_key(value: str) -> str:
    if len(value) > MAX_ENTITY_KEY:
        raise InvalidIdError("entity key", value, f"it is longer than {MAX_ENTITY_KEY} characters")
    if "@" in value:
        raise InvalidIdError("entity key", value, "it must not contain '@' (entity ids are '@name@key')")
    if _CONTROL.search(value):
        raise InvalidIdError("entity key", value, "it must not contain control characters")
    return value


_LOWERED_NAMES: dict[str, str] = {}  # valid entity names as given -> lower-cased: an app's names are few
MAX_LOWERED_NAMES = 1024


def entity_id(name: str, key: str) -> str:
    """The scheduler id `@name@key`, with the name lower-cased as the extension does."""
    lowered = _LOWERED_NAMES.get(name)
    if lowered is None:
        lowered = validate_entity_name(name).lower()
        if len(_LOWERED_NAMES) < MAX_LOWERED_NAMES:  # names are validated, not known to exist: bounded
            _LOWERED_NAMES[name] = lowered
    return f"@{lowered}@{validate_entity_key(key)}"


def split_entity_id(value: str) -> tuple[str, str]:
    parts = value.split("@")
    if len(parts) != 3 or parts[0]:
        raise InvalidIdError("entity id", value, "expected '@name@key'")
    return parts[1], parts[2]


def is_entity_id(value: str) -> bool:
    return value.startswith("@")
