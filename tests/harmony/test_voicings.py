"""Guitar voicings: playable on a standard-tuned guitar, the right pitches, and smooth voice leading."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chords import parse_chord
from harmony.voicings import (
    MAX_SPAN,
    OPEN_MIDI,
    STRINGS,
    Voicing,
    choose_voicings,
    covers,
    movement,
    pc_distance,
    voicings_for,
)

CHORDS = ["Cmaj7", "Dm7", "G7", "F#m7b5", "Bbmaj9#11", "Ebdim7", "A7alt", "C/E", "G13sus4", "D7b9", "C6/9",
          "Cm(maj7)", "C7#9", "Bm7b5", "E5", "Aadd9", "C", "Am", "F", "Bb", "G13", "Dm9", "Dm11", "Cmaj9",
          "Db7#11", "E7#9", "Fm6", "Abmaj7", "F/G", "Dm7/G", "Gsus4", "C7sus4", "Cm6/9", "C11", "Caug", "Cdim"]
STANDARD_TUNING = {6: "E2", 5: "A2", 4: "D3", 3: "G3", 2: "B3", 1: "E4"}


def test_standard_tuning() -> None:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    for string, midi in OPEN_MIDI.items():
        assert f"{names[midi % 12]}{midi // 12 - 1}" == STANDARD_TUNING[string]


@pytest.mark.parametrize("symbol", CHORDS)
def test_every_voicing_is_playable_and_correct(symbol: str) -> None:
    chord = parse_chord(symbol)
    shapes = voicings_for(symbol)
    assert shapes, f"no voicing for {symbol}"
    for shape in shapes:
        assert len(shape.frets) == 6
        fretted = [f for f in shape.frets if f]
        assert all(f is None or 0 <= f <= 15 for f in shape.frets)
        assert not fretted or max(fretted) - min(fretted) <= MAX_SPAN, shape.tab
        notes = shape.notes
        assert len({string for string, _, _ in notes}) == len(notes)  # one note per string
        played = {pitch % 12 for _, _, pitch in notes}
        assert played <= set(chord.all_pitch_classes), (symbol, shape.tab)
        for member in (chord.third, chord.seventh):
            if member and not (chord.family == "dominant" and "11" in chord.intervals and member == "3"):
                assert chord.pc_of(member) in played, (symbol, shape.tab, member)
        if chord.bass:
            assert min(pitch for _, _, pitch in notes) % 12 == chord.bass_pc
        assert covers(chord, shape)


def test_tab_and_json_name_every_string() -> None:
    shape = Voicing("C", "open", (None, 3, 2, 0, 1, 0))
    assert shape.tab == "x-3-2-0-1-0"
    strings: list[dict[str, object]] = shape.to_json()["strings"]  # type: ignore[assignment]
    assert [s["string"] for s in strings] == [5, 4, 3, 2, 1]
    assert [s["note"] for s in strings] == ["C", "E", "G", "C", "E"]
    assert [s["degree"] for s in strings] == ["1", "3", "5", "1", "3"]


@pytest.mark.parametrize(("symbol", "tab"), [
    ("Cmaj7", "x-3-5-4-5-x"),   # drop-2, root on the 5th string
    ("G7", "3-x-3-4-x-x"),      # shell R-7-3
    ("C7", "x-3-2-3-x-x"),      # shell R-3-7
    ("C", "x-3-2-0-1-0"),       # open C
    ("Am", "x-0-2-2-1-0"),      # open Am
    ("F", "1-3-3-2-1-1"),       # E-shape barre
    ("Bm", "x-2-4-4-3-2"),      # A-shape barre
    ("Dm7", "x-x-0-2-1-1"),     # open Dm7
    ("E7#9", "x-7-6-7-8-x"),    # the "Hendrix chord"
])
def test_textbook_shapes_are_found(symbol: str, tab: str) -> None:
    assert tab in {shape.tab for shape in voicings_for(symbol)}


def test_drop_voicings_have_drop_structure() -> None:
    for symbol in ("Cmaj7", "Dm7", "G7", "F#m7b5"):
        for shape in voicings_for(symbol):
            if shape.kind not in ("drop2", "drop3"):
                continue
            pitches = [pitch for _, _, pitch in shape.notes]
            assert pitches == sorted(pitches) and len(pitches) == 4
            assert all(b - a < 12 for a, b in itertools.pairwise(pitches))
            strings = [string for string, _, _ in shape.notes]
            if shape.kind == "drop2":
                assert strings == list(range(strings[0], strings[0] - 4, -1))  # four adjacent strings
            # The dropped voice is the lowest: raising it an octave restores a close position.
            close = sorted([*pitches[1:], pitches[0] + 12])
            assert close[-1] - close[0] < 12


def test_movement_is_zero_for_identical_voicings_and_small_for_close_ones() -> None:
    dm7 = Voicing("Dm7", "drop2", (None, 5, 7, 5, 6, None))  # D A C F
    assert movement(dm7, dm7) == 0
    g7_close = Voicing("G7", "drop2", (None, 5, 5, 4, 6, None))
    g7_far = Voicing("G7", "drop2", (None, None, 9, 10, 8, 10))
    assert covers(parse_chord("Dm7"), dm7) and covers(parse_chord("G7"), g7_close)
    assert covers(parse_chord("G7"), g7_far)
    assert movement(dm7, g7_close) < movement(dm7, g7_far)


def test_pitch_class_distance() -> None:
    assert pc_distance("Dm7", "Dm7") == 0
    assert pc_distance("Dm7", "G7") < pc_distance("Dm7", "F#7")
    assert pc_distance("G7", "Db7") <= 4  # the tritone sub keeps the guide tones


def test_close_voicings_move_less() -> None:
    progression = ["Dm7", "G7", "Cmaj7", "A7", "Dm7", "G7", "Cmaj7", "Cmaj7"]
    close = choose_voicings(progression, favor_close=True)
    loose = choose_voicings(progression, favor_close=False)

    def travel(shapes: list[Voicing]) -> float:
        return sum(movement(a, b) for a, b in itertools.pairwise(shapes))

    assert travel(close) <= travel(loose)
    assert [s.chord for s in close] == progression
    assert travel(close) / (len(progression) - 1) <= 8


def test_beginner_costs_choose_open_chords() -> None:
    costs = {"open": 0.0, "barre": 0.3, "triad": 0.5, "shell": 0.4, "drop2": 1.2, "drop3": 1.4}
    shapes = choose_voicings(["C", "Am", "F", "G7"], type_costs=costs, move_weight=0.1)
    assert [s.tab for s in shapes] == ["x-3-2-0-1-0", "x-0-2-2-1-0", "1-3-3-2-1-1", "3-2-0-0-0-1"]


def test_choice_is_deterministic() -> None:
    progression = ["Cm7", "F7", "Bbmaj7", "Ebmaj7", "Am7b5", "D7", "Gm7", "Gm6"]
    first = [s.tab for s in choose_voicings(progression)]
    voicings_for.cache_clear()
    assert [s.tab for s in choose_voicings(progression)] == first


_ROOTS = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_QUALITIES = ["", "m", "7", "maj7", "m7", "m7b5", "dim7", "9", "13", "7b9", "7alt", "6/9", "sus4", "m9", "7#11"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_ROOTS), st.sampled_from(_QUALITIES), st.one_of(st.none(), st.sampled_from(_ROOTS)))
def test_any_chord_gets_a_correct_voicing(root: str, quality: str, bass: str | None) -> None:
    symbol = root + quality + (f"/{bass}" if bass else "")
    chord = parse_chord(symbol)
    [shape] = choose_voicings([chord.symbol])
    notes = shape.notes
    assert {p % 12 for _, _, p in notes} <= set(chord.all_pitch_classes)
    assert len({s for s, _, _ in notes}) == len(notes)
    fretted = [f for f in shape.frets if f]
    # One finger per fret; only a slash chord over a tension (C13/A, Cm9/D) may need one fret more.
    assert not fretted or max(fretted) - min(fretted) <= MAX_SPAN + (1 if chord.bass else 0)
    assert all(string in STRINGS for string, _, _ in notes)
    if chord.bass:
        assert min(p for _, _, p in notes) % 12 == chord.bass_pc
