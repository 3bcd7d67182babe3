"""What a jazz guitar teacher checks in every voicing of every result, stated as rules over the frets.

The results come from the three agent tasks over real standards (tests/harmony/data/standards.json) in
their keys, every style and skill level and several seeds. Every rule is computed here from the frets in
standard tuning (E2 A2 D3 G3 B3 E4, via music21) and from the chord symbol as the auditor reads it
(music21 intervals), never from what harmony/ says about its own voicings (type labels, degrees).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import music21
import pytest

from harmony.agent import run_local
from harmony.voicings import voicings_for
from tests.harmony.auditor import Tones, read_chord, semitones_up

CORPUS = json.loads((Path(__file__).parent / "data" / "standards.json").read_text())["tunes"]
STYLES = ["jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop"]
SKILLS = ["beginner", "intermediate", "advanced"]
OPEN_STRINGS = {6: "E2", 5: "A2", 4: "D3", 3: "G3", 2: "B3", 1: "E4"}
STRING_ORDER = (6, 5, 4, 3, 2, 1)
# Open-position chords a beginner learns first (standard tuning), written from the usual chord charts.
OPEN_SHAPES = {
    "C": "x32010", "Cmaj7": "x32000", "C7": "x32310", "D": "xx0232", "Dm": "xx0231", "D7": "xx0212",
    "Dmaj7": "xx0222", "Dm7": "xx0211", "E": "022100", "Em": "022000", "E7": "020100", "Em7": "022030",
    "G": "320003", "G7": "320001", "A": "x02220", "Am": "x02210", "A7": "x02020", "Am7": "x02010",
    "Amaj7": "x02120", "Fmaj7": "xx3210", "B7": "x21202", "D7sus4": "xx0213", "A7sus4": "x02030",
    "E7sus4": "020200", "Bm7": "x20202", "Dm6": "xx0201", "Am6": "x02212",
}
# The lowest pitch (MIDI) at which each small interval between adjacent voices still sounds clear.
LOW_INTERVAL_LIMITS = {1: "E3", 2: "Eb3", 3: "C3", 4: "Bb2", 5: "A2", 6: "B2"}
ONE_FINGER_PER_FRET = 3  # frets between the lowest and the highest fretted note


def _corpus_requests() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, task, body): two progression tasks on every third tune, a create for every style and level."""
    for number, tune in enumerate(CORPUS[::3]):
        for offset, task in enumerate(("spice-up", "reharmonize")):
            style = STYLES[(number + 2 * offset) % len(STYLES)]
            body: dict[str, Any] = {"progression": tune["progression"], "style": style,
                                    "seed": 7 * number + offset + 500, "budgetMs": 300}
            if tune["given"]:
                body["key"] = tune["key"]
            yield f"{tune['name']} {task} {style}", task, body
    for number, (style, skill) in enumerate(itertools.product(STYLES, SKILLS)):
        tune = CORPUS[(5 * number) % len(CORPUS)]
        body = {"key": tune["key"], "style": style, "skillLevel": skill, "bars": (8, 12, 16)[number % 3],
                "seed": 900 + number, "budgetMs": 300}
        yield f"create {tune['key']} {style} {skill}", "create", body


@lru_cache(maxsize=1)
def corpus_results() -> tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...]:
    return tuple((label, task, body, run_local(task, body)) for label, task, body in _corpus_requests())


def _voiced() -> Iterator[tuple[str, dict[str, Any], Tones, list[tuple[int, int, music21.pitch.Pitch]]]]:
    """(where, request body, chord as read by the auditor, [(string, fret, pitch)] low to high)."""
    for label, _, body, result in corpus_results():
        for index, voicing in enumerate(result["voicings"]):
            chord = read_chord(voicing["chord"])
            assert chord is not None, (label, voicing["chord"])
            yield f"{label}: voicing {index + 1} {voicing['chord']} {voicing['tab']}", body, chord, sounding(voicing)


def sounding(voicing: dict[str, Any]) -> list[tuple[int, int, music21.pitch.Pitch]]:
    """The notes of a voicing from its frets in standard tuning, lowest first."""
    notes = []
    for string, fret in zip(STRING_ORDER, voicing["frets"], strict=True):
        if fret is not None:
            pitch = music21.pitch.Pitch(OPEN_STRINGS[string])
            notes.append((string, fret, pitch.transpose(fret)))
    return sorted(notes, key=lambda note: note[2].midi)


def _interval_of(chord: Tones, pitch: music21.pitch.Pitch) -> str | None:
    """The chord member (music21 interval name above the root) this pitch class is, None for the slash bass."""
    for name, member in chord.tones.items():
        if member.pitchClass == pitch.pitchClass:
            return name
    return None


def test_the_corpus_covers_every_style_skill_and_task() -> None:
    results = corpus_results()
    assert len(results) >= 50
    assert {body["style"] for _, _, body, _ in results} == set(STYLES)
    assert {body.get("skillLevel") for _, task, body, _ in results if task == "create"} == set(SKILLS)
    assert {task for _, task, _, _ in results} == {"spice-up", "reharmonize", "create"}


def test_every_voicing_fits_one_finger_per_fret() -> None:
    """At most four frets under the hand, slash chords included (Fmaj9/C as x-3-3-2-5-3)."""
    too_wide = []
    for where, _, _, notes in _voiced():
        fretted = [fret for _, fret, _ in notes if fret > 0]
        if fretted and max(fretted) - min(fretted) > ONE_FINGER_PER_FRET:
            too_wide.append(where)
    assert too_wide == []


def test_every_voicing_sounds_the_tones_that_define_its_chord() -> None:
    """3rd (or the sus 4th/2nd), 7th or 6th, the b5 of every m7b5 and dim chord, the #5 of augmented ones."""
    missing = []
    for where, _, chord, notes in _voiced():
        played = {pitch.pitchClass for _, _, pitch in notes}
        thirds = ("m3", "M3", "P4", "M2")
        sevenths = ("m7", "M7", "d7")
        needed = [str(name) for name in thirds if name in chord.tones][:1]
        if chord.is_dominant and "P11" in chord.tones:
            needed = []  # a dominant 11 leaves out its 3rd
        needed += [str(name) for name in sevenths if name in chord.tones][:1] or (
            ["M6"] if "M6" in chord.tones else [])
        needed += [str(name) for name in ("d5", "A5") if name in chord.tones]
        absent = [name for name in needed if chord.tones[name].pitchClass not in played]
        if absent:
            missing.append(f"{where} lacks {absent}")
    assert missing == []


def test_every_half_diminished_voicing_has_its_flat_five() -> None:
    checked = 0
    for where, _, chord, notes in _voiced():
        if chord.family == "half-diminished":
            checked += 1
            assert chord.tones["d5"].pitchClass in {p.pitchClass for _, _, p in notes}, where
    assert checked >= 10


def test_no_minor_ninth_between_voices_except_the_b9_over_a_dominant_root() -> None:
    """Nor between any two voices, except a dominant's b9 over its root and the root over a slash bass a
    half step below it (C/B in a descending line)."""
    clashes = []
    for where, _, chord, notes in _voiced():
        for (_, _, low), (_, _, high) in itertools.combinations(notes, 2):
            span = high.midi - low.midi
            if span >= 13 and span % 12 == 1:
                b9_over_root = chord.is_dominant and low.pitchClass == chord.root.pitchClass
                passing_bass = (chord.bass is not None and low.pitchClass == chord.bass.pitchClass
                                and semitones_up(chord.bass, chord.root) == 1
                                and high.pitchClass == chord.root.pitchClass)
                if not (b9_over_root or passing_bass):
                    clashes.append(f"{where}: {low.nameWithOctave}-{high.nameWithOctave}")
    assert clashes == []


def test_no_two_voices_blur_below_the_low_interval_limit() -> None:
    """Comping voicings (no open string, four notes at most) keep small intervals out of the low register:
    no minor 3rd below C3, no major 2nd below Eb3, no tritone below B2 ..."""
    muddy = []
    limits = {size: music21.pitch.Pitch(name).midi for size, name in LOW_INTERVAL_LIMITS.items()}
    for where, _, _, notes in _voiced():
        if len(notes) > 4 or any(fret == 0 for _, fret, _ in notes):
            continue
        for (_, _, low), (_, _, high) in itertools.pairwise(notes):
            size = high.midi - low.midi
            if size in limits and low.midi < limits[size]:
                muddy.append(f"{where}: {low.nameWithOctave}-{high.nameWithOctave}")
    assert muddy == []


def test_a_root_position_chord_has_no_tension_or_sixth_in_the_bass() -> None:
    """On the 6th and 5th strings the lowest note is the root, 3rd, 5th or 7th: Dm6 over B reads Bm7b5."""
    wrong = []
    for where, _, chord, notes in _voiced():
        string, _, lowest = notes[0]
        if chord.bass is not None or string < 5:
            continue
        member = _interval_of(chord, lowest)
        if member not in ("P1", "m3", "M3", "P5", "d5", "A5", "m7", "M7", "d7"):
            wrong.append(f"{where}: {member} in the bass")
    assert wrong == []


def test_bossa_nova_thumb_plays_the_root_or_fifth_on_a_bass_string() -> None:
    """The thumb alternates root and fifth on the 6th and 5th strings; the fingers play the chord above."""
    wrong = []
    for where, body, chord, notes in _voiced():
        if body["style"] != "bossa-nova" or body.get("skillLevel") == "beginner":  # a beginner plays open D7
            continue
        string, _, lowest = notes[0]
        member = _interval_of(chord, lowest)
        on_bass = chord.bass is not None and lowest.pitchClass == chord.bass.pitchClass
        if string < 5 or not (on_bass or member in ("P1", "P5")):
            wrong.append(f"{where}: {member} on string {string}")
    assert wrong == []


def test_strummed_pop_and_beginner_chords_have_the_root_in_the_bass() -> None:
    wrong = []
    for where, body, chord, notes in _voiced():
        if body["style"] != "pop" and body.get("skillLevel") != "beginner":
            continue
        string, _, lowest = notes[0]
        if string >= 4 and lowest.pitchClass != (chord.bass or chord.root).pitchClass:
            wrong.append(where)
    assert wrong == []


def test_a_beginner_gets_the_open_chord_where_one_exists() -> None:
    """Never a barre or a closed shape for C, G7, Am7 ...: the chart's open shape (or another one in the
    first three frets with an open string)."""
    closed = []
    checked = 0
    for label, _, body, result in corpus_results():
        if body.get("skillLevel") != "beginner":
            continue
        for voicing in result["voicings"]:
            if voicing["chord"] not in OPEN_SHAPES:
                continue
            checked += 1
            frets = voicing["frets"]
            open_position = 0 in frets and all(fret is None or fret <= 3 for fret in frets)
            if not open_position:
                closed.append(f"{label}: {voicing['chord']} {voicing['tab']}")
    assert checked >= 10
    assert closed == []


def _is_shell(chord: Tones, notes: list[tuple[int, int, music21.pitch.Pitch]]) -> bool:
    """Root on the 6th or 5th string under the 3rd and 7th, three or four notes (shell, or shell + tension)."""
    string, _, lowest = notes[0]
    played = {pitch.pitchClass for _, _, pitch in notes}
    guide = {chord.tones[name].pitchClass for name in ("M3", "m7") if name in chord.tones}
    return (len(notes) <= 4 and string >= 5 and lowest.pitchClass == chord.root.pitchClass
            and len(guide) == 2 and guide <= played)


def test_blues_comps_dominants_with_shells() -> None:
    """Blues guitar: root-3-7 shells (with the 9th or 13th on top for 9th and 13th chords) for most dominants."""
    dominants = shells = 0
    for _, body, chord, notes in _voiced():
        if body["style"] != "blues" or chord.family != "dominant" or chord.bass is not None:
            continue
        dominants += 1
        shells += _is_shell(chord, notes)
    assert dominants >= 20
    assert shells >= dominants / 2, (shells, dominants)


def test_adjacent_voicings_stay_in_one_region_of_the_neck() -> None:
    """Comping moves by the nearest notes: the hand shifts at most five frets between two chords, and the
    voices above the bass move on average at most 2.5 semitones each per chord change."""
    jumps = []
    for label, _, _, result in corpus_results():
        shapes = result["voicings"]
        travelled = moves = 0
        for before, after in itertools.pairwise(shapes):
            a, b = sounding(before), sounding(after)
            low_a = min((f for _, f, _ in a if f), default=0)
            low_b = min((f for _, f, _ in b if f), default=0)
            if before["chord"] != after["chord"] and low_a and low_b and abs(low_a - low_b) > 5:
                jumps.append(f"{label}: {before['chord']} {before['tab']} -> {after['chord']} {after['tab']}")
            # The voices above the bass: a bass line follows the roots.
            pa, pb = sorted(p.midi for _, _, p in a)[1:], sorted(p.midi for _, _, p in b)[1:]
            if len(pa) == len(pb):
                travelled += sum(abs(x - y) for x, y in zip(pa, pb, strict=True)) / len(pa)
                moves += 1
        assert not moves or travelled / moves <= 2.5, (label, travelled / moves)
    assert jumps == []


@pytest.mark.parametrize(("symbol", "tab"), [
    ("C13", "x-3-x-3-5-5"),    # R-b7-3-13 on the 5th string
    ("G13", "3-x-3-4-5-x"),    # R-b7-3-13 on the 6th string
    ("Bb9", "x-1-0-1-1-x"),    # R-3-b7-9 shell with the open D
    ("F7", "1-x-1-2-x-x"),     # R-b7-3 shell
    ("Gm7b5", "3-x-3-3-2-x"),  # drop-3 with the b5 on top
])
def test_the_shapes_teachers_give_are_available(symbol: str, tab: str) -> None:
    assert tab in {shape.tab for shape in voicings_for(symbol)}


def test_a_slash_chord_keeps_the_root_of_its_upper_chord() -> None:
    """Am11/G voiced G-C-D-G is Gsus4, Cmaj9/E without C is Em: the chord over the bass keeps its root."""
    rootless = []
    checked = 0
    for where, _, chord, notes in _voiced():
        if chord.bass is None or chord.bass.pitchClass == chord.root.pitchClass:
            continue
        checked += 1
        if chord.root.pitchClass not in {pitch.pitchClass for _, _, pitch in notes}:
            rootless.append(where)
    assert checked >= 5
    assert rootless == []
