"""The PlayerSession entity's fast path (cached sessions, incremental state and views) equals the plain path.

Over a long seeded sequence of batches (attempts over more shapes than a session keeps, performance
reports, every read, resets, rejected inputs, batches started from an older state), run through the
SDK's entity handle: the warm run, which reuses cached sessions, leaves byte for byte what the cold
run leaves, where every operation decodes its state from JSON; and both leave what the code before
the fast path (commit 9572e7e) left, recorded as per-batch digests in data/entity_sequence_golden.json.
Equal state texts also mean that state written by that code is read by this code as its own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import azure.durable_functions as df
import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from entities import player_session  # noqa: E402
from tests.app import entity_sequence  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "entity_sequence_golden.json"


@pytest.fixture(scope="module")
def handle() -> Callable[[str], str]:
    return df.Entity.create(player_session.run_operation)


def test_the_sequence_exercises_what_the_fast_path_must_get_right(handle: Callable[[str], str]) -> None:
    drawn = entity_sequence.batches(7, 400)
    played = entity_sequence.run(handle, drawn, "warm")
    results = [r for p in played for r in p.results]
    names = [name for b in drawn for name, _ in b.operations]
    assert sum(is_error for is_error, _ in results) >= 5  # rejected inputs and the unknown operation
    assert set(names) >= {"record_attempt", "update_performance", "reset", *entity_sequence.READS}
    assert any(b.back for b in drawn)  # batches started from an older state
    states = [json.loads(p.state) for p in played if p.state is not None]
    assert max(len(s["window"]) for s in states) == 32 and max(len(s["shapes"]) for s in states) == 24


def test_warm_runs_leave_exactly_what_cold_runs_leave(handle: Callable[[str], str]) -> None:
    drawn = entity_sequence.batches(2026, 1200)
    player_session._sessions.forget("p0")
    warm = entity_sequence.run(handle, drawn, "warm")
    cold = entity_sequence.run(handle, drawn, "cold")
    for index, (fast, plain) in enumerate(zip(warm, cold, strict=True)):
        assert fast == plain, f"batch {index} ({drawn[index]}) differs"


def test_the_code_leaves_what_the_code_before_the_fast_path_left(handle: Callable[[str], str]) -> None:
    golden = json.loads(GOLDEN.read_text())
    drawn = entity_sequence.batches(golden["seed"], golden["batches"])
    for mode in ("warm", "cold"):
        found = entity_sequence.digests(entity_sequence.run(handle, drawn, mode))
        mismatch = next((i for i, (a, b) in enumerate(zip(found, golden["digests"], strict=True)) if a != b), None)
        assert mismatch is None, f"{mode}: batch {mismatch} ({drawn[mismatch or 0]}) differs from the golden run"
