"""Activity execution: async activities on the loop, sync ones in a bounded thread pool or process pool.

`ActivityRunner.run` returns an `ActivityOutcome` and never raises for user errors. Sync
activities run in threads by default; with `processes > 0` they run in worker processes (like
FUNCTIONS_WORKER_PROCESS_COUNT in Azure) so CPU-heavy work does not hold the GIL that HTTP and
entity work need. Each invocation gets a cancellation token that the dispatcher flips when the
activity's orchestration is terminated; in worker processes the token is a shared-memory flag.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from . import cancellation, console
from .discovery import ActivityFunction, FunctionSet
from .errors import not_a_function_message
from .thread_handoff import ThreadHandoff

if TYPE_CHECKING:
    from .config import HostConfig

_SLOTS = 1024


@dataclass(frozen=True)
class ActivityOutcome:
    ok: bool
    result: str | None = None
    reason: str = ""
    details: str = ""
    duration_s: float = 0.0
    records: tuple[console.WorkerRecord, ...] = ()  # logged in a worker process, printed by the host


def decode_input(text: str | None) -> Any:
    if text is None:
        return None
    return ActivityTriggerConverter.decode(meta.Datum(type="json", value=text), trigger_metadata={})


def encode_result(value: Any) -> str:
    return str(ActivityTriggerConverter.encode(value, expected_type=None).value)


def _failure(name: str, exc: BaseException) -> ActivityOutcome:
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ActivityOutcome(False, reason=f"Activity function '{name}' failed: {exc}", details=details)


def _call_sync(fn: Callable[..., Any], param: str, text: str | None, name: str,
               token: Any) -> ActivityOutcome:
    reset = cancellation.bind(token)
    start = time.perf_counter()
    try:
        value = fn(**{param: decode_input(text)})
        return ActivityOutcome(True, encode_result(value), duration_s=time.perf_counter() - start)
    except Exception as exc:
        return _failure(name, exc)
    finally:
        cancellation.unbind(reset)


# -- worker processes ---------------------------------------------------------------------------
_worker_functions: FunctionSet | None = None
_worker_flags: Any = None


class _SharedFlagToken:
    """A token in a worker process: reads the cancel flag the host sets in shared memory."""

    def __init__(self, slot: int) -> None:
        self.slot = slot

    @property
    def cancelled(self) -> bool:
        return bool(_worker_flags[self.slot]) if _worker_flags is not None else False


def _exit_with_host(host_pid: int) -> None:
    """Make this worker process end when the host does, even after `kill -9` of the host.

    On Linux the kernel sends SIGKILL at the host's death (PR_SET_PDEATHSIG, set through ctypes); everywhere
    a daemon thread also waits on the pipe `multiprocessing` keeps to the parent and exits when it closes.
    A host that died before this ran is caught by comparing the parent pid. The resource tracker ends by
    itself once every process holding its pipe (host and workers) is gone.
    """
    if sys.platform == "linux":
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the pipe watch below still applies
            pass
    if os.getppid() != host_pid:
        os._exit(1)
    parent = multiprocessing.parent_process()
    if parent is not None:
        sentinel = parent.sentinel

        def watch() -> None:
            multiprocessing.connection.wait([sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="funchost-host-watch", daemon=True).start()


def _init_worker(script_root: str, flags: Any, host_pid: int, config: HostConfig | None) -> None:
    """Set up one worker process from the host's configuration (None: built from the inherited environment)."""
    global _worker_functions, _worker_flags
    from . import sdk_patches
    from .config import HostConfig
    from .discovery import load_app

    _exit_with_host(host_pid)
    if config is None:
        config = HostConfig.from_env(Path(script_root))
    if config.sdk_patches:
        sdk_patches.apply()
    _worker_flags = flags
    # Worker processes run CPU-heavy activities; at a lower OS priority they never starve the host's
    # loop, which answers HTTP and runs entities (FUNCHOST_ACTIVITY_NICE, default 10; 0 keeps it).
    if config.activity_nice and hasattr(os, "nice"):
        os.nice(config.activity_nice)
    _worker_functions = load_app(Path(script_root), config)
    console.capture_in_worker()


def _run_in_worker(name: str, text: str | None, slot: int) -> ActivityOutcome:
    if _worker_functions is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker process has no app")
    activity = _worker_functions.activities[name.lower()]
    outcome, records = console.captured(lambda: _call_sync(activity.callable, activity.input_param, text,
                                                            activity.name, _SharedFlagToken(slot)))
    return dataclasses.replace(outcome, records=records) if records else outcome


def _warm_up() -> None:
    """A no-op run once per worker at start-up (the initializer has loaded the app by then)."""


class ActivityRunner:
    """Runs activities with at most `max_concurrent` in flight. Owned by the dispatcher's loop."""

    def __init__(self, functions: FunctionSet, max_concurrent: int = 16, threads: int = 8,
                 processes: int = 0, worker: HostConfig | None = None) -> None:
        """At most `max_concurrent` activities in flight (host.json `maxConcurrentActivityFunctions`), sync
        ones on `threads` threads or `processes` worker processes set up from `worker`."""
        self.functions = functions
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._threads = ThreadHandoff(threads, "funchost-activity")
        self._processes: Executor | None = None
        self._flags: Any = None
        self._free_slots = list(range(_SLOTS))
        if processes > 0:
            context = multiprocessing.get_context("spawn")
            self._flags = context.Array("b", _SLOTS, lock=False)
            self._processes = ProcessPoolExecutor(
                processes, mp_context=context, initializer=_init_worker,
                initargs=(str(functions.script_root), self._flags, os.getpid(), worker))
            # The pool starts workers on demand; start them all now so the first burst of
            # activities does not wait for processes to spawn and import the app.
            for _ in range(processes):
                self._processes.submit(_warm_up)

    async def run(self, name: str, text: str | None, token: cancellation.CancellationToken) -> ActivityOutcome:
        activity = self.functions.activities.get(name.lower())
        if activity is None:
            return ActivityOutcome(False, reason=not_a_function_message("activity", name))
        semaphore = self._semaphore
        await semaphore.acquire()  # not `async with`: two coroutines fewer per activity
        try:
            if token.cancelled:
                return ActivityOutcome(False, reason=f"Activity function '{name}' was cancelled: "
                                                     "its orchestration was terminated")
            start = time.perf_counter()
            outcome = await console.active().invoke_async(
                activity.name, f"Activity of orchestration {token.instance_id}",
                lambda inv: self._observed(inv, activity, text, token))
            return ActivityOutcome(outcome.ok, outcome.result, outcome.reason, outcome.details,
                                   time.perf_counter() - start)
        finally:
            semaphore.release()

    async def _observed(self, inv: console.Invocation, activity: ActivityFunction, text: str | None,
                        token: cancellation.CancellationToken) -> ActivityOutcome:
        """`_dispatch` as one console invocation: a failed activity is a failed invocation."""
        if activity.is_async or (self._processes is not None and self._free_slots):
            outcome = await self._dispatch(activity, text, token)
        else:  # the common case, without a coroutine of its own
            outcome = await self._threads.run(console.active().in_context(functools.partial(
                _call_sync, activity.callable, activity.input_param, text, activity.name, token)))
        if outcome.records:
            console.active().replay(inv, outcome.records)
        if not outcome.ok:
            inv.fail(outcome.reason, outcome.details)
        return outcome

    async def _dispatch(self, activity: ActivityFunction, text: str | None,
                        token: cancellation.CancellationToken) -> ActivityOutcome:
        if activity.is_async:
            reset = cancellation.bind(token)
            try:
                value = await activity.callable(**{activity.input_param: decode_input(text)})
                return ActivityOutcome(True, encode_result(value))
            except Exception as exc:
                return _failure(activity.name, exc)
            finally:
                cancellation.unbind(reset)
        if self._processes is not None and self._free_slots:
            loop = asyncio.get_running_loop()
            slot = self._free_slots.pop()
            self._flags[slot] = 0
            flags = self._flags

            def flip() -> None:
                flags[slot] = 1

            token._callbacks.append(flip)
            if token.cancelled:
                flip()
            try:
                return await loop.run_in_executor(self._processes, _run_in_worker, activity.name, text, slot)
            except Exception as exc:  # a worker process died: report as an activity failure
                return _failure(activity.name, exc)
            finally:
                if flip in token._callbacks:
                    token._callbacks.remove(flip)
                self._free_slots.append(slot)
        return await self._threads.run(console.active().in_context(
            functools.partial(_call_sync, activity.callable, activity.input_param, text, activity.name, token)))

    def shutdown(self) -> None:
        self._threads.shutdown()
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)
