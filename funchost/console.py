"""The console of `funchost start`, as `func start` prints it: one line per invocation start and end.

Every invocation (an HTTP function, an activity, one orchestrator episode, one entity batch) prints
`Executing 'Functions.<name>' (Reason='...', Id=<invocation id>)` when it starts and
`Executed 'Functions.<name>' (Succeeded|Failed, Id=..., Duration=...ms)` when it ends, with the
failure's message after a failed one; the function's own log records print in between with their
category (`Function.<name>.User`). An orchestration that ends prints one more line with its outcome.
`host.json` `logging.logLevel` is honoured per category (the longest matching dotted prefix wins, as
in .NET logging), `--verbose` lowers the default to Debug and adds tracebacks, colours are used only on
a terminal, and every line passes through `redact` so no key or token is ever printed.

Ownership: the console is installed once by the CLI (`install`); hooks call `active()`. Lines are
written under a lock from the loop thread and from the function threads; a write error is ignored
(a closed stdout must never fail an invocation). Without `install`, `active()` is a no-op console.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import itertools
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Protocol, TypeVar

from .errors import SettingsError

T = TypeVar("T")

HTTP_REASON = "This function was programmatically called via the host APIs."
DURABLE_CATEGORY = "Host.Triggers.DurableTask"
NONE = 100  # `None` in host.json: nothing from that category
LEVELS = {"trace": 5, "debug": logging.DEBUG, "information": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL, "none": NONE}
_SECRET = re.compile(r"(?i)\b(code|sig|key|token|access_token|api[_-]?key|secret|password)=([^&\s\"',;]+)")
_SECRET_HEADER = re.compile(r"(?i)\b(x-functions-key|authorization|x-api-key)(\"?\s*[:=]\s*\"?(?:(?:bearer|basic)\s+)?)"
                            r"([^\s\"',;]+)")
_RED, _YELLOW, _GREY, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[90m", "\x1b[0m"

_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("funchost_invocation", default=None)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and every `code=`/`key=`/token-like value replaced by `***`."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    if "=" in text:
        text = _SECRET.sub(lambda m: f"{m.group(1)}=***", text)
    if ":" in text or "=" in text:
        text = _SECRET_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return text


class CategoryLevels:
    """Minimum level per log category from host.json `logging.logLevel`; `default` for the rest."""

    def __init__(self, configured: dict[str, int], default: int) -> None:
        self._configured = {k.lower(): v for k, v in configured.items() if k.lower() != "default"}
        self._default = next((v for k, v in configured.items() if k.lower() == "default"), default)
        self._cache: dict[str, int] = {}

    def level(self, category: str) -> int:
        cached = self._cache.get(category)
        if cached is not None:
            return cached
        name = category.lower()
        found = self._default
        while name:
            if name in self._configured:
                found = self._configured[name]
                break
            name = name.rpartition(".")[0]
        self._cache[category] = found
        return found

    def enabled(self, category: str, level: int) -> bool:
        return level >= self.level(category)

    def lowest(self) -> int:
        """The lowest level any category prints at (NONE when every category is off)."""
        return min([self._default, *self._configured.values()])


def read_log_levels(raw: Mapping[str, Any], path: str = "host.json") -> dict[str, int]:
    """host.json `logging.logLevel` (as `config.read_host_json` read it) as category -> Python level; one
    clear error naming `path` for a bad entry."""
    levels: dict[str, int] = {}
    for category, value in raw.items():
        level = LEVELS.get(str(value).lower())
        if level is None:
            raise SettingsError(str(path), f"logging.logLevel.{category} is {value!r}; use one of "
                                "Trace, Debug, Information, Warning, Error, Critical, None")
        levels[str(category)] = level
    return levels


_ID_PREFIX = str(uuid.uuid4())[:24]
_id_counter = itertools.count(1)


def new_invocation_id() -> str:
    """A GUID-shaped id unique within this host process (a random prefix and a counter: cheaper than
    uuid4 on the entity-batch path)."""
    return f"{_ID_PREFIX}{next(_id_counter):012x}"


class Invocation:
    """One running invocation; `fail` marks it failed. Used by the task or thread that runs it."""

    __slots__ = ("announced", "details", "failure", "invocation_id", "name", "reason", "skipped", "started")

    def __init__(self, name: str, invocation_id: str, reason: str) -> None:
        self.name = name
        self.invocation_id = invocation_id
        self.reason = reason
        self.started = time.time()
        self.announced = False
        self.failure: str | None = None
        self.details = ""
        self.skipped = False

    def restart(self, name: str, invocation_id: str, reason: str) -> None:
        """Reuse this object for the next invocation (the loop thread's, see `Console.loop_work`)."""
        self.__init__(name, invocation_id, reason)  # type: ignore[misc]

    def fail(self, message: str, details: str = "") -> None:
        self.failure = message
        self.details = details

    def skip(self) -> None:
        """Nothing ran after all (an episode that only held events back): print nothing."""
        self.skipped = True


class ConsoleLike(Protocol):
    """What the invocation hooks call; `Console` prints, `_Silent` does nothing."""

    def invoke(self, name: str, reason: str, run: Callable[[Invocation], T], invocation_id: str | None = None,
               announce: bool = True) -> T: ...

    async def invoke_async(self, name: str, reason: str, run: Callable[[Invocation], Any],
                           invocation_id: str | None = None) -> Any: ...

    def loop_work(self, name: str, reason: str, run: Callable[..., T], args: tuple[Any, ...],
                  settle: Callable[[Console, Invocation, T], None]) -> T: ...

    def replay(self, inv: Invocation, records: tuple[WorkerRecord, ...]) -> None: ...

    def durable_outcome(self, name: str, instance_id: str, status: str, message: Any) -> None: ...

    def in_context(self, call: Callable[[], T]) -> Callable[[], T]: ...


class Console:
    """Prints invocation lines and the records functions log; see the module docstring."""

    def __init__(self, stream: IO[str], levels: CategoryLevels, colour: bool = False, verbose: bool = False,
                 secrets: Iterable[str] = ()) -> None:
        self.stream = stream
        self.levels = levels
        self.colour = colour
        self.verbose = verbose
        self.secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self._stamp_second = -1
        self._stamp_text = ""
        self._shown: dict[str, tuple[bool, bool]] = {}
        self._loop_invocation = Invocation("", "", "")
        self._loop_thread = 0
        self._loop_active = False
        # A terminal gets every line at once. For a file or pipe, lines are queued (a deque append is
        # thread-safe and costs far less than a text-stream write) and a daemon thread writes them
        # every 0.1 s in one piece, so a busy host pays neither a write call nor a system call per line.
        self._interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._queue: collections.deque[str | tuple[float, float, str, str, str]] = collections.deque()
        if not self._interactive:
            threading.Thread(target=self._flush_loop, name="funchost-console-flush", daemon=True).start()
            atexit.register(self.flush)

    def _flush_loop(self) -> None:
        # A timer rather than an event: setting an Event per line costs more than the line itself.
        while True:
            time.sleep(0.1)
            if self._queue:
                self.flush()

    def flush(self) -> None:
        """Write every queued line and flush the stream (the flush thread, and at exit)."""
        parts = []
        queue = self._queue
        pair = self._pair
        while queue:
            item = queue.popleft()
            parts.append(item if isinstance(item, str) else pair(item))
        with self._lock:
            try:
                if parts:
                    self.stream.write("".join(parts))
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def _levels_of(self, name: str) -> tuple[bool, bool]:
        """(Information shown, Error shown) for `Function.<name>`, cached per function."""
        found = self._shown.get(name)
        if found is None:
            category = f"Function.{name}"
            found = self._shown[name] = (self.levels.enabled(category, logging.INFO),
                                         self.levels.enabled(category, logging.ERROR))
        return found

    # -- lines ---------------------------------------------------------------------------------
    def _stamp(self, at: float) -> str:
        second = int(at)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"[{self._stamp_text}.{int((at - second) * 1000):03d}Z] "

    def _line(self, at: float, text: str, level: int = logging.INFO, category: str = "") -> str:
        prefix = f"{category}: " if category and (self.verbose or category.endswith(".User")) else ""
        body = self._stamp(at) + prefix + text
        if self.colour and level >= logging.WARNING:
            body = (_RED if level >= logging.ERROR else _YELLOW) + body + _RESET
        elif self.colour and level < logging.INFO:
            body = _GREY + body + _RESET
        return body + "\n"

    def write(self, text: str) -> None:
        if not self._interactive:
            self._queue.append(text)
            return
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def _executing(self, inv: Invocation) -> str:
        inv.announced = True
        reason = redact(inv.reason, self.secrets)
        return self._line(inv.started, f"Executing 'Functions.{inv.name}' (Reason='{reason}', Id={inv.invocation_id})")

    def _executed(self, inv: Invocation) -> str:
        now = time.time()
        outcome = "Failed" if inv.failure is not None else "Succeeded"
        duration = round((now - inv.started) * 1000)
        level = logging.ERROR if inv.failure is not None else logging.INFO
        text = self._line(now, f"Executed 'Functions.{inv.name}' ({outcome}, Id={inv.invocation_id}, "
                          f"Duration={duration}ms)", level)
        if inv.failure is not None and self.levels.enabled(f"Function.{inv.name}", logging.ERROR):
            message = redact(f"Exception while executing function: Functions.{inv.name}. Result: Failure "
                             f"Exception: {self._message(inv.failure)}", self.secrets)
            text += self._line(now, message, logging.ERROR)
            if self.verbose and inv.details:
                text += redact(inv.details.rstrip(), self.secrets) + "\n"
        return text

    def _message(self, text: str) -> str:
        """A failure message as one line (the SDK appends a traceback to orchestration failures);
        whole with `--verbose`."""
        return text if self.verbose else text.strip().split("\n", 1)[0].rstrip()

    # -- invocations ---------------------------------------------------------------------------
    def _begin(self, name: str, reason: str, invocation_id: str | None, announce: bool) -> tuple[Invocation, bool]:
        inv = Invocation(name, invocation_id or new_invocation_id(), reason)
        shown = self._levels_of(name)[0]
        if shown and announce:
            self.write(self._executing(inv))
        return inv, shown

    def _end(self, inv: Invocation, shown: bool) -> None:
        if inv.skipped and not inv.announced:
            return
        if not (shown or (inv.failure is not None and self._levels_of(inv.name)[1])):
            return
        text = "" if inv.announced else self._executing(inv)
        self.write(text + self._executed(inv))

    def invoke(self, name: str, reason: str, run: Callable[[Invocation], T], invocation_id: str | None = None,
               announce: bool = True) -> T:
        """Run `run(invocation)` as one invocation; with `announce=False` (work that takes microseconds
        on the loop) the Executing line is written with the Executed one, or before the first record
        the function logs."""
        inv, shown = self._begin(name, reason, invocation_id, announce)
        token = _current.set(inv)
        try:
            return run(inv)
        except BaseException as exc:
            inv.fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            raise
        finally:
            _current.reset(token)
            self._end(inv, shown)

    def loop_work(self, name: str, reason: str, run: Callable[..., T], args: tuple[Any, ...],
                  settle: Callable[[Console, Invocation, T], None]) -> T:
        """`run(*args)` as one invocation run synchronously on the loop thread (an entity batch, an
        orchestrator episode), the common case inlined as it runs once per batch: such work never nests,
        so one Invocation object is reused and found by the record handler through the loop thread's id
        rather than a context variable (no allocation the garbage collector must track, per batch).
        `settle(console, invocation, result)` marks it failed or skipped from the result; both lines
        are formatted at once at the end, or the Executing line before the first record it logs."""
        inv = self._loop_invocation
        inv.restart(name, new_invocation_id(), reason)
        self._loop_thread = threading.get_ident()
        self._loop_active = True
        try:
            result = run(*args)
        except BaseException as exc:
            self._loop_active = False
            inv.fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            self._end(inv, self._levels_of(name)[0])
            raise
        self._loop_active = False
        settle(self, inv, result)
        if inv.announced or inv.failure is not None:
            self._end(inv, self._levels_of(name)[0])
        elif not inv.skipped and self._levels_of(name)[0]:
            if self._interactive:
                self.write(self._pair((inv.started, time.time(), name, inv.invocation_id, reason)))
            else:  # formatted by the flush thread, many at a time
                self._queue.append((inv.started, time.time(), name, inv.invocation_id, reason))
        return result

    def _pair(self, item: tuple[float, float, str, str, str]) -> str:
        """The Executing and Executed lines of a loop invocation that succeeded and logged nothing."""
        started, ended, name, invocation_id, reason = item
        if "=" in reason:
            reason = redact(reason, self.secrets)
        return (f"{self._stamp(started)}Executing 'Functions.{name}' (Reason='{reason}', Id={invocation_id})\n"
                f"{self._stamp(ended)}Executed 'Functions.{name}' (Succeeded, Id={invocation_id}, "
                f"Duration={round((ended - started) * 1000)}ms)\n")

    def current(self) -> Invocation | None:
        """The invocation the calling code runs in, if any."""
        inv = _current.get()
        if inv is None and self._loop_active and threading.get_ident() == self._loop_thread:
            return self._loop_invocation
        return inv

    async def invoke_async(self, name: str, reason: str, run: Callable[[Invocation], Any],
                           invocation_id: str | None = None) -> Any:
        """`invoke` for a coroutine function: `run(invocation)` is awaited inside the invocation."""
        inv, shown = self._begin(name, reason, invocation_id, True)
        token = _current.set(inv)
        try:
            return await run(inv)
        except BaseException as exc:
            inv.fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            raise
        finally:
            _current.reset(token)
            self._end(inv, shown)

    def in_context(self, call: Callable[[], T]) -> Callable[[], T]:
        """`call` bound to the current invocation, for running it in a thread pool."""
        return call if _current.get() is None else _bind(call)

    def durable_outcome(self, name: str, instance_id: str, status: str, message: Any) -> None:
        """The line an orchestration's end prints (Completed, Failed with its message, Terminated)."""
        level = logging.ERROR if status == "Failed" else logging.WARNING if status == "Terminated" \
            else logging.INFO
        if not self.levels.enabled(DURABLE_CATEGORY, level):
            return
        if status == "Completed":
            text = f"{instance_id}: Orchestration '{name}' completed."
        elif status == "Failed":
            text = f"{instance_id}: Orchestration '{name}' failed: {self._message(str(message))}"
        else:
            text = f"{instance_id}: Orchestration '{name}' is {status}" + (f": {message}" if message else ".")
        self.write(self._line(time.time(), redact(text, self.secrets), level))

    def operation_errors(self, inv: Invocation, count: int, first: str) -> None:
        """Entity operations that raised (the batch itself succeeds, as in Azure): the first message."""
        category = f"Function.{inv.name}"
        if not self.levels.enabled(category, logging.WARNING):
            return
        text = "" if inv.announced else self._executing(inv)
        more = f" (and {count - 1} more in this batch)" if count > 1 else ""
        self.write(text + self._line(time.time(), redact(f"Entity operation failed: {first}{more}", self.secrets),
                                     logging.WARNING))

    # -- the functions' own records -------------------------------------------------------------
    def replay(self, inv: Invocation, records: tuple[WorkerRecord, ...]) -> None:
        """Records an activity logged in a worker process (`captured`), printed as if logged here."""
        for created, level, message in records:
            self.record(inv, logging.makeLogRecord({"created": created, "levelno": level, "msg": message,
                                                    "levelname": logging.getLevelName(level)}))

    def record(self, inv: Invocation, record: logging.LogRecord) -> None:
        category = f"Function.{inv.name}.User"
        if not self.levels.enabled(category, record.levelno):
            return
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += "".join(traceback.format_exception(exc)) if self.verbose else \
                f" ({type(exc).__name__}: {exc})"
        text = "" if inv.announced or not self.levels.enabled(f"Function.{inv.name}", logging.INFO) \
            else self._executing(inv)
        self.write(text + self._line(record.created, redact(message, self.secrets), record.levelno, category))


def _bind(call: Callable[[], T]) -> Callable[[], T]:
    context = contextvars.copy_context()
    return lambda: context.run(call)


class _Silent:
    """The console when nothing prints (not installed, or host.json turns every category off)."""

    def invoke(self, name: str, reason: str, run: Callable[[Invocation], T], invocation_id: str | None = None,
               announce: bool = True) -> T:
        return run(_NO_INVOCATION)

    async def invoke_async(self, name: str, reason: str, run: Callable[[Invocation], Any],
                           invocation_id: str | None = None) -> Any:
        return await run(_NO_INVOCATION)

    def loop_work(self, name: str, reason: str, run: Callable[..., T], args: tuple[Any, ...],
                  settle: Callable[[Console, Invocation, T], None]) -> T:
        return run(*args)

    def replay(self, inv: Invocation, records: tuple[WorkerRecord, ...]) -> None:
        return None

    def durable_outcome(self, name: str, instance_id: str, status: str, message: Any) -> None:
        return None

    def in_context(self, call: Callable[[], T]) -> Callable[[], T]:
        return call


_NO_INVOCATION = Invocation("", "", "")

# -- activity worker processes ---------------------------------------------------------------------
WorkerRecord = tuple[float, int, str]  # (created, level, message) of a record logged in a worker process
_worker_records: list[WorkerRecord] | None = None


class _WorkerCapture(logging.Handler):
    """In an activity worker process: keeps the records of the running activity for the host."""

    def emit(self, record: logging.LogRecord) -> None:
        if _worker_records is None or record.name.startswith("funchost"):
            if record.levelno >= logging.WARNING and logging.lastResort is not None:
                logging.lastResort.handle(record)  # what the worker printed before (stderr)
        else:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "".join(traceback.format_exception(record.exc_info[1]))
            _worker_records.append((record.created, record.levelno, message))


def capture_in_worker() -> None:
    """Set up a worker process (its initializer) so `captured` sees the activities' records."""
    root = logging.getLogger()
    root.addHandler(_WorkerCapture(logging.DEBUG))
    root.setLevel(logging.DEBUG)
    logging.getLogger("funchost").setLevel(logging.WARNING)


def captured(call: Callable[[], T]) -> tuple[T, tuple[WorkerRecord, ...]]:
    """`call()` in a worker process, with the records it logged (the host prints them in its console)."""
    global _worker_records
    _worker_records = []
    try:
        return call(), tuple(_worker_records)
    finally:
        _worker_records = None
_active: ConsoleLike = _Silent()


def active() -> ConsoleLike:
    return _active


class _RecordHandler(logging.Handler):
    """Routes records logged inside an invocation (by the function, not by funchost) to the console."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.NOTSET)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        inv = self.console.current()
        if inv is None or record.name.startswith("funchost"):
            return
        try:
            self.console.record(inv, record)
        except Exception:  # a record that cannot be formatted must not fail the invocation
            self.handleError(record)


class _HostRecords(logging.Filter):
    """The host's own stderr handler: leaves the functions' records to the console."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("funchost"):
            return True
        return (self.console.current() if self.console is not None else _current.get()) is None


def install(log_levels: Mapping[str, Any], host_level: str, verbose: bool, secrets: Iterable[str] = (),
            stream: IO[str] | None = None, env: Mapping[str, str] | None = None,
            host_json_path: str = "host.json") -> ConsoleLike:
    """Set up logging for a host process: the host's own records on stderr at `host_level` (DEBUG with
    `--verbose`), and the console on stdout at host.json's levels (default Information, Debug with
    `--verbose`). Returns the active console."""
    global _active
    out = stream or sys.stdout
    levels = CategoryLevels(read_log_levels(log_levels, host_json_path), logging.DEBUG if verbose else logging.INFO)
    own = logging.DEBUG if verbose else logging.getLevelName(host_level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(own)
    host_records = _HostRecords()
    handler.addFilter(host_records)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.getLogger("funchost").setLevel(own)
    user_level = levels.lowest()
    if user_level >= NONE:
        root.setLevel(own)
        _active = _Silent()
        return _active
    colour = bool(getattr(out, "isatty", lambda: False)()) and "NO_COLOR" not in (env or {})
    console = Console(out, levels, colour=colour, verbose=verbose, secrets=secrets)
    host_records.console = console
    root.addHandler(_RecordHandler(console))
    root.setLevel(min(own, user_level))
    _active = console
    return console


def reset() -> None:
    """Back to the silent console (tests that install one)."""
    global _active
    _active = _Silent()


# -- hooks for the durable work the dispatcher runs on the loop ----------------------------------
class _EpisodeLike(Protocol):
    @property
    def invoked(self) -> bool: ...

    @property
    def instance(self) -> Any: ...


E = TypeVar("E", bound=_EpisodeLike)
B = TypeVar("B")
_TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


def orchestrator_episode(name: str, instance_id: str, status_before: str, run: Callable[..., E],
                         *args: Any) -> E:
    """`run(*args)`, one orchestrator episode, as one invocation; an orchestration that ends here prints
    its outcome. (Arguments rather than a closure: see `Console.loop_work`.)"""
    console = _active
    episode = console.loop_work(name, f"Durable orchestration {instance_id}", run, args, _settle_episode)
    status = episode.instance.status
    if status in _TERMINAL and status_before not in _TERMINAL:
        console.durable_outcome(name, instance_id, status, episode.instance.output)
    return episode


def _settle_episode(console: Console, inv: Invocation, episode: _EpisodeLike) -> None:
    if not episode.invoked:
        inv.skip()
    elif episode.instance.status == "Failed":
        inv.fail(str(episode.instance.output))


def entity_batch(name: str, entity_id: str, operations: int, run: Callable[..., B], *args: Any) -> B:
    """`run(*args)`, one entity batch, as one invocation (as Azure does); a failed operation's message
    is shown, the batch itself succeeds."""
    console = _active
    if not isinstance(console, Console):
        return run(*args)
    return console.loop_work(name, f"Entity {entity_id}, {operations} operation{'s' if operations != 1 else ''}",
                             run, args, _settle_batch)


def _settle_batch(console: Console, inv: Invocation, outcome: Any) -> None:
    for result in outcome.results:
        if result.is_error:
            errors = [r for r in outcome.results if r.is_error]
            console.operation_errors(inv, len(errors), _json_text(errors[0].result))
            return


def _json_text(value: Any) -> str:
    """An operation's error result (JSON text of a message) as the message itself."""
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        decoded = value
    return str(decoded)
