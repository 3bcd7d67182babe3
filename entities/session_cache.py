"""Decoded player sessions kept per process, reused when the stored state is equal to what was decoded.

`PlayerSession.from_dict` validates every stored event, and the PlayerSession entity reads its
state on every operation: profiled, that decoding is about a quarter of an operation's cost. A
session is a pure function of its stored dict, so a worker that decoded (or wrote) a state may
reuse that session whenever the state it is handed compares equal to that dict (`==` on plain JSON
values, done in C). The cache never decides anything on its own: a different state, or one it never
saw, is decoded as before (and raises as before when malformed). Bounded, least recently used first
out; per process, behind a lock (Azure runs sync functions in a thread pool), so it is correct on
Azure's workers as well as on funchost. Only the entity writes its state, so an equal stored dict
is one this code wrote or decoded (`==` does not tell `1` from `True`, which a state the entity
wrote never mixes up, since JSON keeps them apart). Nor does it tell `900` from `900.0`, and a first
attempt's state holds its time as an integer where decoding gives a float: the entity therefore
remembers what it wrote as decoding would read it back (`PlayerSession.as_decoded`), so a cached
session is exactly the decoded one, types included (tests/app/test_entity_fast_path.py checks warm
runs against cold ones byte for byte).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from adaptive.session import PlayerSession

MAX_SESSIONS = 4096


class SessionCache:
    """player id -> (the stored dict, its decoded session), for the most recently used players."""

    def __init__(self, size: int = MAX_SESSIONS) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[Any, PlayerSession]] = OrderedDict()
        self._lock = threading.Lock()

    def decode(self, player_id: str, stored: Any) -> PlayerSession:
        """The session `stored` holds: the remembered one if `stored` equals its dict, else decoded anew."""
        with self._lock:
            known = self._items.get(player_id)
        if known is not None and (known[0] is stored or known[0] == stored):
            return known[1]
        session = PlayerSession.from_dict(stored)
        self.remember(player_id, stored, session)
        return session

    def remember(self, player_id: str, stored: Any, session: PlayerSession) -> None:
        """Note that `stored` (a dict never changed afterwards) decodes to `session`."""
        with self._lock:
            self._items[player_id] = (stored, session)
            self._items.move_to_end(player_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def forget(self, player_id: str) -> None:
        with self._lock:
            self._items.pop(player_id, None)
