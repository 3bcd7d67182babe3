"""A long, seeded sequence of PlayerSession batches run through the SDK's entity handle, for equality tests.

`batches(seed, count)` draws batches of 1-4 operations over a few players: mostly attempts (over more
shapes than a session keeps, so shapes are evicted), performance reports, every read, resets,
rejected inputs, ISO and epoch clocks, and now and then a batch that starts from an older stored
state of its player (what a rolled-back commit, or another worker's write on Azure, looks like to
the entity). `run(handle, batches, mode)` plays them and returns what the host would keep: each
operation's (is_error, result text) and each batch's (exists, state text), all exactly as the SDK
encoded them, so two runs compare byte for byte.

Modes: "warm" keeps the entity's session cache as it runs; "cold" forgets every player's cached
session before every operation and runs each operation as its own batch, which is the plain path:
every operation decodes its state from JSON, as on an Azure worker that has just loaded the entity.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entities import player_session

PLAYERS = ("p0", "p1", "p2", "p3", "p4")
SHAPES = tuple(f"{root}{kind}" for root in "CDEFGAB" for kind in ("maj7", "m7", "7", "dim"))  # 28 > 24
T0 = 1_700_000_000_000
READS = ("get_stats", "get_difficulty", "get_recommended_exercise", "get_session", "get_state")
BAD_INPUTS: tuple[Any, ...] = (
    {"success": True, "timeMs": True, "attempts": 1, "shapeId": "Cmaj7"},
    {"success": True, "timeMs": 900, "attempts": 0, "shapeId": "Cmaj7"},
    {"success": "yes", "timeMs": 900, "attempts": 1, "shapeId": "C maj7"},
    [1, 2, 3],
)


@dataclass(frozen=True)
class Batch:
    """Operations (name, input) for one player, run from the state `back` batches before the latest."""

    player: str
    operations: tuple[tuple[str, Any], ...]
    back: int = 0


def _operation(rng: random.Random, clock: list[int]) -> tuple[str, Any]:
    clock[0] += 200 + int(rng.random() * 40_000)
    now: Any = clock[0]
    if rng.random() < 0.1:  # the ISO form of the same clock (millisecond precision)
        now = _iso(clock[0])
    draw = rng.random()
    if draw < 0.70:
        return "record_attempt", {
            "success": rng.random() < 0.65,
            "timeMs": 150 + int(rng.random() * 9000) + (0.5 if rng.random() < 0.1 else 0),
            "attempts": 1 + int(rng.random() * 6),
            "shapeId": SHAPES[int(rng.random() * len(SHAPES))],
            "now": now,
        }
    if draw < 0.80:
        body = {"accuracy": rng.random(), "speed": rng.random(), "consistency": rng.random(), "now": now}
        if rng.random() < 0.5:
            body["context"] = f"ii-V-I in {SHAPES[int(rng.random() * 7)][0]}"
        return "update_performance", body
    if draw < 0.94:
        return READS[int(rng.random() * len(READS))], None
    if draw < 0.95:
        return "reset", None
    if draw < 0.99:
        bad = BAD_INPUTS[int(rng.random() * len(BAD_INPUTS))]
        return "record_attempt", bad if not isinstance(bad, dict) else {**bad, "now": now}
    return "no_such_operation", None


def _iso(epoch_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def batches(seed: int, count: int) -> list[Batch]:
    """`count` seeded batches (the same list for the same arguments, on any Python version)."""
    rng = random.Random(seed)
    clock = [T0]
    drawn = []
    for _ in range(count):
        player = PLAYERS[int(rng.random() * len(PLAYERS))]
        size = 1 + int(rng.random() * 4)
        back = 1 + int(rng.random() * 3) if rng.random() < 0.03 else 0
        drawn.append(Batch(player, tuple(_operation(rng, clock) for _ in range(size)), back))
    return drawn


@dataclass(frozen=True)
class Played:
    """What one batch left: per operation (is_error, result text), then (exists, state text)."""

    results: tuple[tuple[bool, str | None], ...]
    exists: bool
    state: str | None


def _call(handle: Callable[[str], str], player: str, state: str | None,
          operations: tuple[tuple[str, Any], ...]) -> Played:
    context = {
        "self": {"name": "playersession", "key": player},
        "state": state,
        "exists": state is not None,
        "batch": [{"name": name, "input": json.dumps(json.dumps(value)), "isSignal": False}
                  for name, value in operations],
    }
    raw = json.loads(handle(json.dumps(context)))
    exists = bool(raw["entityExists"])
    return Played(tuple((bool(r["isError"]), r["result"]) for r in raw["results"]), exists,
                  raw["entityState"] if exists else None)


def _forget_cached_sessions() -> None:
    cache = getattr(player_session, "_sessions", None)  # absent before the cache (the golden's commit may be)
    for player in PLAYERS:
        if cache is not None:
            cache.forget(player)


def run(handle: Callable[[str], str], drawn: list[Batch], mode: str) -> list[Played]:
    """Play `drawn` in `mode` ("warm" or "cold", see the module docstring); one Played per batch."""
    history: dict[str, list[str | None]] = {player: [None] for player in PLAYERS}
    played = []
    for batch in drawn:
        states = history[batch.player]
        state = states[max(0, len(states) - 1 - batch.back)]
        if mode == "warm":
            outcome = _call(handle, batch.player, state, batch.operations)
        else:
            results: list[tuple[bool, str | None]] = []
            exists = state is not None
            for operation in batch.operations:
                _forget_cached_sessions()
                one = _call(handle, batch.player, state, (operation,))
                results.extend(one.results)
                state, exists = one.state, one.exists
            outcome = Played(tuple(results), exists, state)
        states.append(outcome.state)
        played.append(outcome)
    return played


def digests(played: list[Played]) -> list[str]:
    """One short SHA-256 per batch of everything it left (results, existence, state text)."""
    return [hashlib.sha256(json.dumps([p.results, p.exists, p.state]).encode()).hexdigest()[:20] for p in played]


GOLDEN_SEED, GOLDEN_BATCHES = 14, 1500


def main() -> None:
    """Print the golden digests of the code checked out (how tests/app/data/entity_sequence_golden.json was made)."""
    import azure.durable_functions as df

    handle = df.Entity.create(player_session.run_operation)
    played = run(handle, batches(GOLDEN_SEED, GOLDEN_BATCHES), "cold")
    json.dump({"seed": GOLDEN_SEED, "batches": GOLDEN_BATCHES, "digests": digests(played)}, sys.stdout, indent=0)


if __name__ == "__main__":
    main()
