"""The started host's collector settings: the heap frozen once, the thresholds raised, collection still on."""

from __future__ import annotations

import gc

from funchost import gc_tuning


def test_settle_heap_freezes_what_is_alive_and_keeps_collecting_cycles() -> None:
    thresholds = gc.get_threshold()
    try:
        gc_tuning.settle_heap()
        assert gc.get_freeze_count() > 1000 and gc.get_threshold() == gc_tuning.THRESHOLDS
        assert gc.isenabled()

        class Node:
            def __init__(self) -> None:
                self.other: Node | None = None

        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the collector frees it
        del a, b
        assert gc.collect() >= 2  # new garbage is still found; the frozen heap is not walked
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
