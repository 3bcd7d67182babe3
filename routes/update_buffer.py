"""The recent difficulty updates of each player, kept in process so the player streams lose none.

The write routes receive each recorded event's update with the entity's answer and `publish` it
here; the player event streams (`routes.player_events`) serve a client from this buffer first, and
fall back to the session's stored 32-event window (and a `gap` event) only for updates that are in
neither: a client further behind than the buffer, or writes served by another worker process or
Azure instance (or signalled through the management API), which never pass through this one.

Per player one ring of the last `per_player` updates of its newest session, indexed by the update's
sequence number (`seq % per_player`), so out-of-order publishes of concurrent writes land in place
and a lookup is O(1). Memory is bounded three ways: `per_player` updates per ring, `max_players`
rings, and `max_updates` updates over all rings; past either of the last two, and for players
without a write for `idle_s`, the least recently written player's ring is dropped whole (its streams
then read the stored window, as a stream on another instance would). Updates are kept as their JSON
text (about 0.75 KB; 0.9 KB of memory each measured with tracemalloc, so the default 16384 in all
is about 15 MB, plus 8 KB of slots per tracked player). Rings are keyed by player id and a read
names its player, so one player's updates cannot reach another player's stream. Nothing here is
stored in the entity, whose state stays within its bound.

Concurrency: used only from the worker's event loop (async routes), with no await inside a method,
so every method runs whole between two other tasks' steps; no locks.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from routes import json_text

logger = logging.getLogger(__name__)


@dataclass
class _Ring:
    """The buffered updates of one session of one player; `slots[seq % size]` holds `(seq, json)`."""

    started_at_ms: int
    size: int
    last_write_s: float
    slots: list[tuple[int, str] | None] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self.slots = [None] * self.size

    def put(self, seq: int, text: str) -> int:
        """Store update `seq` unless a newer one holds its slot; returns how many updates were added (0 or 1)."""
        index = seq % self.size
        held = self.slots[index]
        if held is not None and held[0] >= seq:
            return 0
        self.slots[index] = (seq, text)
        if held is not None:
            return 0
        self.count += 1
        return 1

    def get(self, seq: int) -> str | None:
        held = self.slots[seq % self.size]
        return held[1] if held is not None and held[0] == seq else None


class UpdateBuffer:
    """Bounded per-player rings of recent updates (see the module docstring); `clock` is monotonic seconds."""

    def __init__(self, per_player: int = 1024, max_players: int = 256, max_updates: int = 16384,
                 idle_s: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_player = per_player
        self.max_players = max_players
        self.max_updates = max_updates
        self.idle_s = idle_s
        self._clock = clock
        self._rings: OrderedDict[str, _Ring] = OrderedDict()  # least recently written first
        self._total = 0

    def __len__(self) -> int:
        """How many updates are buffered over all players."""
        return self._total

    def players(self) -> list[str]:
        """The players with a ring, least recently written first."""
        return list(self._rings)

    def publish(self, player_id: str, update: dict[str, Any]) -> None:
        """Keep `update` (a `difficulty` event's data: it names its session and seq) for `player_id`'s streams.

        An update of an older session than the ring's is ignored (a write that finished after a reset
        and a newer session's first write); one of a newer session replaces the ring.
        """
        started, seq = int(update["sessionStartedAtMs"]), int(update["seq"])
        now = self._clock()
        ring = self._rings.get(player_id)
        if ring is not None and started < ring.started_at_ms:
            return
        if ring is None or started > ring.started_at_ms:
            self.drop(player_id)
            ring = _Ring(started, self.per_player, now)
            self._rings[player_id] = ring
        ring.last_write_s = now
        self._rings.move_to_end(player_id)
        self._total += ring.put(seq, json_text.dumps(update))
        self._evict(now, keep=player_id)

    def drop(self, player_id: str) -> None:
        """Forget `player_id`'s updates (its session was reset)."""
        ring = self._rings.pop(player_id, None)
        if ring is not None:
            self._total -= ring.count

    def get(self, player_id: str, started_at_ms: int, seq: int) -> dict[str, Any] | None:
        """Update `seq` of `player_id`'s session started at `started_at_ms`, None if not buffered."""
        ring = self._rings.get(player_id)
        if ring is None or ring.started_at_ms != started_at_ms:
            return None
        text = ring.get(seq)
        return None if text is None else dict(json.loads(text))

    def run_after(self, player_id: str, started_at_ms: int, seq: int, limit: int) -> list[dict[str, Any]]:
        """The buffered updates `seq + 1, seq + 2, ...` of that session, up to the first one missing or `limit`."""
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            update = self.get(player_id, started_at_ms, seq + 1 + len(found))
            if update is None:
                break
            found.append(update)
        return found

    def seqs_between(self, player_id: str, started_at_ms: int, low: int, high: int) -> list[int]:
        """The buffered seqs of that session within `low..high`, ascending."""
        ring = self._rings.get(player_id)
        if ring is None or ring.started_at_ms != started_at_ms:
            return []
        return sorted(held[0] for held in ring.slots if held is not None and low <= held[0] <= high)

    def _evict(self, now: float, keep: str) -> None:
        """Drop idle rings, then the least recently written ones while over a bound (never `keep`'s)."""
        while self._rings:
            oldest, ring = next(iter(self._rings.items()))
            over = len(self._rings) > self.max_players or self._total > self.max_updates
            if oldest == keep or not (over or now - ring.last_write_s > self.idle_s):
                return
            self.drop(oldest)


def _env_int(variable: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(os.environ.get(variable, str(default)))))
    except ValueError:
        return default


def from_environment() -> UpdateBuffer:
    """The buffer sized by PLAYER_EVENTS_BUFFER (updates per player, default 1024),
    PLAYER_EVENTS_BUFFER_PLAYERS (default 256) and PLAYER_EVENTS_BUFFER_TOTAL (default 16384)."""
    return UpdateBuffer(per_player=_env_int("PLAYER_EVENTS_BUFFER", 1024, 1, 65536),
                        max_players=_env_int("PLAYER_EVENTS_BUFFER_PLAYERS", 256, 1, 65536),
                        max_updates=_env_int("PLAYER_EVENTS_BUFFER_TOTAL", 16384, 1, 1 << 22))


BUFFER = from_environment()


def take_update(player_id: str, operation: str, result: Any) -> Any:
    """After a write route's entity call: publish the update the entity returned, or forget the player's
    updates after a reset; returns the answer for the HTTP caller (the result without `update`)."""
    if operation == "reset":
        BUFFER.drop(player_id)
        return result
    if not isinstance(result, dict) or not isinstance(result.get("update"), dict):
        return result
    answer = dict(result)
    update = answer.pop("update")
    try:
        BUFFER.publish(player_id, update)
    except (KeyError, TypeError, ValueError) as exc:  # the write succeeded: its streams read the window
        logger.warning("player %s: update not buffered (%s: %s)", player_id, type(exc).__name__, exc)
    return answer
