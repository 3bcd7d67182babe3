"""Request validation for the three tasks: every field checked, errors naming the field, defaults filled in."""

from __future__ import annotations

from typing import Any

import pytest

from harmony.errors import RequestValidationError
from harmony.tasks import derive_seed, plan_search, validate_request


def errors_of(task: str, body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RequestValidationError) as caught:
        validate_request(task, body)
    return {error.field: error.message for error in caught.value.errors}


def test_spice_up_defaults() -> None:
    request = validate_request("spice-up", {"progression": ["Dm7", "G7", "Cmaj7"]})
    assert request["type"] == "spice-up"
    assert request["progression"] == ["Dm7", "G7", "Cmaj7"]
    assert request["style"] == "jazz"
    assert request["preserveCadence"] is True and request["favorCloseVoicings"] is True
    assert request["budgetMs"] == 1500
    assert request["key"] is None
    assert isinstance(request["seed"], int)
    assert request["ignoredFields"] == []


def test_progression_as_text_with_bars() -> None:
    request = validate_request("spice-up", {"progression": "| Dm7 G7 | Cmaj7 | D7(b9) |"})
    assert request["progression"] == ["Dm7", "G7", "Cmaj7", "D7b9"]
    assert request["bars"] == [0, 0, 1, 2]
    spaced = validate_request("spice-up", {"progression": "Dm7 G7 Cmaj7"})
    assert spaced["bars"] == [0, 1, 2]


def test_four_chords_in_a_bar_become_two_bars_of_two() -> None:
    request = validate_request("spice-up", {"progression": "C Am F G | C"})
    assert request["bars"] == [0, 0, 1, 1, 2]


def test_reharmonize_defaults_and_create_defaults() -> None:
    reharm = validate_request("reharmonize", {"progression": "C Am F G"})
    assert reharm["lockFirstChord"] and reharm["lockLastChord"] and reharm["allowModalInterchange"]
    create = validate_request("create", {"key": "F# minor"})
    assert create["key"] == "F# minor" and create["mode"] == "minor"
    assert create["bars"] == 8 and create["skillLevel"] == "intermediate" and create["style"] == "pop"
    assert create["referenceArtists"] == []


def test_unparseable_chord_is_named_with_its_position() -> None:
    errors = errors_of("spice-up", {"progression": ["Dm7", "H7", "Cmaj7"]})
    assert "progression[1]" in errors and "'H7'" in errors["progression[1]"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "progression"),
    ({"progression": ["C"]}, "progression"),
    ({"progression": ["C"] * 65}, "progression"),
    ({"progression": 42}, "progression"),
    ({"progression": ["C", 7]}, "progression[1]"),
    ({"progression": "C G", "key": "H major"}, "key"),
    ({"progression": "C G", "key": 5}, "key"),
    ({"progression": "C G", "style": "polka"}, "style"),
    ({"progression": "C G", "mood": "x" * 201}, "mood"),
    ({"progression": "C G", "preserveCadence": "yes"}, "preserveCadence"),
    ({"progression": "C G", "favorCloseVoicings": 1}, "favorCloseVoicings"),
    ({"progression": "C G", "notes": "n" * 2001}, "notes"),
    ({"progression": "C G", "budgetMs": 49}, "budgetMs"),
    ({"progression": "C G", "budgetMs": 60001}, "budgetMs"),
    ({"progression": "C G", "budgetMs": "1500"}, "budgetMs"),
    ({"progression": "C G", "budgetMs": True}, "budgetMs"),
    ({"progression": "C G", "seed": -1}, "seed"),
    ({"progression": "C G", "seed": 1.5}, "seed"),
])
def test_spice_up_field_errors(body: dict[str, Any], field: str) -> None:
    assert field in errors_of("spice-up", body)


@pytest.mark.parametrize(("body", "field"), [
    ({"progression": "C G", "lockFirstChord": "true"}, "lockFirstChord"),
    ({"progression": "C G", "lockLastChord": None, "allowModalInterchange": 0}, "allowModalInterchange"),
    ({"progression": "C G", "targetFeel": ["dark"]}, "targetFeel"),
])
def test_reharmonize_field_errors(body: dict[str, Any], field: str) -> None:
    assert field in errors_of("reharmonize", body)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "key"),
    ({"key": ""}, "key"),
    ({"key": "C", "bars": 3}, "bars"),
    ({"key": "C", "bars": 33}, "bars"),
    ({"key": "C", "skillLevel": "guru"}, "skillLevel"),
    ({"key": "C", "mode": "hypophrygian"}, "mode"),
    ({"key": "C minor", "mode": "major"}, "mode"),
    ({"key": "C", "genre": "polka"}, "genre"),
    ({"key": "C", "style": "jazz", "genre": "blues"}, "genre"),
    ({"key": "C", "referenceArtists": "Joe Pass"}, "referenceArtists"),
    ({"key": "C", "referenceArtists": ["a"] * 9}, "referenceArtists"),
    ({"key": "C", "referenceArtists": ["Joe Pass", ""]}, "referenceArtists[1]"),
    ({"key": "C", "referenceArtists": ["x" * 101]}, "referenceArtists[0]"),
])
def test_create_field_errors(body: dict[str, Any], field: str) -> None:
    assert field in errors_of("create", body)


def test_unknown_style_lists_the_allowed_styles() -> None:
    with pytest.raises(RequestValidationError) as caught:
        validate_request("spice-up", {"progression": "C G", "style": "polka"})
    [error] = caught.value.errors
    assert error.allowed == ["blues", "bossa-nova", "gospel", "jazz", "neo-soul", "pop"]
    assert error.to_json()["allowed"] == error.allowed
    assert "style" in caught.value.summary and "polka" in caught.value.summary


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of("spice-up", {"progression": ["C", "Q"], "style": "polka", "budgetMs": 1})
    assert set(errors) == {"progression[1]", "style", "budgetMs"}


def test_genre_is_an_alias_of_style_and_mode_applies_to_key() -> None:
    create = validate_request("create", {"key": "D", "mode": "dorian", "genre": "Neo Soul"})
    assert create["style"] == "neo-soul" and create["key"] == "D dorian"


def test_unknown_fields_are_ignored_and_reported() -> None:
    request = validate_request("spice-up", {"progression": "C G", "prserveCadence": False})
    assert request["ignoredFields"] == ["prserveCadence"]
    assert request["preserveCadence"] is True


def test_seed_is_derived_from_the_content() -> None:
    a = validate_request("spice-up", {"progression": "Dm7 G7 Cmaj7", "style": "jazz"})
    b = validate_request("spice-up", {"style": "jazz", "progression": ["Dm7", "G7", "Cmaj7"], "extra": 1})
    c = validate_request("spice-up", {"progression": "Dm7 G7 C6"})
    assert a["seed"] == b["seed"] != c["seed"]
    assert derive_seed(a) == a["seed"]
    assert validate_request("spice-up", {"progression": "C G", "seed": 42})["seed"] == 42


def test_unknown_task_type() -> None:
    with pytest.raises(RequestValidationError):
        validate_request("compose", {})


def test_plan_locks_and_key() -> None:
    reharm = plan_search(validate_request("reharmonize", {"progression": "Cm7 F7 Bbmaj7 Gm7", "key": "Bb"}))
    assert reharm.config.locked == (0, 3) and reharm.config.key.name == "Bb major" and not reharm.key_inferred
    free = plan_search(validate_request("reharmonize", {"progression": "Cm7 F7 Bbmaj7 Gm7",
                                                        "lockFirstChord": False, "lockLastChord": False}))
    assert free.config.locked == () and free.key_inferred
    spice = plan_search(validate_request("spice-up", {"progression": "Dm7 G7 Cmaj7"}))
    assert spice.config.preserve_cadence and spice.config.locked == ()


def test_create_plans_a_template_of_the_right_length() -> None:
    plan = plan_search(validate_request("create", {"key": "Bb", "style": "blues", "bars": 12}))
    blues = [slot.symbol for slot in plan.config.original]  # one of the 12-bar forms (slow, quick change, jazz)
    assert len(blues) == 12 and blues[0] == "Bb7" and blues[4] == "Eb7" and blues[-2:] == ["Bb7", "F7"]
    minor = plan_search(validate_request("create", {"key": "A minor", "style": "jazz", "bars": 16}))
    symbols = [slot.symbol for slot in minor.config.original]
    assert len(symbols) == 16 and symbols[-1].startswith("Am") and symbols[-2] == "E7"
    beginner = plan_search(validate_request("create", {"key": "G", "skillLevel": "beginner"}))
    assert beginner.config.max_complexity == 1 and "tritone-substitution" not in beginner.config.rules
    modal = plan_search(validate_request("create", {"key": "D dorian", "style": "jazz"}))
    assert "secondary-dominant" not in modal.config.rules
