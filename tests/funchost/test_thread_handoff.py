"""The thread handoff for sync activities: results and errors come back, calls run off the loop and in parallel."""

from __future__ import annotations

import asyncio
import functools
import threading

import pytest

from funchost.thread_handoff import ThreadHandoff


def test_results_and_errors_come_back_to_their_futures_from_other_threads() -> None:
    async def scenario() -> None:
        pool = ThreadHandoff(3, "test-handoff")
        loop_thread = threading.get_ident()

        def square(n: int) -> tuple[int, bool]:
            return n * n, threading.get_ident() != loop_thread

        def boom() -> None:
            raise ValueError("the activity failed")

        results = await asyncio.gather(*(pool.run(functools.partial(square, n)) for n in range(200)))
        assert results == [(n * n, True) for n in range(200)]
        with pytest.raises(ValueError, match="the activity failed"):
            await pool.run(boom)
        assert await pool.run(lambda: "still serving") == "still serving"
        pool.shutdown()

    asyncio.run(scenario())


def test_a_blocking_call_does_not_hold_the_others_and_the_loop_stays_free() -> None:
    async def scenario() -> None:
        pool = ThreadHandoff(2, "test-handoff")
        release = threading.Event()
        blocked = pool.run(lambda: release.wait(30))
        assert await pool.run(lambda: "second thread") == "second thread"  # while the first is blocked
        await asyncio.sleep(0)  # the loop runs other work meanwhile
        assert not blocked.done()
        release.set()
        assert await blocked is True
        pool.shutdown()

    asyncio.run(scenario())


def test_shutdown_cancels_calls_not_started_and_refuses_new_ones() -> None:
    async def scenario() -> None:
        pool = ThreadHandoff(1, "test-handoff")
        release = threading.Event()
        running = pool.run(lambda: release.wait(30))
        waiting = pool.run(lambda: "never run")
        pool.shutdown()
        release.set()
        assert await running is True
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(RuntimeError, match="shut down"):
            pool.run(lambda: None)

    asyncio.run(scenario())


def test_a_future_cancelled_by_its_caller_is_left_alone() -> None:
    async def scenario() -> None:
        pool = ThreadHandoff(1, "test-handoff")
        release = threading.Event()
        first = pool.run(lambda: release.wait(30))
        first.cancel()
        release.set()
        assert await pool.run(lambda: "next") == "next"  # the drain skipped the cancelled future
        assert first.cancelled()
        pool.shutdown()

    asyncio.run(scenario())
