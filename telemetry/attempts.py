"""The practice attempts this process recorded, by result: feeds the `ga_player_attempts_total` counter.

A synchronous `Counter.add` walks the SDK's measurement pipeline on every call (attributes cleaned
and hashed, views looked up per reader, two locks): about 4 us, on every `record_attempt` of the
PlayerSession entity, the app's hot path (issue 14). The counter is therefore an observable one,
read from this tally when a reader collects: the same name, unit, description, labels and values,
its series in the order results first occurred, as the synchronous counter exported them (tested in
tests/observability/test_app_metrics.py).

Owned by no thread in particular (entity operations run in a thread pool on Azure; the reader
collects on its own thread), so every access takes the lock; the observe callback never raises.
"""

from __future__ import annotations

import threading
from typing import Any


class AttemptCounts:
    """Attempts recorded in this process, per `result` label value, in the order they first occurred."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, result: str) -> None:
        with self._lock:
            self._counts[result] = self._counts.get(result, 0) + 1

    def observe(self, _options: Any = None) -> list[Any]:
        """One observation per result seen so far (cumulative counts), none before the first attempt."""
        from opentelemetry.metrics import Observation

        with self._lock:
            counts = list(self._counts.items())
        return [Observation(count, {"result": result}) for result, count in counts]
