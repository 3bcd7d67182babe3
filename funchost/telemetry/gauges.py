"""The seam between the dispatcher and telemetry: the gauges telemetry reads, as a Protocol, and the
observable gauges built on it.

Telemetry observes the host's current work through this interface only, so it never imports
the dispatcher (which implements it). Every method is called on the dispatcher's loop thread,
from the meter's collection callbacks, and returns a fresh dict the caller may change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .metrics import observations


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


class HostGauges:
    """The host's observable gauges over a `GaugeSource` (the dispatcher), registered on `meter`.

    Created by the host once both the meter and the dispatcher exist (`Observability.observe`), so
    neither side holds the other: telemetry knows the dispatcher only as this Protocol. The
    callbacks run in the metric reader's collection, on the dispatcher's loop thread for a scrape
    of `/metrics` (see the Protocol) and never raise for an idle host.
    """

    def __init__(self, meter: Any, source: GaugeSource, high_water: Callable[[], dict[str, int]]) -> None:
        self._source = source
        self._high_water = high_water
        for name, callback, unit, description in (
            ("funchost_entity_mailbox_depth", self._depth, "{operation}", "Entity operations waiting, per entity type"),
            ("funchost_entities_active", self._active, "{entity}",
             "Entities with queued or running operations, per entity type"),
            ("funchost_entity_mailbox_high_water", self._deepest, "{operation}",
             "Deepest single entity mailbox of each entity type, seen at an enqueue since the previous collection"),
            ("funchost_orchestrations_running", self._running, "{orchestration}",
             "Orchestration instances not yet finished, per orchestrator"),
            ("funchost_work_items_pending", self._pending, "{item}", "Work items waiting, per kind"),
        ):
            meter.create_observable_gauge(name, callbacks=[callback], unit=unit, description=description)

    def _per_entity_type(self, values: dict[str, int]) -> Iterable[Any]:
        """Every registered entity type, zero where nothing is waiting or active."""
        for name in self._source.entity_types():
            values.setdefault(name, 0)
        return observations(values, "entity")

    def _depth(self, _options: Any) -> Iterable[Any]:
        return self._per_entity_type(self._source.mailbox_depths())

    def _active(self, _options: Any) -> Iterable[Any]:
        return self._per_entity_type(self._source.active_entities())

    def _deepest(self, _options: Any) -> Iterable[Any]:
        """The high-water marks since the previous collection (then reset; 0 for types with no enqueue)."""
        return self._per_entity_type(self._high_water())

    def _running(self, _options: Any) -> Iterable[Any]:
        running = self._source.running_by_name()
        for name in self._source.orchestrator_names():
            running.setdefault(name, 0)
        return observations(running, "orchestrator")

    def _pending(self, _options: Any) -> Iterable[Any]:
        return observations(self._source.pending_work(), "kind")
