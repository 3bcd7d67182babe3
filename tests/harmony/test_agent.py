"""The whole engine pipeline (prepare -> steps -> voicings -> result) as the orchestration runs it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.agent import finish, prepare, progress, run_local, search_step, voice
from harmony.chords import parse_chord
from harmony.voicings import MAX_SPAN

RESULT_KEYS = {"title", "summary", "progression", "sections", "changes", "voicings", "practiceIdeas",
               "warnings", "metadata"}
CREATED = "2026-01-01T00:00:00+00:00"


def test_result_document_shape() -> None:
    result = run_local("spice-up", {"progression": "Dm7 G7 | Cmaj7 | A7 | Dm7 G7 | Cmaj7", "style": "jazz"},
                       CREATED)
    assert set(result) >= RESULT_KEYS
    assert result["metadata"]["createdAt"] == CREATED
    assert result["metadata"]["engine"].startswith("harmony/")
    assert isinstance(result["metadata"]["seed"], int)
    assert len(result["voicings"]) == len(result["progression"])
    for section in result["sections"]:
        assert set(section) == {"focus", "chords", "description", "voicingTips", "techniqueTips"}
        assert section["chords"] and section["voicingTips"] and section["techniqueTips"]
    for change in result["changes"]:
        assert set(change) == {"index", "bar", "beat", "from", "to", "rule", "explanation"}
        place = result["timeline"][change["index"]]
        assert (place["bar"], place["beat"], place["chord"]) == (change["bar"], change["beat"], change["to"])
        assert result["progression"][change["index"]] == change["to"]
        assert change["to"] in change["explanation"]
    assert [a["chord"] for a in result["analysis"]] == result["progression"]
    assert result["practiceIdeas"] and result["title"] and result["summary"]


def test_same_input_and_seed_give_the_same_result_json() -> None:
    body = {"progression": ["Cm7", "F7", "Bbmaj7", "Ebmaj7", "Am7b5", "D7", "Gm7", "Gm6"], "style": "bossa nova",
            "targetFeel": "dark and lush", "seed": 1234}
    first = json.dumps(run_local("reharmonize", body, CREATED), sort_keys=True)
    second = json.dumps(run_local("reharmonize", body, CREATED), sort_keys=True)
    assert first == second


def test_locked_chords_stay_in_a_reharmonisation() -> None:
    body = {"progression": "Dm7 G7 Cmaj7 A7 Dm7 G7 Cmaj7", "style": "jazz"}
    result = run_local("reharmonize", body, CREATED)
    assert result["progression"][0] == "Dm7" and result["progression"][-1] == "Cmaj7"


def test_preserved_cadence_keeps_the_final_v_i() -> None:
    result = run_local("spice-up", {"progression": "Cmaj7 Am7 Dm7 G7 Cmaj7", "style": "gospel"}, CREATED)
    last, before = parse_chord(result["progression"][-1]), parse_chord(result["progression"][-2])
    assert last.root == "C"
    assert before.bass_pc == 7  # G (or a pedal chord over G) still leads home


def test_changes_report_from_and_to() -> None:
    result = run_local("spice-up", {"progression": "C Am F G", "style": "pop", "seed": 3}, CREATED)
    original = ["C", "Am", "F", "G"]
    for change in result["changes"]:
        assert change["from"] in original or change["from"] is None


@pytest.mark.parametrize("style", ["jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop"])
def test_create_in_every_style(style: str) -> None:
    result = run_local("create", {"key": "Eb", "style": style, "bars": 8, "mood": "warm"}, CREATED)
    assert result["progression"] and result["title"].endswith("Eb major")
    # Blues forms end on the V7 turnaround (the form repeats); the others end on the tonic.
    assert parse_chord(result["progression"][-1]).root == ("Bb" if style == "blues" else "Eb")
    for voicing in result["voicings"]:
        fretted = [f for f in voicing["frets"] if f]
        slash = parse_chord(voicing["chord"]).bass is not None  # a rooted slash chord may take one more fret
        assert not fretted or max(fretted) - min(fretted) <= MAX_SPAN + slash


def test_beginner_create_stays_simple() -> None:
    result = run_local("create", {"key": "G", "genre": "pop", "bars": 8, "skillLevel": "beginner",
                                  "referenceArtists": ["Ed Sheeran"]}, CREATED)
    assert all(parse_chord(s).complexity <= 1 for s in result["progression"])
    assert {v["type"] for v in result["voicings"]} <= {"open", "barre", "triad", "shell", "power"}
    assert any("Ed Sheeran" in idea for idea in result["practiceIdeas"])


def test_warnings_report_ignored_fields() -> None:
    result = run_local("spice-up", {"progression": "C G", "colour": "blue"}, CREATED)
    assert result["warnings"] == ["ignored unknown field 'colour'"]


def test_default_spice_up_of_eight_chords_is_cheap() -> None:
    body = {"progression": "Cmaj7 Am7 Dm7 G7 Em7 A7 Dm7 G7"}
    started = time.process_time()
    prepared = prepare("spice-up", body, CREATED)
    state = prepared["state"]
    steps = 0
    while not state["done"]:
        state = search_step(state)
        steps += 1
    voicings = voice(prepared["request"], state)
    finish(prepared, state, voicings)
    cpu = time.process_time() - started
    assert steps <= 10
    assert cpu < 1.5, f"engine work took {cpu:.2f} s of CPU"


def test_progress_reads_the_state() -> None:
    prepared = prepare("spice-up", {"progression": "Dm7 G7 Cmaj7"}, CREATED)
    state = prepared["state"]
    seen = [progress(state)]
    while not state["done"]:
        state = search_step(state)
        seen.append(progress(state))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


_ROOTS = ["C", "D", "Eb", "E", "F", "G", "Ab", "A", "Bb", "B"]
_QUALITIES = ["", "m", "7", "maj7", "m7", "m7b5", "9", "6", "sus4", "dim7"]
_chord = st.builds(lambda r, q: r + q, st.sampled_from(_ROOTS), st.sampled_from(_QUALITIES))


@settings(max_examples=15, deadline=None)
@given(st.lists(_chord, min_size=2, max_size=16), st.sampled_from(["spice-up", "reharmonize"]),
       st.sampled_from(["jazz", "pop", "blues", "gospel", "neo-soul", "bossa-nova"]), st.integers(0, 10**6))
def test_any_request_gives_parseable_sane_output(symbols: list[str], task: str, style: str, seed: int) -> None:
    body: dict[str, Any] = {"progression": symbols, "style": style, "seed": seed, "budgetMs": 300}
    result = run_local(task, body, CREATED)
    progression = result["progression"]
    for symbol in progression:
        assert parse_chord(symbol).symbol == symbol
    assert len(symbols) <= len(progression) <= 2 * len(symbols)
    if task == "reharmonize":
        assert progression[0] == parse_chord(symbols[0]).symbol
        assert progression[-1] == parse_chord(symbols[-1]).symbol
    assert len(result["voicings"]) == len(progression)
    json.dumps(result)
