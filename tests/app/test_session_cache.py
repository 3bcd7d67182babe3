"""The entity's cache of decoded sessions: same answers as decoding every time, a different state decoded anew."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from adaptive.errors import StateError  # noqa: E402
from adaptive.session import PlayerSession  # noqa: E402
from adaptive.validation import parse_attempt  # noqa: E402
from entities.session_cache import SessionCache  # noqa: E402

NOW = 1_700_000_000_000


def _session(attempts: int, player: str = "alice") -> PlayerSession:
    session = PlayerSession.new(player, NOW)
    for i in range(attempts):
        body = {"success": i % 3 != 0, "timeMs": 900 + 31 * i, "attempts": 1 + i % 2, "shapeId": f"shape-{i % 4}"}
        session = session.record_attempt(parse_attempt(body, NOW + 1000 * i))
    return session


def _stored(session: PlayerSession) -> Any:
    """The state as the entity reads it back: the JSON round trip of what it wrote."""
    return json.loads(json.dumps(session.to_dict()))


def test_a_remembered_state_gives_the_very_session_and_equals_decoding() -> None:
    cache = SessionCache()
    session = _session(12)
    written = session.to_dict()
    cache.remember("alice", written, session)
    stored = _stored(session)
    assert cache.decode("alice", stored) is session
    assert cache.decode("alice", stored) == PlayerSession.from_dict(stored)


def test_a_different_state_is_decoded_anew() -> None:
    cache = SessionCache()
    older, newer = _session(5), _session(6)
    cache.remember("alice", older.to_dict(), older)
    decoded = cache.decode("alice", _stored(newer))
    assert decoded is not older and decoded == newer
    assert cache.decode("alice", _stored(newer)) is decoded  # remembered after decoding


def test_a_malformed_state_still_raises_even_when_another_is_remembered() -> None:
    cache = SessionCache()
    session = _session(3)
    cache.remember("alice", session.to_dict(), session)
    broken = _stored(session) | {"schemaVersion": 999}
    with pytest.raises(StateError):
        cache.decode("alice", broken)


def test_players_do_not_share_entries_and_the_cache_is_bounded() -> None:
    cache = SessionCache(size=2)
    alice, bob, carol = _session(2, "alice"), _session(2, "bob"), _session(2, "carol")
    for player, session in (("alice", alice), ("bob", bob), ("carol", carol)):
        cache.remember(player, session.to_dict(), session)
    assert cache.decode("bob", _stored(bob)) is bob and cache.decode("carol", _stored(carol)) is carol
    again = cache.decode("alice", _stored(alice))  # evicted: decoded anew, equal
    assert again is not alice and again == alice
    cache.forget("alice")
    assert cache.decode("alice", _stored(alice)) is not again
