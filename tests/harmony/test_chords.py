"""Chord symbols as guitarists write them: root, bass and pitch classes, canonical spelling, errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmony.chords import (
    AUGMENTED,
    DIMINISHED,
    DOMINANT,
    HALF_DIMINISHED,
    MAJOR,
    MINOR,
    POWER,
    SUSPENDED,
    interval_above,
    parse_chord,
    split_progression,
    try_parse_chord,
)
from harmony.errors import ChordParseError

# Pitch classes written as note names, so the expectations do not reuse the engine's arithmetic.
_PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5, "F": 5, "F#": 6,
       "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11, "B#": 0}


def pcs(notes: str) -> frozenset[int]:
    return frozenset(_PC[n] for n in notes.split())


# symbol, root, bass, the chord's notes (bass excluded), canonical spelling
TABLE = [
    ("Cmaj7", "C", None, "C E G B", "Cmaj7"),
    ("Dm7", "D", None, "D F A C", "Dm7"),
    ("G7", "G", None, "G B D F", "G7"),
    ("F#m7b5", "F#", None, "F# A C E", "F#m7b5"),
    ("Bbmaj9#11", "Bb", None, "Bb D F A C E", "Bbmaj9#11"),
    ("Ebdim7", "Eb", None, "Eb Gb A C", "Ebdim7"),
    ("A7alt", "A", None, "A C# G Bb C D# F", "A7alt"),
    ("C/E", "C", "E", "C E G", "C/E"),
    ("G13sus4", "G", None, "G C D F A E", "G13sus4"),
    ("D7(b9)", "D", None, "D F# A C Eb", "D7b9"),
    ("C6/9", "C", None, "C E G A D", "C6/9"),
    ("Cm(maj7)", "C", None, "C Eb G B", "Cm(maj7)"),
    ("C7#9", "C", None, "C E G Bb D#", "C7#9"),
    ("Bø7", "B", None, "B D F A", "Bm7b5"),
    ("Bø", "B", None, "B D F A", "Bm7b5"),
    ("C°7", "C", None, "C Eb Gb A", "Cdim7"),
    ("C°", "C", None, "C Eb Gb", "Cdim"),
    ("Co7", "C", None, "C Eb Gb A", "Cdim7"),
    ("C-7", "C", None, "C Eb G Bb", "Cm7"),
    ("C-", "C", None, "C Eb G", "Cm"),
    ("CΔ7", "C", None, "C E G B", "Cmaj7"),
    ("CΔ", "C", None, "C E G B", "Cmaj7"),
    ("Gsus", "G", None, "G C D", "Gsus4"),
    ("E5", "E", None, "E B", "E5"),
    ("Aadd9", "A", None, "A C# E B", "Aadd9"),
    ("C", "C", None, "C E G", "C"),
    ("Am", "A", None, "A C E", "Am"),
    ("F#", "F#", None, "F# A# C#", "F#"),
    ("Bb", "Bb", None, "Bb D F", "Bb"),
    ("Ebm", "Eb", None, "Eb Gb Bb", "Ebm"),
    ("Cmin7", "C", None, "C Eb G Bb", "Cm7"),
    ("Cmi7", "C", None, "C Eb G Bb", "Cm7"),
    ("CM7", "C", None, "C E G B", "Cmaj7"),
    ("Cma7", "C", None, "C E G B", "Cmaj7"),
    ("Cj7", "C", None, "C E G B", "Cmaj7"),
    ("CMaj9", "C", None, "C E G B D", "Cmaj9"),
    ("Cmaj", "C", None, "C E G", "C"),
    ("Caug", "C", None, "C E G#", "Caug"),
    ("C+", "C", None, "C E G#", "Caug"),
    ("C+7", "C", None, "C E G# Bb", "C7#5"),
    ("C7#5", "C", None, "C E G# Bb", "C7#5"),
    ("C7b5", "C", None, "C E Gb Bb", "C7b5"),
    ("Cm7-5", "C", None, "C Eb Gb Bb", "Cm7b5"),
    ("C7-9", "C", None, "C E G Bb Db", "C7b9"),
    ("C7+9", "C", None, "C E G Bb D#", "C7#9"),
    ("C9", "C", None, "C E G Bb D", "C9"),
    ("Cm9", "C", None, "C Eb G Bb D", "Cm9"),
    ("Cmaj9", "C", None, "C E G B D", "Cmaj9"),
    ("C11", "C", None, "C E G Bb D F", "C11"),
    ("Cm11", "C", None, "C Eb G Bb D F", "Cm11"),
    ("C13", "C", None, "C E G Bb D A", "C13"),
    ("Cm13", "C", None, "C Eb G Bb D F A", "Cm13"),
    ("Cmaj13", "C", None, "C E G B D A", "Cmaj13"),
    ("C13b9", "C", None, "C E G Bb Db A", "C13b9"),
    ("C13#11", "C", None, "C E G Bb D F# A", "C13#11"),
    ("C7#11", "C", None, "C E G Bb F#", "C7#11"),
    ("C9#11", "C", None, "C E G Bb D F#", "C9#11"),
    ("C7b13", "C", None, "C E G Bb Ab", "C7b13"),
    ("C7b9b13", "C", None, "C E G Bb Db Ab", "C7b9b13"),
    ("C7(#9,b13)", "C", None, "C E G Bb D# Ab", "C7#9b13"),
    ("C7(13)", "C", None, "C E G Bb A", "C7add13"),
    ("C7sus4", "C", None, "C F G Bb", "C7sus4"),
    ("C7sus", "C", None, "C F G Bb", "C7sus4"),
    ("C9sus4", "C", None, "C F G Bb D", "C9sus4"),
    ("Csus2", "C", None, "C D G", "Csus2"),
    ("Csus4", "C", None, "C F G", "Csus4"),
    ("C6", "C", None, "C E G A", "C6"),
    ("Cm6", "C", None, "C Eb G A", "Cm6"),
    ("Cm6/9", "C", None, "C Eb G A D", "Cm6/9"),
    ("Cadd9", "C", None, "C E G D", "Cadd9"),
    ("C(add9)", "C", None, "C E G D", "Cadd9"),
    ("C2", "C", None, "C E G D", "Cadd9"),
    ("Cmadd9", "C", None, "C Eb G D", "Cmadd9"),
    ("Cm(add9)", "C", None, "C Eb G D", "Cmadd9"),
    ("CmM7", "C", None, "C Eb G B", "Cm(maj7)"),
    ("C-Δ7", "C", None, "C Eb G B", "Cm(maj7)"),
    ("Cm(maj9)", "C", None, "C Eb G B D", "Cm(maj9)"),
    ("Cmaj7#5", "C", None, "C E G# B", "Cmaj7#5"),
    ("Cmaj7#11", "C", None, "C E G B F#", "Cmaj7#11"),
    ("Calt", "C", None, "C E Bb Db D# F# Ab", "C7alt"),
    ("Cdim", "C", None, "C Eb Gb", "Cdim"),
    ("D/F#", "D", "F#", "D F# A", "D/F#"),
    ("G/B", "G", "B", "G B D", "G/B"),
    ("Am/G", "A", "G", "A C E", "Am/G"),
    ("Dm7/G", "D", "G", "D F A C", "Dm7/G"),
    ("F/G", "F", "G", "F A C", "F/G"),
    ("C/Bb", "C", "Bb", "C E G", "C/Bb"),
    ("Fmaj7/A", "F", "A", "F A C E", "Fmaj7/A"),
    ("Db7#11", "Db", None, "Db F Ab Cb G", "Db7#11"),
    ("Gb7", "Gb", None, "Gb Bb Db Fb", "Gb7"),
    ("C#m7", "C#", None, "C# E G# B", "C#m7"),
    ("Abmaj7", "Ab", None, "Ab C Eb G", "Abmaj7"),
    ("E7#9", "E", None, "E G# B D G", "E7#9"),
    ("B7b9", "B", None, "B D# F# A C", "B7b9"),
    ("F#7alt", "F#", None, "F# A# E G A B# D", "F#7alt"),
    ("E♭maj7", "Eb", None, "Eb G Bb D", "Ebmaj7"),
    ("B♭7", "Bb", None, "Bb D F Ab", "Bb7"),
    ("F♯m7", "F#", None, "F# A C# E", "F#m7"),
    (" G7 ", "G", None, "G B D F", "G7"),
]


def test_table_covers_every_family_root_and_spelling_path() -> None:
    """The parse table exercises what the parser distinguishes, not merely many rows: every chord
    family, all twelve roots, slash basses, and symbols that are respelled canonically."""
    parsed = [parse_chord(row[0]) for row in TABLE]
    assert {chord.family for chord in parsed} == {MAJOR, MINOR, DOMINANT, HALF_DIMINISHED, DIMINISHED, AUGMENTED,
                                                  SUSPENDED, POWER}
    assert {chord.root_pc for chord in parsed} == set(range(12))
    assert any(chord.bass for chord in parsed)
    assert any(row[0] != row[4] for row in TABLE)  # some inputs are respelled


@pytest.mark.parametrize(("symbol", "root", "bass", "notes", "canonical"), TABLE, ids=[row[0] for row in TABLE])
def test_parse(symbol: str, root: str, bass: str | None, notes: str, canonical: str) -> None:
    chord = parse_chord(symbol)
    assert chord.root == root
    assert chord.bass == bass
    assert frozenset(chord.pitch_classes) == pcs(notes)
    assert chord.symbol == canonical
    expected_bass = _PC[bass] if bass else _PC[root]
    assert chord.bass_pc == expected_bass


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_canonical_spelling_reparses_to_the_same_chord(row: tuple[str, str, str | None, str, str]) -> None:
    chord = parse_chord(row[0])
    again = parse_chord(chord.symbol)
    assert again == chord
    assert again.symbol == chord.symbol


@pytest.mark.parametrize(("symbol", "family"), [
    ("Cmaj7", "major"), ("C6/9", "major"), ("Dm7", "minor"), ("Cm(maj7)", "minor"), ("G7", "dominant"),
    ("G13sus4", "dominant"), ("A7alt", "dominant"), ("Bm7b5", "half-diminished"), ("Ebdim7", "diminished"),
    ("Caug", "augmented"), ("Gsus4", "suspended"), ("E5", "power"), ("C7#5", "dominant"),
])
def test_family(symbol: str, family: str) -> None:
    assert parse_chord(symbol).family == family


def test_spelled_notes_follow_the_letters() -> None:
    assert parse_chord("Bbmaj9#11").notes == ("Bb", "D", "F", "A", "C", "E")
    assert parse_chord("F#m7b5").notes == ("F#", "A", "C", "E")
    assert parse_chord("Ebdim7").notes == ("Eb", "Gb", "Bbb", "Dbb")


@pytest.mark.parametrize("symbol", ["H7", "Cmaj77", "C7/9", "Xm", "", "   ", "C(b9", "Cb9)", "C5add9", "Cdim9",
                                    "C7sus4sus2", "Cmsus4", "c7", "C#m7b5b5x", "G/H", "Cq"])
def test_unparseable_symbol_raises_naming_it(symbol: str) -> None:
    with pytest.raises(ChordParseError) as caught:
        parse_chord(symbol)
    assert caught.value.symbol == symbol
    assert repr(symbol) in str(caught.value)


def test_try_parse_returns_none_for_junk() -> None:
    assert try_parse_chord("Cmaj7") is not None
    assert try_parse_chord("not a chord") is None
    assert try_parse_chord(42) is None


def test_interval_above_spells_by_letter() -> None:
    assert interval_above("D", "5") == "A"
    assert interval_above("G", "b5") == "Db"
    assert interval_above("C", "#1") == "C#"
    assert interval_above("Bb", "5") == "F"
    assert interval_above("Db", "b5", prefer_flats=True) == "G"  # Abb respelled


def test_split_progression_accepts_bars_and_spaces() -> None:
    assert split_progression("Dm7 G7 | Cmaj7  |A7") == ["Dm7", "G7", "Cmaj7", "A7"]


_ROOTS = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]
_QUALITIES = ["", "m", "7", "maj7", "m7", "m7b5", "dim7", "9", "m9", "maj9", "13", "7b9", "7#9", "7alt", "6/9",
              "m6", "sus4", "7sus4", "add9", "m(maj7)", "7#11", "maj7#11", "13b9", "aug", "5", "m11", "9sus4"]


@given(st.sampled_from(_ROOTS), st.sampled_from(_QUALITIES), st.one_of(st.none(), st.sampled_from(_ROOTS)))
def test_any_generated_symbol_round_trips(root: str, quality: str, bass: str | None) -> None:
    symbol = root + quality + (f"/{bass}" if bass else "")
    chord = parse_chord(symbol)
    assert parse_chord(chord.symbol) == chord
    assert chord.root_pc == _PC[root]
    assert chord.pitch_classes[0] == _PC[root]
    assert chord.bass_pc == (_PC[bass] if bass else _PC[root])
