"""A thread pool for short sync calls made from an event loop: results come back many per loop wake-up.

`loop.run_in_executor(ThreadPoolExecutor)` pays, per call, a `concurrent.futures.Future` (with its
`Condition`), the executor's lock and idle-thread semaphore, the chaining of that future to an
asyncio one, and one `call_soon_threadsafe` (a write to the loop's self-pipe) per result. For sync
activities that run for microseconds (profiled: a tenth of an orchestration's host CPU) that is
most of the cost. `ThreadHandoff.run` instead puts the call on a C queue (`queue.SimpleQueue`)
that `threads` worker threads take from, and the workers append each outcome to a deque that the
loop drains in one callback, scheduled only when the deque was not already awaiting a drain.

Sync user code still runs off the loop, on at most `threads` threads at a time, as in Azure's
worker. Threads: `run` and `shutdown` belong to the loop's thread (the futures are the loop's);
the workers only run calls, append outcomes and schedule the drain. A call that raises fails its
future with that exception. A future the caller cancelled is left alone when its call ends. The
workers are daemon threads: at interpreter exit a call still running is abandoned (an activity
is re-run from its stored row after a restart), and `shutdown` cancels the calls not yet started.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class ThreadHandoff:
    """Runs sync calls on up to `threads` daemon threads (started on first use) for one event loop."""

    def __init__(self, threads: int, name: str) -> None:
        self._size = max(1, threads)
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._outcomes: collections.deque[tuple[asyncio.Future[Any], bool, Any]] = collections.deque()
        self._drain_scheduled = False
        self._closed = False

    def run(self, call: Callable[[], T]) -> asyncio.Future[T]:
        """`call()` on a worker thread; the future (of the running loop) resolves with its result or error."""
        if self._closed:
            raise RuntimeError(f"{self._name} is shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((call, future, loop))
        if len(self._threads) < self._size:
            self._start_thread()
        return future

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        """Worker thread: run calls until the `None` that `shutdown` queues."""
        jobs, outcomes = self._jobs, self._outcomes
        while (job := jobs.get()) is not None:
            call, future, loop = job
            try:
                outcome = (future, True, call())
            except BaseException as exc:
                outcome = (future, False, exc)
            del call, job
            # Append first, then look at the flag: a drain clears the flag before it empties the deque,
            # so either that drain sees this outcome or this thread schedules the next one.
            outcomes.append(outcome)
            if not self._drain_scheduled:
                self._drain_scheduled = True
                try:
                    loop.call_soon_threadsafe(self._drain)
                except RuntimeError:  # the loop is closed: nobody waits for the outcome any more
                    return

    def _drain(self) -> None:
        """Loop thread: resolve the futures of every outcome the workers appended."""
        self._drain_scheduled = False
        outcomes = self._outcomes
        while outcomes:
            future, ok, value = outcomes.popleft()
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def shutdown(self) -> None:
        """Loop thread: cancel the calls not started yet and let the workers end after their current call."""
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                try:
                    job[2].call_soon_threadsafe(job[1].cancel)
                except RuntimeError:  # the loop is closed already
                    pass
        for _ in self._threads:
            self._jobs.put(None)
