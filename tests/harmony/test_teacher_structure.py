"""What a jazz teacher checks in the harmony of a result, stated as rules over the chord symbols.

Chords are read by the auditor's own grammar (music21 intervals), not by harmony/; the results come from
the corpus of standards in tests/harmony/data/standards.json and from creates in every style and level.
"""

from __future__ import annotations

import itertools

import music21
import pytest

from harmony.agent import run_local
from tests.harmony.auditor import Tones, read_chord, semitones_up
from tests.harmony.test_teacher_voicings import CORPUS, STYLES, corpus_results


def _chords(symbols: list[str]) -> list[Tones]:
    chords = [read_chord(symbol) for symbol in symbols]
    assert all(chord is not None for chord in chords), symbols
    return [chord for chord in chords if chord is not None]


def _falls_a_fifth(first: Tones, second: Tones) -> bool:
    return semitones_up(second.root, first.root) == 7


@pytest.mark.parametrize("key", ["Eb major", "A minor"])
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("skill", ["beginner", "advanced"])
def test_seeds_give_different_creates(key: str, style: str, skill: str) -> None:
    """Four seeds of the same request: a student asking again hears something new."""
    results = {tuple(run_local("create", {"key": key, "style": style, "skillLevel": skill, "bars": 8,
                                          "seed": seed, "budgetMs": 200})["progression"])
               for seed in (11, 12, 13, 14)}
    assert len(results) >= 2, results


def test_a_ii7_is_not_cut_off_from_the_II7_on_its_root() -> None:
    """II7 -> ii7 (G7 | Gm7 C7, The Girl from Ipanema) is one gesture: no secondary dominant of the ii7
    squeezed between them (G7 D7 Gm7)."""
    cut = []
    for label, _, _, result in corpus_results():
        chords = _chords(result["progression"])
        for first, middle, last in zip(chords, chords[1:], chords[2:], strict=False):
            same_root = first.root.pitchClass == last.root.pitchClass
            if (first.is_dominant and last.family in ("minor", "half-diminished") and same_root
                    and middle.is_dominant and _falls_a_fifth(middle, last)):
                cut.append(f"{label}: {first.symbol} {middle.symbol} {last.symbol}")
    assert cut == []


def test_spice_up_keeps_the_dominant_of_every_ii_v() -> None:
    """Modal interchange or colour may change a ii-V's ii, never turn its V into a minor chord (a sus chord
    over the V's root, Cm/D for D7, is still the dominant)."""
    lost = []
    for label, task, body, result in corpus_results():
        if task != "spice-up":
            continue
        inputs = _chords(body["progression"].replace("|", " ").split())
        final = _chords(result["progression"])
        by_input = {entry["input"]: index for index, entry in enumerate(result["timeline"])
                    if entry["input"] is not None}
        for position, (ii, v) in enumerate(itertools.pairwise(inputs), start=1):
            if ii.family in ("minor", "half-diminished") and v.family == "dominant" and _falls_a_fifth(ii, v):
                now = final[by_input[position]]
                over_root = now.bass is not None and now.bass.pitchClass == v.root.pitchClass  # Cm/D: D7sus(b9)
                if not (now.is_dominant or now.family == "diminished" or over_root):
                    lost.append(f"{label}: {v.symbol} became {now.symbol}")
    assert lost == []


def test_a_blues_keeps_its_tonic_seventh_at_the_top() -> None:
    """A blues opens on I7: the style may colour it (I9, I13), never replace it by a substitute."""
    checked = 0
    for number, tune in enumerate(tune for tune in CORPUS if "blues" in tune["tags"]):
        for task, style in (("spice-up", "blues"), ("spice-up", STYLES[number % len(STYLES)])):
            first_input = _chords(tune["progression"].split()[:1])[0]
            result = run_local(task, {"progression": tune["progression"], "style": style,
                                      "seed": 300 + number, "budgetMs": 200})
            first = _chords(result["progression"][:1])[0]
            checked += 1
            assert first.root.pitchClass == first_input.root.pitchClass, (tune["name"], style, first.symbol)
    assert checked >= 6


def test_a_beginner_in_a_major_key_gets_no_borrowed_half_diminished_chords() -> None:
    for number, style in enumerate(STYLES):
        result = run_local("create", {"key": ["C", "G", "F", "D", "A", "E"][number], "style": style,
                                      "skillLevel": "beginner", "bars": 8, "seed": 40 + number, "budgetMs": 200})
        families = [chord.family for chord in _chords(result["progression"])]
        assert "half-diminished" not in families, (style, result["progression"])


def _minor_key_tones(key_name: str) -> set[int]:
    """The natural minor scale with its raised 7th (harmonic minor's leading tone), from music21."""
    tonic = key_name.split()[0].replace("b", "-")
    tones: set[int] = set()
    for scale in (music21.scale.MinorScale(tonic), music21.scale.HarmonicMinorScale(tonic)):
        tones |= {pitch.pitchClass for pitch in scale.getPitches(f"{tonic}4", f"{tonic}5")}
    return tones


def test_a_secondary_dominant_in_a_minor_key_keeps_to_the_key() -> None:
    """D13 in C minor puts E against the key's Eb: a new dominant falling a fifth takes the b9 (D7b9) or a
    9th or 13th the key has (natural minor and its leading tone), not one outside it."""
    clashes = []
    checked = 0
    for label, task, body, result in corpus_results():
        if not result["key"].endswith(" minor"):
            continue
        scale = _minor_key_tones(result["key"])
        inputs = body["progression"].replace("|", " ").split() if task != "create" else []
        chords = _chords(result["progression"])
        for index, (chord, following) in enumerate(itertools.pairwise(chords)):
            origin = result["timeline"][index]["input"]
            kept = origin is not None and origin < len(inputs) and inputs[origin] == chord.symbol
            if kept or not chord.is_dominant or not _falls_a_fifth(chord, following):
                continue
            checked += 1
            outside = [name for name in ("M9", "M13") if name in chord.tones
                       and chord.tones[name].pitchClass not in scale]
            if outside:
                clashes.append(f"{label}: {chord.symbol} {outside}")
    assert checked >= 10
    assert clashes == []


def test_spice_up_turns_a_minor_chord_into_a_dominant_only_where_it_resolves() -> None:
    """Fm7 -> F13 in Blue Bossa loses the tune's minor iv unless F13 goes somewhere (down a fifth or a half step)."""
    lost = []
    for label, task, body, result in corpus_results():
        if task != "spice-up":
            continue
        inputs = _chords(body["progression"].replace("|", " ").split())
        final = _chords(result["progression"])
        for index, entry in enumerate(result["timeline"]):
            origin = entry["input"]
            if origin is None:
                continue
            was, now = inputs[origin], final[index]
            same_root = now.root.pitchClass == was.root.pitchClass
            if was.family in ("minor", "half-diminished") and now.is_dominant and same_root:
                following = final[index + 1] if index + 1 < len(final) else None
                step = semitones_up(following.root, now.root) if following is not None else None
                if step not in (7, 1):
                    lost.append(f"{label}: {was.symbol} became {now.symbol}")
    assert lost == []


def test_modal_interchange_keeps_the_ii_of_a_ii_v_on_its_root() -> None:
    """Borrowing may turn the ii of a ii-V into iiø7 (Dm7b5 G7); moving it to another root (Abmaj7 D7 for
    Am7 D7) leaves a dominant a tritone from what precedes it."""
    moved = []
    for label, task, body, result in corpus_results():
        if task == "create":
            continue
        inputs = _chords(body["progression"].replace("|", " ").split())
        for change in result["changes"]:
            origin = result["timeline"][change["index"]]["input"]
            if change["rule"] != "modal-interchange" or origin is None or origin + 1 >= len(inputs):
                continue
            ii, v = inputs[origin], inputs[origin + 1]
            now = _chords([change["to"]])[0]
            is_ii_v = ii.family in ("minor", "half-diminished") and v.is_dominant and _falls_a_fifth(ii, v)
            if is_ii_v and now.root.pitchClass != ii.root.pitchClass:
                moved.append(f"{label}: {ii.symbol} became {now.symbol} before {v.symbol}")
    assert moved == []
