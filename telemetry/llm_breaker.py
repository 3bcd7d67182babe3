"""What this process last saw of the LLM circuit breaker: feeds `ga_llm_breaker_state`.

The breaker entity (`entities/llm_breaker.py`, one instance for the whole app) reports its state after
every operation it runs. The gauge shows that report as a number (0 closed, 1 half-open, 2 open) and
has no series until the entity has run in this process (no LLM configured: never). On an Azure host
with several worker processes each process shows the state it last saw.

Owned by no thread in particular (the entity's batch and the metric reader's collection both reach
it), so every access takes the lock; the observe callback never raises.
"""

from __future__ import annotations

import threading
from typing import Any

STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class BreakerReport:
    """The latest state of the LLM breaker seen in this process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: int | None = None

    def report(self, state: str) -> None:
        with self._lock:
            self._value = STATE_VALUES.get(state, self._value)

    def observe_state(self, _options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        with self._lock:
            value = self._value
        return [] if value is None else [Observation(value)]
