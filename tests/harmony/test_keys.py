"""Keys and Roman numerals: parsing keys, inferring them, and the functional analysis a jazz player writes."""

from __future__ import annotations

import pytest

from harmony.chords import parse_chord
from harmony.errors import KeyParseError
from harmony.keys import Key, analyse, has_explicit_mode, infer_key, parse_key

AUTUMN_LEAVES = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
BLUES_IN_F = "F7 Bb7 F7 F7 Bb7 Bb7 F7 F7 C7 Bb7 F7 C7"


def chords(text: str) -> list:
    return [parse_chord(symbol) for symbol in text.split()]


def numerals(text: str, key: Key) -> list[str]:
    return [item.roman for item in analyse(chords(text), key)]


@pytest.mark.parametrize(("text", "tonic", "mode"), [
    ("C", "C", "major"), ("C major", "C", "major"), ("F# minor", "F#", "minor"), ("Bbm", "Bb", "minor"),
    ("A min", "A", "minor"), ("D dorian", "D", "dorian"), ("Ebmaj", "Eb", "major"), ("am", "A", "minor"),
    ("G Mixolydian", "G", "mixolydian"), ("E♭ major", "Eb", "major"), ("c#", "C#", "minor"),
    ("B aeolian", "B", "minor"), ("F ionian", "F", "major"),
])
def test_parse_key(text: str, tonic: str, mode: str) -> None:
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("text", ["H", "C flat-ish", "Cx minor", "", "C majestic", "12"])
def test_bad_key_raises_naming_it(text: str) -> None:
    with pytest.raises(KeyParseError) as caught:
        parse_key(text)
    assert caught.value.text == text


def test_explicit_mode_detection() -> None:
    assert has_explicit_mode("C minor") and has_explicit_mode("Bbm") and has_explicit_mode("a")
    assert not has_explicit_mode("C") and not has_explicit_mode("F#")


def test_spelled_scale_and_signature() -> None:
    assert parse_key("F# minor").spelled_scale() == ("F#", "G#", "A", "B", "C#", "D", "E")
    assert parse_key("Bbm").prefer_flats and parse_key("F").prefer_flats and parse_key("D minor").prefer_flats
    assert not parse_key("E").prefer_flats and not parse_key("C").prefer_flats


@pytest.mark.parametrize(("text", "expected"), [
    ("Dm7 G7 Cmaj7", Key("C", "major")),
    (AUTUMN_LEAVES, Key("G", "minor")),
    (BLUES_IN_F, Key("F", "major")),
    ("Am7 D7 Gmaj7 Gmaj7", Key("G", "major")),
    ("Bbmaj7 Gm7 Cm7 F7 Bbmaj7", Key("Bb", "major")),
    ("Em7b5 A7 Dm7 Dm7", Key("D", "minor")),
    ("E A B7 E", Key("E", "major")),
    ("C#m F#m G#7 C#m", Key("C#", "minor")),
])
def test_infer_key(text: str, expected: Key) -> None:
    assert infer_key(chords(text)) == expected


def test_two_five_one_in_c() -> None:
    assert numerals("Dm7 G7 Cmaj7", Key("C")) == ["ii7", "V7", "Imaj7"]


def test_autumn_leaves_in_g_minor() -> None:
    assert numerals(AUTUMN_LEAVES, Key("G", "minor")) == [
        "iv7", "bVII7", "bIIImaj7", "bVImaj7", "iiø7", "V7", "i7", "i6"]


def test_blues_in_f() -> None:
    assert numerals(BLUES_IN_F, Key("F")) == [
        "I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"]


def test_secondary_dominants_are_labelled_by_their_target() -> None:
    key = Key("C")
    assert numerals("C A7 Dm7 G7 C", key) == ["I", "V7/ii", "ii7", "V7", "I"]
    assert numerals("C E7 Am D7 G7 C", key) == ["I", "V7/vi", "vi", "V7/V", "V7", "I"]
    assert numerals("Bbmaj7 D7 Gm7", Key("Bb")) == ["Imaj7", "V7/vi", "vi7"]


def test_tritone_substitute_backdoor_and_borrowed_chords() -> None:
    key = Key("C")
    analysis = analyse(chords("Dm7 Db7 Cmaj7 Fm6 Bb7 Cmaj7 Abmaj7"), key)
    assert [a.roman for a in analysis] == ["ii7", "bII7", "Imaj7", "iv6", "bVII7", "Imaj7", "bVImaj7"]
    assert analysis[1].function == "tritone substitute for V7"
    assert analysis[3].function.startswith("borrowed from C minor")
    assert analysis[4].function == "backdoor dominant"
    assert analysis[6].function.startswith("borrowed from C minor")


def test_tritone_substitute_into_another_chord_reads_subV() -> None:
    assert numerals("Cmaj7 Eb7 Dm7", Key("C")) == ["Imaj7", "subV7/ii", "ii7"]


def test_passing_diminished_chords() -> None:
    key = Key("C")
    up = analyse(chords("C C#dim7 Dm7"), key)
    assert up[1].roman == "#i°7" and up[1].function.startswith("passing diminished")
    down = analyse(chords("Em7 Ebdim7 Dm7"), key)
    assert down[1].roman == "biii°7" and down[1].function.startswith("passing diminished")


def test_related_ii_of_a_secondary_dominant() -> None:
    assert numerals("Cmaj7 Em7b5 A7 Dm7", Key("C")) == ["Imaj7", "iiø7/ii", "V7/ii", "ii7"]


def test_slash_chords_show_the_bass_degree() -> None:
    assert numerals("C F/C G7/F C/E", Key("C")) == ["I", "IV/1", "V7/4", "I/3"]


def test_diatonic_flags() -> None:
    analysis = analyse(chords("Dm7 G7 Cmaj7 A7"), Key("C"))
    assert [a.diatonic for a in analysis] == [True, True, True, False]


@pytest.mark.parametrize(("key", "pc", "expected"), [
    ("Eb minor", 11, "Cb"), ("Eb phrygian", 4, "Fb"), ("Gb major", 11, "Cb"), ("Bb locrian", 11, "Cb"),
    ("F# major", 5, "E#"), ("A# minor", 0, "B#"), ("C# major", 0, "B#"), ("D# phrygian", 4, "E"),
])
def test_scale_notes_keep_the_keys_letter_in_every_mode(key: str, pc: int, expected: str) -> None:
    # Found by the generated scan: Cb/Fb/E#/B# were respelled B/E/F/C, so the bVI of Eb minor read B13.
    assert parse_key(key).spell(pc) == expected


def test_a_chromatic_note_is_named_by_the_key_signature() -> None:
    assert parse_key("F major").spell(11) == "B"  # not a scale note of F: no Cb
    assert parse_key("G major").spell(5) == "F"  # not a scale note of G: no E#


@pytest.mark.parametrize(("text", "expected"), [
    ("Gbmaj7 Cbmaj7 Abm7 Db7 Gbmaj7", Key("Gb", "major")), ("F#maj7 Bmaj7 C#7 F#maj7", Key("F#", "major")),
    ("D#m G#m A#7 D#m", Key("D#", "minor")), ("Ebm Abm Bb7 Ebm", Key("Eb", "minor")),
])
def test_an_inferred_tonic_is_spelled_as_the_chords_spell_it(text: str, expected: Key) -> None:
    assert infer_key(chords(text)) == expected


def test_an_opening_diminished_chord_on_the_next_chords_root_is_common_tone() -> None:
    # Found by the scan: the common-tone reading skipped the first chord (G#dim7 G#6/9 was "chromatic").
    result = analyse(chords("G#dim7 G#6/9 Cm7 F7"), Key("Bb", "major"))
    assert result[0].function == "common-tone diminished"


@pytest.mark.parametrize("text", ["Bb9b5/G# Eb13", "Bb7#5 Ebmaj7", "Bb7b5"])
def test_a_five_altered_in_its_fifth_is_still_the_dominant(text: str) -> None:
    # Found by the scan: Bb9b5 into Eb read "chromatic" (its b5 is outside the key, and no rule named V).
    result = analyse(chords(text), Key("Eb", "major"))
    assert result[0].function == "dominant" and result[0].roman.startswith("V")


def test_the_altered_five_of_a_mode_is_its_dominant() -> None:
    # The example: D7b5 into G in G mixolydian was analysed as chromatic.
    result = analyse(chords("C D7b5 G"), Key("G", "mixolydian"))
    assert (result[1].roman, result[1].function) == ("V7b5", "dominant")
