"""Alterations are the user's: spice-up never drops an altered tone of an input chord."""

from __future__ import annotations

import pytest

from harmony.agent import run_local
from harmony.chords import parse_chord
from harmony.rules import altered_pitch_classes

PROGRESSIONS = [
    ["Dm7b5", "G7alt", "Cm7", "Cm7"],
    ["Em7b5", "A7b9", "Dm7", "D7b5", "G7", "Cmaj7"],
    ["Bbmaj7#11", "Ebmaj7", "Am7b5", "D7", "Gm7"],
    ["C7#9", "F7", "C7#9", "G7", "F7", "C7#9"],
    ["Ebmaj7", "C7#9", "Fm7", "Bb7", "Ebmaj7"],
]
STYLES = ["jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop"]


def _altered_notes(symbol: str) -> frozenset[int]:
    return altered_pitch_classes(parse_chord(symbol))


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("progression", PROGRESSIONS, ids=lambda p: "-".join(p))
def test_spice_up_keeps_every_alteration(progression: list[str], style: str) -> None:
    for seed in (1, 2, 3):
        result = run_local("spice-up", {"progression": progression, "style": style, "seed": seed,
                                        "budgetMs": 600})
        final = result["progression"]
        by_source: dict[int, str] = {}
        kept = [change for change in result["changes"] if change["from"] is not None]
        for change in kept:
            by_source[change["index"]] = change["from"]
        # every input chord with alterations: the chord standing for it still sounds its altered notes
        for change in kept:
            missing = _altered_notes(change["from"]) - parse_chord(change["to"]).all_pitch_classes
            assert not missing, (style, seed, change)
        # an altered input chord that no change mentions is still in the result as written
        altered_inputs = [symbol for symbol in progression if _altered_notes(symbol)]
        changed_from = [change["from"] for change in kept]
        for symbol in altered_inputs:
            assert symbol in final or symbol in changed_from, (style, seed, final)


def test_the_alterations_of_the_issue_examples() -> None:
    names = {symbol: sorted(_altered_notes(symbol)) for symbol in ("G7alt", "D7b5", "Bbmaj7#11", "C7#9")}
    assert names == {"G7alt": [1, 3, 8, 10], "D7b5": [8], "Bbmaj7#11": [4], "C7#9": [3]}


def test_reharmonize_may_still_replace_an_altered_chord() -> None:
    changed = False
    for seed in range(1, 9):
        result = run_local("reharmonize", {"progression": ["Cmaj7", "D7b5", "Dm7", "G7", "Cmaj7"],
                                           "style": "jazz", "seed": seed, "budgetMs": 600})
        changed = changed or result["progression"][1] != "D7b5"
    assert changed
