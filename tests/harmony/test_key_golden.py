"""Golden key inference, key regions and analysis on the corpus of standards (tests/harmony/data).

The expected keys and key centres are facts about the tunes (written in the corpus file); the
analyses below are what a jazz teacher writes over those changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harmony.chords import parse_chord, split_progression
from harmony.keys import MINOR_MODES, analyse, infer_key, key_regions, parse_key

CORPUS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "data" / "standards.json").read_text())["tunes"]
BY_NAME = {tune["name"]: tune for tune in CORPUS}


def _chords(tune: dict[str, Any]) -> list[Any]:
    return [parse_chord(symbol) for symbol in split_progression(tune["progression"])]


@pytest.mark.parametrize("tune", [t for t in CORPUS if t.get("inferable", True)], ids=lambda t: t["name"])
def test_key_inference_finds_the_tunes_key(tune: dict[str, Any]) -> None:
    expected = parse_key(tune["key"])
    inferred = infer_key(_chords(tune))
    if expected.mode in ("major", "minor"):
        assert inferred == expected
    else:  # inference names major or minor; a modal tune must get its tonic and its third right
        assert (inferred.tonic_pc, inferred.is_minor) == (expected.tonic_pc, expected.mode in MINOR_MODES)


def test_a_final_dominant_is_not_taken_for_the_tonic() -> None:
    for name in ("Misty", "There Will Never Be Another You", "Rhythm changes (A)", "Solar"):
        tune = BY_NAME[name]
        last = _chords(tune)[-1]
        assert last.is_dominant
        assert infer_key(_chords(tune)) == parse_key(tune["key"]), name


@pytest.mark.parametrize("tune", [t for t in CORPUS if "regions" in t], ids=lambda t: t["name"])
def test_key_regions_follow_the_tunes_key_centres(tune: dict[str, Any]) -> None:
    found = [region.key.name for region in key_regions(_chords(tune), parse_key(tune["key"]))]
    expected = iter(found)
    assert all(any(key == name for name in expected) for key in tune["regions"]), found


GOLDEN = {
    "Autumn Leaves": ["iv7", "bVII7", "bIIImaj7", "bVImaj7", "iiø7", "V7", "i6", "i6"],
    "Rhythm changes (A)": ["Imaj7", "V7/ii", "ii7", "V7", "iii7", "V7/ii", "ii7", "V7", "ii7/IV", "V7/IV",
                           "IVmaj7", "#iv°7", "iii7", "V7/ii", "ii7", "V7"],
    "Misty": ["Imaj7", "ii7/IV", "V7/IV", "IVmaj7", "iv7", "bVII7", "Imaj7", "vi7", "ii7", "V7", "iii7", "V7/ii",
              "ii7", "V7"],
    "Blue Bossa": ["i7", "i7", "iv7", "iv7", "iiø7", "V7alt", "i7", "i7", "ii7/bII", "V7/bII", "bIImaj7", "bIImaj7",
                   "iiø7", "V7alt", "i7", "i7"],
    "Tritone cadence in C": ["ii7", "bII7#11", "Imaj7", "Imaj7"],
}
FUNCTIONS = {
    ("Rhythm changes (A)", 11): "passing diminished (ascending from Ebmaj7)",
    ("Jazz blues in F", 6): "passing diminished (ascending from Bb7)",
    ("Jazz blues in F", 3): "related ii of IV",
    ("Misty", 4): "borrowed from Eb minor (modal interchange)",
    ("Misty", 5): "backdoor dominant",
    ("Blue Bossa", 8): "related ii of bII",
    ("Lady Bird", 17): "borrowed from C phrygian (modal interchange)",
    ("Tritone cadence in C", 1): "tritone substitute for V7",
    ("Mixolydian vamp in D", 1): "subtonic",
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_numerals(name: str) -> None:
    tune = BY_NAME[name]
    assert [item.roman for item in analyse(_chords(tune), parse_key(tune["key"]))] == GOLDEN[name]


@pytest.mark.parametrize(("name", "index"), sorted(FUNCTIONS))
def test_golden_functions(name: str, index: int) -> None:
    tune = BY_NAME[name]
    analysis = analyse(_chords(tune), parse_key(tune["key"]))
    assert analysis[index].function == FUNCTIONS[(name, index)]
    assert "chromatic" not in [item.function for item in analysis if item.chord == analysis[index].chord]


def test_the_mixolydian_bvii_is_diatonic_not_borrowed() -> None:
    analysis = analyse(_chords(BY_NAME["Mixolydian vamp in D"]), parse_key("D mixolydian"))
    assert all(item.diatonic for item in analysis)
    assert not any("borrowed" in item.function for item in analysis)
