"""The seam between the dispatcher and telemetry: the gauges telemetry reads, as a Protocol.

Telemetry observes the host's current work through this interface only, so it never imports
the dispatcher (which implements it). Every method is called on the dispatcher's loop thread,
from the meter's collection callbacks, and returns a fresh dict the caller may change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class GaugeSource(Protocol):
    """What the host's gauges read: work waiting and running, per entity type, orchestrator or kind."""

    def mailbox_depths(self) -> dict[str, int]:
        """Entity operations waiting, per entity type."""
        ...

    def active_entities(self) -> dict[str, int]:
        """Entities with queued or running operations, per entity type."""
        ...

    def running_by_name(self) -> dict[str, int]:
        """Orchestration instances not yet finished, per orchestrator name."""
        ...

    def pending_work(self) -> dict[str, int]:
        """Work items waiting, per kind: orchestration, entity, activity, timer."""
        ...

    def entity_types(self) -> Iterable[str]:
        """Every entity type the app registers (gauges report zero for the idle ones)."""
        ...

    def orchestrator_names(self) -> Iterable[str]:
        """Every orchestrator the app registers, as the app spells it."""
        ...
