"""Rejected requests logged as one WARNING line each, rate-limited so cheap bad requests cannot flood the log.

At most `per_window` lines per `window_s` (20 a minute by default); the rest are counted, and the first
rejection after the window closes logs one summary line with that count before its own line. Shared by
every thread that rejects requests (the lock makes it safe); the clock is injectable for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("funchost")


class RejectionLog:
    """The rate limit on rejected-request warnings."""

    def __init__(self, per_window: int = 20, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._logged = 0
        self._suppressed = 0

    def allow(self) -> bool:
        """Whether one more rejected-request line may be logged now (logging the summary of a closed window)."""
        with self._lock:
            now = self._clock()
            if now - self._window_start >= self.window_s:
                suppressed, self._suppressed = self._suppressed, 0
                self._window_start, self._logged = now, 0
                if suppressed:
                    log.warning("%d more rejected requests were not logged in the last %.0f s (at most %d "
                                "lines per %.0f s)", suppressed, self.window_s, self.per_window, self.window_s)
            if self._logged < self.per_window:
                self._logged += 1
                return True
            self._suppressed += 1
            return False

    def warn(self, message: str, *args: object) -> None:
        """Log `message % args` as a WARNING if the rate limit allows."""
        if self.allow():
            log.warning(message, *args)


REJECTIONS = RejectionLog()


def rejected(message: str, *args: object) -> None:
    """One WARNING line for a rejected request, through the host's rate limit."""
    REJECTIONS.warn(message, *args)
