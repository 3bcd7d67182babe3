"""Errors of the music engine: each carries the offending input as a field and reads well on its own."""

from __future__ import annotations

from typing import Any


class HarmonyError(Exception):
    """Base class of every error the music engine raises for bad input."""


class ChordParseError(HarmonyError):
    """A chord symbol that cannot be read; `symbol` is the text as given."""

    def __init__(self, symbol: str, reason: str) -> None:
        super().__init__(f"cannot parse chord symbol {symbol!r}: {reason}")
        self.symbol = symbol
        self.reason = reason


class KeyParseError(HarmonyError):
    """A key name that cannot be read (e.g. `H major`); `text` is the key as given."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"cannot parse key {text!r}: {reason}")
        self.text = text
        self.reason = reason


class FieldError(HarmonyError):
    """One invalid request field: `field` names it (e.g. `progression[3]`), `message` says why."""

    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.allowed = allowed

    def to_json(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.allowed is not None:
            detail["allowed"] = list(self.allowed)
        return detail


class RequestValidationError(HarmonyError):
    """A task request with one or more invalid fields; `errors` lists every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        fields = ", ".join(error.field for error in errors)
        super().__init__(f"invalid request: {fields}" if errors else "invalid request")
        self.errors = errors

    @property
    def summary(self) -> str:
        """One line naming every field and its problem, for the `error` of a 400 response."""
        return "; ".join(str(error) for error in self.errors)

    def to_json(self) -> list[dict[str, Any]]:
        return [error.to_json() for error in self.errors]


class SearchStateError(HarmonyError):
    """A serialized search state that is malformed or from an incompatible engine version."""
