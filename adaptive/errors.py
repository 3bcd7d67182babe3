"""Errors of the adaptive-difficulty model: rejected input and unreadable stored state."""

from __future__ import annotations

from dataclasses import dataclass


class AdaptiveError(Exception):
    """Base class of every error the adaptive package raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One rejected field: its name (as the client spelled it) and why it was rejected."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """`{field, message}`, as listed in the `details` of a 400 answer."""
        return {"field": self.field, "message": self.message}


class ValidationError(AdaptiveError):
    """A request or operation input was rejected; `errors` names every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("ValidationError needs at least one FieldError")
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def single(cls, field: str, message: str) -> ValidationError:
        """An error about one field."""
        return cls([FieldError(field, message)])

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the rejected fields, in the order they were checked."""
        return tuple(e.field for e in self.errors)


class StateError(AdaptiveError):
    """A stored session could not be read back: `path` says where in the JSON the problem is."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid stored session at {path}: {reason}")
        self.path = path
        self.reason = reason
