"""Regressions from the generated scan (`tests.harmony.scan_generated`): one test per class of finding
that the generated audit used to leave out, each on the requests the scan found it in.

- structure: a long create in a mode with few templates (E lydian, 32 bars) came back to its first
  four-bar block at bar 25.
- voicing: a slash chord whose named tension sits a half step above the slash bass (A#m9/B, Bb7#9/C,
  Db7#5#9/Eb) had no shape at all that sounded it, so it was voiced without its tension (and G5/C#, the
  power chord's 5th a half step above the bass, was voiced with that minor 9th called a clash).
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from harmony.agent import run_local
from harmony.keys import parse_key
from harmony.templates import choose_template
from harmony.voicings import voicings_for
from tests.harmony.auditor import audit, read_chord, voicing_problems

MODES = ("major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "locrian")
STYLES = ("jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop")


def _audited(request: dict[str, Any]) -> list[str]:
    body = {key: value for key, value in request.items() if key != "type"}
    return audit(request, run_local(request["type"], body), list(request.get("progression", [])))


@pytest.mark.parametrize("request_body", [
    {"type": "create", "key": "E lydian", "style": "pop", "skillLevel": "beginner", "bars": 32, "seed": 552},
    {"type": "create", "key": "F# locrian", "style": "jazz", "skillLevel": "advanced", "bars": 24, "seed": 3},
    {"type": "create", "key": "A dorian", "style": "bossa-nova", "bars": 32, "seed": 41},
    {"type": "create", "key": "G mixolydian", "style": "blues", "skillLevel": "intermediate", "bars": 24,
     "seed": 3019},
], ids=lambda body: f"{body['key']}-{body['bars']}")
def test_a_long_modal_create_passes_the_audit(request_body: dict[str, Any]) -> None:
    assert _audited(dict(request_body, budgetMs=300)) == []


def test_no_template_block_comes_back_in_any_mode_or_length() -> None:
    """Bars 1-4, 5-8, ... of every fitted template differ (not only in a figure the search colours alike,
    I and I7), cadence included, up to the 32-bar limit."""
    repeats = []
    for mode in MODES:
        key = parse_key(f"E {mode}")
        for style in STYLES:
            for bars in range(8, 33):
                for seed in range(6):
                    cells = choose_template(style, key, bars, random.Random(seed))
                    assert len(cells) == bars
                    bare = [re.sub(r"(maj7|7|6)$", "", cell) for cell in cells]  # I and I7 sound alike
                    blocks = [tuple(bare[i:i + 4]) for i in range(0, bars - 3, 4)]
                    if len(set(blocks)) < len(blocks):
                        repeats.append(f"{mode} {style} {bars} bars seed {seed}: {cells}")
    assert repeats == []


@pytest.mark.parametrize("symbol", ["A#m9/B", "A#m(maj9)/B", "Bb7#9/C", "Db7#5#9/Eb", "G5/C#"])
def test_a_tension_a_half_step_above_the_slash_bass_is_voiced(symbol: str) -> None:
    """Every shape of the chord passes the auditor's voicing checks in every style: the slash bass lowest,
    the defining tones, the named tension (the minor 9th from the bass to it is the name's sound)."""
    chord = read_chord(symbol)
    assert chord is not None
    shapes = voicings_for(symbol)
    assert shapes
    for style in STYLES:
        for shape in shapes:
            assert voicing_problems(chord, shape.to_json(), style, False) == [], (style, shape.tab)


@pytest.mark.parametrize("request_body", [
    {"type": "reharmonize", "progression": ["Ab", "Adim7", "A#7alt", "G7b9b13/C", "F#add9", "A#m(maj9)/B",
                                            "Bb7alt"], "style": "bossa-nova", "seed": 7922},
    {"type": "spice-up", "progression": ["G#m", "F#7b9b13", "C#m7", "D#sus4", "Fm7", "D7#5", "Bb7#9/C",
                                         "F#sus4"], "style": "bossa-nova", "seed": 7913, "key": "Bb major"},
    {"type": "spice-up", "progression": ["Cmaj7#11", "Dbm(maj7)", "Db7#5#9/Eb", "Cm7"], "style": "bossa-nova",
     "seed": 6409, "key": "C locrian"},
], ids=lambda body: f"{body['type']}-{body['seed']}")
def test_bossa_slash_chords_keep_their_tension_over_the_thumb(request_body: dict[str, Any]) -> None:
    assert _audited(dict(request_body, budgetMs=300)) == []


@pytest.mark.parametrize("request_body", [
    # a tritone substitute coloured as a sus chord lost the guide tones its explanation promised
    {"type": "reharmonize", "progression": ["D#aug", "C#7#11", "F#7", "Eb9#11", "Ebm", "B", "F7b9#11", "D#9#11",
                                            "D#sus2", "Em6/Bb"], "style": "neo-soul", "seed": 8902},
    # a dominant pedal put Bbm7 over Eb in Bb lydian: the mode's tonic with a Db
    {"type": "reharmonize", "progression": ["B7b5", "Fdim7", "Dm6/9", "Amaj13", "Gbdim7", "C9/G", "Bb9sus4",
                                            "Eb9b5", "G#9"], "style": "jazz", "seed": 8388, "key": "Bb lydian"},
    # a VI13/5 (a bass figure) was read as a secondary dominant V/5, so A#madd9 was called ii7/5
    {"type": "reharmonize", "progression": ["G#m7", "A#m6/9", "A#madd9", "Eb13b9/C#", "F#7#9", "Abm", "Bbm",
                                            "D#m9", "Abmaj13/G#"], "style": "bossa-nova", "seed": 237,
     "key": "Gb mixolydian"},
], ids=lambda body: f"{body['type']}-{body['seed']}")
def test_changes_and_analysis_the_scan_caught(request_body: dict[str, Any]) -> None:
    assert _audited(dict(request_body, budgetMs=300)) == []
