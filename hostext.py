"""Optional host extras: cooperative cancellation on funchost, a no-op everywhere else (Azure)."""

from __future__ import annotations

from typing import Any, Protocol


class CancellationToken(Protocol):
    @property
    def cancelled(self) -> bool: ...


class _NeverCancelled:
    cancelled = False


_NEVER = _NeverCancelled()


def cancellation_token() -> CancellationToken:
    """The token of the activity running on this thread or task.

    On funchost it turns `cancelled` when the activity's orchestration is terminated; on Azure
    (no funchost) it never does, and activities simply stop at the next step boundary instead.
    """
    try:
        from funchost.cancellation import current_token
    except ImportError:
        return _NEVER
    token = current_token()
    return token if token is not None else _NEVER


class DirectCallUnavailable(Exception):
    """Not running inside funchost (or it is stopping): use the portable path instead."""


class DirectCallFailed(Exception):
    """The entity operation raised; the message is the operation's error."""


async def call_entity(name: str, key: str, operation: str, operation_input: Any = None,
                      timeout_s: float = 30.0) -> Any:
    """Ask an entity for an operation's result in-process on funchost.

    Raises DirectCallUnavailable everywhere else (Azure), where callers run the one-step
    `entity_call` orchestration instead; raises DirectCallFailed when the operation raised.
    """
    try:
        from funchost import in_process_client
    except ImportError:
        raise DirectCallUnavailable() from None
    if not in_process_client.available():
        raise DirectCallUnavailable()
    try:
        return await in_process_client.call_entity(name, key, operation, operation_input, timeout_s)
    except in_process_client.EntityOperationError as exc:
        raise DirectCallFailed(str(exc)) from exc


async def wait_for_status_change(instance_id: str, timeout_s: float) -> bool:
    """On funchost, wait (event-driven) until the orchestration's status changes; False on timeout.

    Raises DirectCallUnavailable elsewhere, where callers poll the status instead.
    """
    try:
        from funchost import in_process_client
    except ImportError:
        raise DirectCallUnavailable() from None
    if not in_process_client.available():
        raise DirectCallUnavailable()
    return await in_process_client.wait_for_change(instance_id, timeout_s)
