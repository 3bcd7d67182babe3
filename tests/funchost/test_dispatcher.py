"""The dispatcher in-process with an injected clock: timers fire exactly when time is run forward."""

from __future__ import annotations

import asyncio
from pathlib import Path

from funchost.activities import ActivityRunner
from funchost.discovery import load_app
from funchost.dispatcher import Dispatcher
from funchost.store import Store

APP = Path(__file__).resolve().parents[1] / "conformance_app"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def settle(dispatcher: Dispatcher, rounds: int = 50) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0.01)
        if dispatcher.idle():
            return


async def test_timer_fires_only_when_clock_passes_fire_time(tmp_path: Path) -> None:
    functions = load_app(APP)
    clock = FakeClock(1_800_000_000.0)
    store = Store(tmp_path / "d.sqlite3")
    dispatcher = Dispatcher(store, functions, ActivityRunner(functions), clock=clock)
    dispatcher.start()
    try:
        instance_id = await dispatcher.start_orchestration("short_timer", "timer-1", None)
        await settle(dispatcher)
        row = dispatcher.get_instance(instance_id)
        assert row is not None and row.instance.status == "Running"
        assert dispatcher.fire_due_timers(clock.now + 0.29) == 0
        clock.now += 0.31
        assert dispatcher.fire_due_timers(clock.now) == 1
        await settle(dispatcher)
        row = dispatcher.get_instance(instance_id)
        assert row is not None and row.instance.status == "Completed"
        assert abs(row.instance.output - 0.31) < 0.01  # orchestration time is the injected clock
    finally:
        await dispatcher.stop(grace_s=0)
        store.close()


async def test_entity_batch_applies_queued_operations_in_order(tmp_path: Path) -> None:
    functions = load_app(APP)
    store = Store(tmp_path / "d.sqlite3")
    dispatcher = Dispatcher(store, functions, ActivityRunner(functions))
    dispatcher.start()
    try:
        await asyncio.gather(*(dispatcher.signal_entity("@counter@batch", "add", str(i)) for i in range(1, 101)))
        await dispatcher.signal_entity("@counter@batch", "reset", None)
        await dispatcher.signal_entity("@counter@batch", "add", "7")
        await settle(dispatcher)
        assert dispatcher.read_entity("@counter@batch") == (True, "7")
        assert dispatcher.stats.entity_batches < 102  # batched, not one commit per operation
    finally:
        await dispatcher.stop(grace_s=0)
        store.close()
