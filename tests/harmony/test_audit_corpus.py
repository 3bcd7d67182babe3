"""The theory auditor over a corpus of standards, all three tasks, every style and several seeds.

The corpus (tests/harmony/data/standards.json) holds the usual changes of real standards and common
progressions in many keys: major, minor, modal, blues forms, altered and slash chords, given with and
without their key. Styles and seeds rotate over the tunes so every style and task meets every kind of
tune while the whole run stays small; a seeded generator adds requests nobody wrote down.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import music21
import pytest

from harmony.agent import run_local
from harmony.tasks import voicing_bass, voicing_costs
from harmony.voicings import choose_voicings
from tests.harmony import scan_generated as scan
from tests.harmony.auditor import (
    _OPEN_CHORDS,
    OPEN_STRINGS,
    _same_chord,
    audit,
    music21_disagrees,
    read_chord,
    voicing_problems,
)

CORPUS = json.loads((Path(__file__).parent / "data" / "standards.json").read_text())["tunes"]
STYLES = ["jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop"]
SKILLS = ["beginner", "intermediate", "advanced"]
BUDGET_MS = 450
GENERATED_EXAMPLES = 150
GENERATED_SEED = 2026


def _inputs(progression: str) -> list[str]:
    return [token for token in progression.replace("|", " ").split() if token]


def corpus_runs() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """(label, request, input chords) for every corpus run: two tasks per tune, creates in its key."""
    for number, tune in enumerate(CORPUS):
        for offset, task in enumerate(("spice-up", "reharmonize")):
            style = STYLES[(number + 3 * offset) % len(STYLES)]
            body: dict[str, Any] = {"progression": tune["progression"], "style": style,
                                    "seed": 11 * number + offset, "budgetMs": BUDGET_MS}
            if tune["given"]:
                body["key"] = tune["key"]
            yield f"{tune['name']} {task} {style}", {"type": task, **body}, _inputs(tune["progression"])
        if number % 2 == 0:
            style = STYLES[(number // 2) % len(STYLES)]
            skill = SKILLS[(number // 2) % len(SKILLS)]
            bars = (8, 12, 16)[number % 3]
            body = {"key": tune["key"], "style": style, "skillLevel": skill, "bars": bars, "seed": number,
                    "budgetMs": BUDGET_MS}
            yield f"create {tune['key']} {style} {skill} {bars}", {"type": "create", **body}, []


def run_and_audit(request: dict[str, Any], inputs: list[str]) -> list[str]:
    body = {k: v for k, v in request.items() if k != "type"}
    result = run_local(request["type"], body)
    return audit(request, result, inputs)


def all_findings() -> list[str]:
    findings: list[str] = []
    for label, request, inputs in corpus_runs():
        findings.extend(f"{label}: {finding}" for finding in run_and_audit(request, inputs))
    return findings


def test_the_corpus_is_large_and_varied() -> None:
    tags = {tag for tune in CORPUS for tag in tune["tags"]}
    assert len(CORPUS) >= 40
    assert {"major", "minor", "modal", "blues", "altered", "slash", "sharp-key"} <= tags
    assert {True, False} <= {tune["given"] for tune in CORPUS}
    for tune in CORPUS:
        for symbol in _inputs(tune["progression"]):
            assert read_chord(symbol) is not None, (tune["name"], symbol)


def test_every_claim_of_every_corpus_result_is_true() -> None:
    findings = all_findings()
    assert findings == [], f"{len(findings)} findings:\n" + "\n".join(findings[:60])


def generated_findings(request: dict[str, Any]) -> list[str]:
    """The auditor's findings (every class) for a generated request."""
    return run_and_audit(request, list(request.get("progression", [])))


def generated_requests(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` requests drawn by the scan's generator from `random.Random(seed)`: the same on every machine."""
    rng = random.Random(seed)
    return [scan.random_request(rng)[0] for _ in range(count)]


# Progressions nobody wrote down, in every key and mode, all three tasks, drawn by the scan's generator
# from a fixed seed. Not Hypothesis: even derandomized (`derandomize=True, database=None`) its examples
# were not the same from one session to the next (16 of 150 differed between a run of this file and a
# run of tests/harmony). The engine is deterministic for a request (test_search.py: starved steps and
# other hash seeds end on the same result), so neither the machine's speed nor its load changes a run.
# Fresh examples: `.venv/bin/python -m tests.harmony.scan_generated --runs 1000 --seed N`.
@pytest.mark.parametrize("request_body", generated_requests(GENERATED_EXAMPLES, GENERATED_SEED),
                         ids=lambda body: f"{body['type']}-{body.get('key', 'inferred')}-{body['seed']}")
def test_generated_progressions_pass_the_audit(request_body: dict[str, Any]) -> None:
    findings = generated_findings(request_body)
    assert findings == [], f"{json.dumps(request_body)}: {findings}"


def test_the_auditor_catches_false_claims() -> None:
    result = run_local("spice-up", {"progression": ["Dm7", "G7", "Cmaj7"], "style": "jazz", "seed": 1,
                                    "budgetMs": 300})
    request = {"type": "spice-up", "progression": ["Dm7", "G7", "Cmaj7"], "style": "jazz"}
    bad = json.loads(json.dumps(result))
    bad["changes"] = [{"index": 1, "from": "G7", "to": bad["progression"][1], "rule": "tritone-substitution",
                       "explanation": f"{bad['progression'][1]} slides down a half step into Am7."}]
    bad["voicings"][0]["frets"] = [None, None, 0, 0, 0, 0]
    bad["analysis"][0]["roman"] = "IV7"
    findings = audit(request, bad, ["Dm7", "G7", "Cmaj7"])
    assert any("names Am7 as the next chord" in f for f in findings)
    assert any("voicing 1" in f for f in findings)
    assert any("degree IV7" in f for f in findings)


def test_the_auditor_reads_a_dominant_11_with_its_3rd_as_music21_does() -> None:
    # The scan found the auditor reading D11 without F#, against music21's dominant-11th (and the
    # engine's): its own cross-check then reported every 11th chord. A voicing may still leave the 3rd out.
    eleven = read_chord("D11")
    assert eleven is not None and eleven.family == "dominant"
    assert {p.pitchClass for p in music21.harmony.ChordSymbol("D11").pitches} == eleven.pcs
    assert music21_disagrees(eleven) is None
    assert voicing_problems(eleven, _voicing("x-5-5-5-5-x", "D11"), "jazz", False) == []  # D G C E, no F#


def test_the_auditor_does_not_take_music21s_reading_of_an_altered_13th() -> None:
    # music21 drops the alteration of a 13th chord (F13#11 and F13b9 both read as F13), so it cannot
    # referee those: the cross-check must not report them.
    assert {p.name for p in music21.harmony.ChordSymbol("F13#11").pitches} == \
        {p.name for p in music21.harmony.ChordSymbol("F13").pitches}
    for symbol in ("F13#11", "Bb13b9", "E13#9"):
        chord = read_chord(symbol)
        assert chord is not None and music21_disagrees(chord) is None


def test_a_change_may_name_the_users_chord_in_canonical_notation() -> None:
    # `F#add9/Gb` puts the root in the bass: the engine writes it `F#add9`, which is the same chord.
    result = run_local("reharmonize", {"progression": ["G#7", "F9sus4", "Ab7#5#9", "Dbm7", "F#add9/Gb", "F#m7",
                                                       "F#m(maj9)"], "style": "pop", "seed": 5898,
                                       "budgetMs": 300, "key": "D# phrygian"})
    inputs = ["G#7", "F9sus4", "Ab7#5#9", "Dbm7", "F#add9/Gb", "F#m7", "F#m(maj9)"]
    assert any(change["from"] == "F#add9" for change in result["changes"])
    assert _same_chord("Dbm69/C", "Dbm6/9/C") and not _same_chord("Dbm69/C", "Dbm6/9")
    assert audit({"type": "reharmonize", "style": "pop", "key": "D# phrygian"}, result, inputs) == []
    bad = json.loads(json.dumps(result))
    bad["changes"][0]["from"] = "F#add9/C"
    assert any("is not an input chord" in f for f in audit({"type": "reharmonize", "style": "pop"}, bad, inputs))


# The open shape of every chord a beginner learns, written here from a chord book (not from harmony/).
_BOOK_OPEN_SHAPES = {
    "C": "x-3-2-0-1-0", "Cmaj7": "x-3-2-0-0-0", "C7": "x-3-2-3-1-0", "Cadd9": "x-3-2-0-3-0", "D": "x-x-0-2-3-2",
    "Dm": "x-x-0-2-3-1", "D7": "x-x-0-2-1-2", "Dmaj7": "x-x-0-2-2-2", "Dm7": "x-x-0-2-1-1", "Dsus2": "x-x-0-2-3-0",
    "Dsus4": "x-x-0-2-3-3", "E": "0-2-2-1-0-0", "Em": "0-2-2-0-0-0", "E7": "0-2-0-1-0-0", "Em7": "0-2-2-0-3-0",
    "Esus4": "0-2-2-2-0-0", "E7sus4": "0-2-0-2-0-0", "G": "3-2-0-0-0-3", "G7": "3-2-0-0-0-1",
    "Gmaj7": "3-2-0-0-0-2", "G6": "3-2-0-0-0-0", "A": "x-0-2-2-2-0", "Am": "x-0-2-2-1-0", "A7": "x-0-2-0-2-0",
    "Am7": "x-0-2-0-1-0", "Amaj7": "x-0-2-1-2-0", "Asus2": "x-0-2-2-0-0", "Asus4": "x-0-2-2-3-0",
    "A7sus4": "x-0-2-0-3-0", "Fmaj7": "x-x-3-2-1-0", "B7": "x-2-1-2-0-2", "E5": "0-2-2-x-x-x", "A5": "x-0-2-2-x-x",
    "D5": "x-x-0-2-3-x",
}


def test_every_open_chord_the_auditor_asks_of_a_beginner_has_an_open_shape_it_accepts() -> None:
    # The scan found the auditor asking beginners for an open Emaj7, whose only open shape 0-2-1-1-0-0 its
    # own clash rule rejects (D# a minor 9th under the top E): a demand no voicing could meet.
    assert set(_BOOK_OPEN_SHAPES) >= _OPEN_CHORDS
    for symbol in _OPEN_CHORDS:
        chord = read_chord(symbol)
        assert chord is not None
        assert voicing_problems(chord, _voicing(_BOOK_OPEN_SHAPES[symbol], symbol), "pop", True) == [], symbol
    emaj7 = read_chord("Emaj7")
    assert emaj7 is not None and "Emaj7" not in _OPEN_CHORDS
    assert "minor-9th clash Eb under E" in voicing_problems(emaj7, _voicing("0-2-1-1-0-0", "Emaj7"), "pop", True)


def test_a_beginner_gets_the_open_shape_of_every_open_chord() -> None:
    # Found by the scan: open shapes cost no less than a barre next to it, so moves between chords
    # talked beginners into closed Gmaj7 and Dm7 shapes; E7sus4 and A7sus4 had no open shape at all.
    request = {"skillLevel": "beginner", "style": "jazz"}
    symbols = sorted(s for s in _OPEN_CHORDS if not s.endswith("5"))  # a power chord is no harmony to learn
    rng = random.Random(3)
    for _ in range(6):
        rng.shuffle(symbols)
        chosen = choose_voicings(symbols, type_costs=voicing_costs(request), bass=voicing_bass(request))
        tabs = {v.chord: "-".join("x" if f is None else str(f) for f in v.frets) for v in chosen}
        assert tabs == {s: _BOOK_OPEN_SHAPES[s] for s in symbols}


def _voicing(tab: str, chord: str) -> dict[str, Any]:
    """A voicing document as the engine writes one, for a tab in standard tuning (low E first)."""
    frets = [None if f == "x" else int(f) for f in tab.split("-")]
    strings = []
    for number, fret in zip(range(6, 0, -1), frets, strict=True):
        if fret is None:
            continue
        pitch = music21.pitch.Pitch(OPEN_STRINGS[number]).transpose(fret)
        tones = {p.pitchClass: p.name for p in read_chord(chord).tones.values()}  # type: ignore[union-attr]
        name = tones.get(pitch.pitchClass, pitch.name)
        strings.append({"string": number, "fret": fret, "midi": pitch.midi, "note": name.replace("-", "b")})
    return {"chord": chord, "tab": tab, "frets": frets, "strings": strings}


@pytest.mark.parametrize("symbol", ["Bb6/9/F", "H7", "Cmaj7//E"])
def test_ambiguous_or_unreadable_symbols_are_findings(symbol: str) -> None:
    assert read_chord(symbol) is None


@pytest.mark.parametrize(("task", "body"), [
    ("spice-up", {"progression": "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7", "style": "jazz"}),
    ("reharmonize", {"progression": "Cm7 | F7 | Bbmaj7 | Ebmaj7 | Am7b5 | D7 | Gm6 | Gm6", "style": "bossa-nova"}),
    ("create", {"key": "Eb", "style": "jazz", "bars": 8}),
])
def test_seeds_give_different_results_where_the_space_allows(task: str, body: dict[str, Any]) -> None:
    results = [run_local(task, {**body, "seed": seed, "budgetMs": 300})["progression"] for seed in (1, 2, 3, 4)]
    assert len({tuple(result) for result in results}) >= 2, results
    assert run_local(task, {**body, "seed": 1, "budgetMs": 300})["progression"] == results[0]  # same seed, same answer


def test_the_dominant_of_a_minor_key_takes_no_natural_9th_or_13th() -> None:
    checked = 0
    for style in STYLES:
        for seed in (3, 4):
            result = run_local("create", {"key": "A minor", "style": style, "bars": 8, "seed": seed, "budgetMs": 300})
            dominants = [c for c in map(read_chord, result["progression"])
                         if c is not None and c.is_dominant and c.root.name == "E"]
            checked += len(dominants)
            assert not any(c.has("M9", "M13") for c in dominants), (style, result["progression"])
    assert checked >= len(STYLES)


def test_a_power_chord_over_a_bass_keeps_its_root() -> None:
    # Found by the scan: F#5/C had no voicing but the last-resort guide tones over the bass, C# alone.
    progression = ["F#5/C", "B5/D", "G5/E", "E5"]
    for style in ("jazz", "pop"):
        result = run_local("reharmonize", {"progression": progression, "style": style, "seed": 2, "budgetMs": 150})
        findings = audit({"type": "reharmonize", "style": style}, result, progression)
        assert [f for f in findings if f.startswith("voicing")] == [], findings


@pytest.mark.parametrize("style", ["pop", "bossa-nova"])
def test_root_bass_styles_get_the_root_lowest_for_rare_chords(style: str) -> None:
    # Found by the scan: no drop or shell template of Bb9b5 or G#7#5#9 has the root lowest, and pop and
    # bossa nova then took any voicing (the 3rd or 7th in the bass) instead of spreading it over the root.
    progression = ["Bb9b5", "G#7#5#9", "C9b5", "Db9b5"]
    result = run_local("reharmonize", {"progression": progression, "style": style, "seed": 1, "budgetMs": 150,
                                       "lockFirstChord": True})
    findings = audit({"type": "reharmonize", "style": style}, result, progression)
    assert [f for f in findings if "in the bass where the style wants the root" in f] == [], findings
