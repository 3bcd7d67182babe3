"""Optional host extras: cooperative cancellation on funchost, a no-op everywhere else (Azure)."""

from __future__ import annotations

from typing import Protocol


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
