"""Garbage-collector settings of a host process: fewer, cheaper collections of a heap that is mostly static.

Measured (issue 14, `bench.orchestration_cost` with `gc.callbacks` timing the collections): with
Python's defaults the collector took 80-120 us of each five-activity orchestration's ~1.7 ms of host
CPU, scanning, every 700 allocations, the young objects of the work in flight and, in the older
generations, the modules, the app and the SDK, which are never garbage. `tune_for_host`, run once
by `funchost start` when the host has started (the app loaded, the store recovered; hosts made in
process, as tests do, keep the interpreter's settings), collects once, then
freezes every object alive at that point (`gc.freeze`: the collector no longer scans them; they
are still freed by reference counting) and lets the youngest generation grow to GEN0_THRESHOLD
allocations between collections (most of the host's objects are freed by reference counting long
before that). Collections then took ~15 us of an orchestration. Cyclic garbage is still collected,
only later; the frozen start-up objects that become cyclic garbage (rare) are never collected.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 7000  # Python's default is 700

_tuned = False


def tune_for_host() -> None:
    """Collect, freeze the objects alive now and raise the youngest generation's threshold (once per process)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    youngest, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GEN0_THRESHOLD, youngest), older, oldest)
