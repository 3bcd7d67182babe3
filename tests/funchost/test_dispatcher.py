"""The dispatcher in-process: an injected clock, entity batches, in-process calls, listeners and shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from funchost.activities import ActivityRunner
from funchost.discovery import load_app
from funchost.dispatcher import Dispatcher
from funchost.errors import HostShuttingDown, InstanceAlreadyExists, InstanceFinished, UnknownFunction
from funchost.store import InstanceRow, Store

APP = Path(__file__).resolve().parents[1] / "conformance_app"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def running_dispatcher(tmp_path: Path, clock: FakeClock | None = None) -> AsyncIterator[Dispatcher]:
    """A started dispatcher over the conformance app and a store in `tmp_path`; stopped and closed after."""
    functions = load_app(APP)
    store = Store(tmp_path / "d.sqlite3")
    dispatcher = Dispatcher(store, functions, ActivityRunner(functions), clock=clock or time.time)
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop(grace_s=0)
        store.close()


async def settle(dispatcher: Dispatcher, rounds: int = 50) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0.01)
        if dispatcher.idle():
            return


async def test_timer_fires_only_when_clock_passes_fire_time(tmp_path: Path) -> None:
    clock = FakeClock(1_800_000_000.0)
    async with running_dispatcher(tmp_path, clock) as dispatcher:
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


async def test_entity_batch_applies_queued_operations_in_order(tmp_path: Path) -> None:
    async with running_dispatcher(tmp_path) as dispatcher:
        await asyncio.gather(*(dispatcher.signal_entity("@counter@batch", "add", str(i)) for i in range(1, 101)))
        await dispatcher.signal_entity("@counter@batch", "reset", None)
        await dispatcher.signal_entity("@counter@batch", "add", "7")
        await settle(dispatcher)
        assert dispatcher.read_entity("@counter@batch") == (True, "7")
        assert dispatcher.stats.entity_operations == 102
        assert dispatcher.stats.entity_batches < 102  # batched, not one commit per operation


async def test_call_entity_answers_in_process_and_errors_come_back_as_results(tmp_path: Path) -> None:
    async with running_dispatcher(tmp_path) as dispatcher:
        results = await asyncio.gather(*(dispatcher.call_entity("@counter@direct", "add", "2") for _ in range(3)))
        assert sorted(str(r.result) for r in results) == ["2", "4", "6"] and not any(r.is_error for r in results)
        failed = await dispatcher.call_entity("@counter@direct", "boom", None)
        assert failed.is_error and "counter cannot boom" in str(failed.result)
        assert (await dispatcher.call_entity("@counter@direct", "get", None)).result == "6"  # boom changed nothing
        with pytest.raises(UnknownFunction, match="is not an entity function"):
            await dispatcher.call_entity("@nosuch@k", "get", None)


async def test_listeners_see_each_commit_and_control_calls_check_the_instance(tmp_path: Path) -> None:
    async with running_dispatcher(tmp_path) as dispatcher:
        await dispatcher.start_orchestration("wait_event", "ev-1", None)
        seen: list[str] = []
        remove = dispatcher.add_listener("ev-1", lambda row: seen.append(row.instance.status))
        await settle(dispatcher)
        with pytest.raises(InstanceAlreadyExists):
            await dispatcher.start_orchestration("wait_event", "ev-1", None)
        await dispatcher.raise_event("ev-1", "go", '"done"')
        row = await dispatcher.wait_for_completion("ev-1", 10)
        assert isinstance(row, InstanceRow) and row.instance.output == "done"
        assert seen[-1] == "Completed" and set(seen) <= {"Running", "Completed"}
        remove()
        with pytest.raises(InstanceFinished, match="already Completed"):
            await dispatcher.raise_event("ev-1", "go", None)


async def test_stop_fails_waiters_and_refuses_new_work(tmp_path: Path) -> None:
    functions = load_app(APP)
    store = Store(tmp_path / "d.sqlite3")
    dispatcher = Dispatcher(store, functions, ActivityRunner(functions))
    dispatcher.start()
    await dispatcher.start_orchestration("wait_event", "never", None)
    waiting = asyncio.create_task(dispatcher.wait_for_completion("never", 60))
    await settle(dispatcher)
    await dispatcher.stop(grace_s=0)
    try:
        with pytest.raises(HostShuttingDown):
            await waiting
        assert dispatcher.closing
        with pytest.raises(HostShuttingDown):
            await dispatcher.start_orchestration("wait_event", "late", None)
        with pytest.raises(HostShuttingDown):
            await dispatcher.signal_entity("@counter@late", "add", "1")
    finally:
        store.close()


async def test_a_signal_to_an_idle_entity_is_committed_applied_before_the_call_returns(tmp_path: Path) -> None:
    """The direct path (issue 14): no mailbox message, one commit holding the new state, before the answer."""
    async with running_dispatcher(tmp_path) as dispatcher:
        await dispatcher.signal_entity("@counter@idle", "add", "5")
        other = Store(tmp_path / "d.sqlite3")  # another connection: only what was committed
        try:
            row = other.get_entity("@counter@idle")
            assert row is not None and row.state == "5"
            assert other.all_messages() == []
        finally:
            other.close()
        assert dispatcher.read_entity("@counter@idle") == (True, "5")
        assert (dispatcher.stats.entity_batches, dispatcher.stats.entity_operations) == (1, 1)
        await dispatcher.signal_entity("@counter@idle", "boom", None)  # a failing operation changes nothing
        await dispatcher.signal_entity("@counter@idle", "add", "2")
        assert dispatcher.read_entity("@counter@idle") == (True, "7")


async def test_a_signal_never_overtakes_an_operation_still_committing_for_the_entity(tmp_path: Path) -> None:
    async with running_dispatcher(tmp_path) as dispatcher:
        call = asyncio.ensure_future(dispatcher.call_entity("@counter@order", "add", "5"))
        await asyncio.sleep(0)  # the call's message is submitted, not yet committed
        await dispatcher.signal_entity("@counter@order", "reset", None)  # must run after the add
        result = await call
        await settle(dispatcher)
        assert (result.is_error, result.result) == (False, "5")
        assert dispatcher.read_entity("@counter@order") == (True, "0")
