"""A byte-bounded LRU of entity states, so a batch does not re-read what the host itself committed."""

from __future__ import annotations

from collections import OrderedDict

_MISSING = object()


class EntityStateCache:
    """Owned by the dispatcher's loop thread. Holds committed states only (updated after commit)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, str | None] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, entity_id: str) -> tuple[bool, bool, str | None]:
        """(known, exists, state): `known` False means the store must be asked."""
        value = self._items.get(entity_id, _MISSING)
        if value is _MISSING:
            self.misses += 1
            return False, False, None
        self.hits += 1
        self._items.move_to_end(entity_id)
        return True, True, value  # type: ignore[return-value]

    def put(self, entity_id: str, state: str | None) -> None:
        self.discard(entity_id)
        size = len(state or "") + len(entity_id) + 64
        if size > self.max_bytes:
            return
        self._items[entity_id] = state
        self._bytes += size
        while self._bytes > self.max_bytes and self._items:
            old_id, old_state = self._items.popitem(last=False)
            self._bytes -= len(old_state or "") + len(old_id) + 64

    def discard(self, entity_id: str) -> None:
        old = self._items.pop(entity_id, _MISSING)
        if old is not _MISSING:
            self._bytes -= len(old or "") + len(entity_id) + 64  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._items)
