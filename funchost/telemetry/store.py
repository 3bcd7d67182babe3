"""`funchost_store_size_bytes`: the SQLite store's size on disk, per file, read at collection time.

Two `stat` calls per collection (the database file and its write-ahead log), no query and no lock on
the store, so a scrape costs the same however large the store is. A missing file (no WAL yet, an
in-memory store) is 0. SQLite rewrites the WAL from its start after a checkpoint without truncating it,
so the WAL file keeps the largest size it reached while the host runs; the database file only grows
until the store is vacuumed.
"""

from __future__ import annotations

import os
from typing import Any

# (label value, suffix SQLite appends to the database path)
STORE_FILES = (("database", ""), ("wal", "-wal"))


def store_file_sizes(path: str) -> dict[str, int]:
    """Bytes on disk of the store at `path`, per file: {"database": ..., "wal": ...}."""
    sizes = {}
    for name, suffix in STORE_FILES:
        try:
            sizes[name] = os.stat(path + suffix).st_size
        except OSError:
            sizes[name] = 0
    return sizes


class StoreSize:
    """The `funchost_store_size_bytes{file}` gauge over the store file at `path`, registered on `meter`.

    The callback runs in the metric reader's collection (the `/metrics` handler, or the OTLP reader's
    thread); it touches only the file system and never raises.
    """

    def __init__(self, meter: Any, path: str) -> None:
        self.path = path
        meter.create_observable_gauge(
            "funchost_store_size", callbacks=[self._observe], unit="By",
            description="Bytes on disk of the SQLite store, per file (database, wal)")

    def _observe(self, _options: Any) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(size, {"file": name}) for name, size in store_file_sizes(self.path).items()]
