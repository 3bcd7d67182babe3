"""What can go wrong talking to the app, each with the exit code and the one line the user sees."""

from __future__ import annotations

from typing import Any

EXIT_REFUSED = 1  # the API answered with an error, or the task ended Failed / Cancelled
EXIT_UNREACHABLE = 2  # no answer from the host (click also exits 2 on a usage error)


class CliError(Exception):
    """Base of the client's errors: `message` is one readable line, `exit_code` what the process returns."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def document(self) -> dict[str, Any]:
        """The error as the API's error document shape, for `--json` output."""
        return {"error": self.message, "details": []}


class ApiError(CliError):
    """The API answered 4xx/5xx; `body` is its error document `{error, details: [{field, message, allowed?}]}`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status}: {describe(body)}")

    def document(self) -> dict[str, Any]:
        return self.body


class HostUnreachable(CliError):
    """The host did not answer at all (refused, timed out, name not found) or not in HTTP."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")


class UnexpectedAnswer(CliError):
    """The host answered, but not with what the app's API answers (e.g. another service on that port)."""

    exit_code = EXIT_UNREACHABLE


class TaskEnded(CliError):
    """A watched task finished without a result: Failed (with its error message) or Cancelled."""

    def __init__(self, task_id: str, state: str, error_message: str | None) -> None:
        self.task_id = task_id
        self.state = state
        why = f": {error_message}" if error_message else ""
        super().__init__(f"task {task_id} {state.lower()}{why}")


def describe(body: dict[str, Any]) -> str:
    """One line from an error document: its `error`, each detail it does not already say, allowed values."""
    line = " ".join(str(body.get("error") or "error without a message").split())
    details = body.get("details")
    for item in details if isinstance(details, list) else []:
        if not isinstance(item, dict):
            continue
        message = " ".join(str(item.get("message", "")).split())
        if message and message not in line:
            line += f"; {item.get('field')}: {message}"
        if item.get("allowed"):
            line += f" ({item.get('field')} allowed: {', '.join(map(str, item['allowed']))})"
    return line
