"""The host process's garbage-collector settings, applied once it has started (issue 14).

Every request and every entity step allocates many short-lived containers (dicts, lists, tuples,
futures), so the cyclic collector runs its youngest generation every 700 allocations and, every
ten of those, an older one that walks again the tens of thousands of long-lived objects of the
loaded app, SDK, aiohttp and OpenTelemetry. On the entity-signal path (`bench.entity_signal_cost`,
in one process) these settings took the engine's CPU per signal from ~40 to ~33.5 us. On five-activity orchestrations
(`bench.orchestration_cost`, `gc.callbacks` timing the collections) the collector's share fell from
80-120 us to ~15 us of each orchestration's ~1.7 ms of host CPU. Once the
host has started, `settle_heap` moves everything alive into the permanent generation
(`gc.freeze`: the collector never walks it again) and lets each generation fill longer before it
is collected. Reference counting frees almost everything as before; only garbage in reference
cycles waits a little longer, which costs a little memory, never correctness.
"""

from __future__ import annotations

import gc

# (youngest, middle, oldest): collect the youngest generation after 7000 net allocations instead of
# 700, an older one every 20 of those instead of 10.
THRESHOLDS = (7000, 20, 20)


def settle_heap() -> None:
    """Freeze what the started host holds (collected once first) and raise the collection thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
