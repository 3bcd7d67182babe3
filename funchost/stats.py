"""Counters of the durable work one dispatcher has done (read by tests and diagnostics)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DispatcherStats:
    """Incremented on the dispatcher's loop thread only."""

    episodes: int = 0
    entity_batches: int = 0
    entity_operations: int = 0
    commits: int = 0
    activities: int = 0
