"""One host per data folder: an exclusive OS lock on `<data>/host.lock`, held for the host's whole life.

The lock is `flock(LOCK_EX | LOCK_NB)` on a file in the data folder, so the kernel releases it when the
host exits in any way (`kill -9` included) and a stale lock file never blocks a new host. The file
records the owner's pid and port, read back only to say who holds the folder. The descriptor is not
inheritable, so activity worker processes (spawned) never hold the lock or the store.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import DataFolderInUse

LOCK_FILE = "host.lock"


class DataFolderLock:
    """Owned by the host that created it; `release()` is idempotent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `DataFolderInUse` naming the folder and, where known, its owner."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise DataFolderInUse(str(self.folder), *owner) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.record(port=None)

    def record(self, port: int | None) -> None:
        """Write the owner's pid (and port, once bound) into the lock file."""
        if self._fd is None:
            return
        text = f"pid={os.getpid()}" + (f" port={port}" if port is not None else "") + "\n"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock


def _read_owner(fd: int) -> tuple[int | None, int | None]:
    try:
        text = os.pread(fd, 200, 0).decode("ascii", "replace")
    except OSError:
        return None, None
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    return _int(fields.get("pid")), _int(fields.get("port"))


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
