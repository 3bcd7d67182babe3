"""Each named rule on known progressions: where it applies, what it writes, and that the theory is right."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harmony.chords import parse_chord
from harmony.keys import Key, is_diatonic, parse_key
from harmony.rules import RULES, Progression, RuleContext, explain, violations
from harmony.search import parse_slots
from harmony.styles import RULE_NAMES, STYLES, get_style, with_mood

TWO_FIVE_ONE = "Dm7 G7 Cmaj7 Cmaj7"
AUTUMN_LEAVES = "Cm7 F7 Bbmaj7 Ebmaj7 Am7b5 D7 Gm7 Gm6"
BLUES_IN_F = "F7 Bb7 F7 F7 Bb7 Bb7 F7 F7 C7 Bb7 F7 C7"


def context(text: str, key: str, style: str = "jazz", **options: object) -> tuple[RuleContext, Progression]:
    slots = parse_slots(text.split())
    ctx = RuleContext(key=parse_key(key), style=STYLES[style], original=slots,
                      enabled_rules=frozenset(RULE_NAMES), blue_sevenths=style == "blues",
                      **options)  # type: ignore[arg-type]
    return ctx, slots


def outcomes(rule: str, ctx: RuleContext, prog: Progression, site: int, tries: int = 40,
             require: bool = True) -> list[Progression]:
    """Every distinct result of applying `rule` at `site` with different seeds."""
    found: dict[tuple[str, ...], Progression] = {}
    for seed in range(tries):
        result = RULES[rule].apply(ctx, prog, site, random.Random(seed))
        if result is not None:
            found[tuple(s.symbol for s in result)] = result
    assert found or not require, f"{rule} did not apply at {site}"
    return list(found.values())


def symbols(prog: Progression) -> list[str]:
    return [slot.symbol for slot in prog]


def test_every_rule_is_named_and_documented() -> None:
    assert set(RULES) == set(RULE_NAMES)
    for rule in RULES.values():
        assert rule.label and rule.description


def test_style_extension_keeps_root_and_function() -> None:
    ctx, prog = context(TWO_FIVE_ONE, "C")
    sites = RULES["style-extension"].sites(ctx, prog)
    assert sites == [0, 1, 2, 3]
    for result in outcomes("style-extension", ctx, prog, 0):
        chord = result[0].chord
        assert chord.root == "D" and chord.family == "minor" and chord.symbol in ("Dm9", "Dm11")
    for result in outcomes("style-extension", ctx, prog, 1):
        chord = result[1].chord
        assert chord.root == "G" and chord.is_dominant and chord.symbol != "G7"


@pytest.mark.parametrize("style", sorted(STYLES))
def test_no_colour_turns_a_resolving_dominant_back_into_a_triad(style: str) -> None:
    # Found by the scan (rhythm changes in Eb, pop): Bbm7 Eb7 -> Abmaj7 recoloured Eb7 as Eb, which no
    # longer resolves; a dominant may gain tensions or a sus, never lose its 7th.
    ctx, prog = context("Ebmaj7 Bbm7 Eb7 Abmaj7 Bb7 Ebmaj7", "Eb", style)
    for site in (2, 4):
        for result in outcomes("style-extension", ctx, prog, site, require=False):
            assert result[site].chord.seventh == "b7", (style, result[site].symbol)
    triad, _ = context("Ebmaj7 Bb Ebmaj7", "Eb", style)  # a dominant-role triad may still take its 7th
    assert all(r[1].chord.family != "major" or r[1].symbol != "Bb"
               for r in outcomes("style-extension", triad, _, 1, require=False))


def test_a_modal_tonic_keeps_its_altered_fifth() -> None:
    # Found by the scan: D7b5 on the D locrian tonic was recoloured D7#9, whose A is outside the mode.
    ctx, prog = context("D7b5 Ebmaj7 D7b5", "D locrian", "neo-soul")
    for site in (0, 2):
        for result in outcomes("style-extension", ctx, prog, site, require=False):
            assert set(result[site].chord.pitch_classes) <= set(ctx.key.scale) | {2, 6, 8, 0}, result[site].symbol


def test_style_extension_keeps_tensions_in_the_key() -> None:
    # Em7 is iii in C (Phrygian): its 9th, F#, is not in the key, so no Em9 or Em11.
    ctx, prog = context("Cmaj7 Em7 Am7 Dm7", "C")
    assert outcomes("style-extension", ctx, prog, 1, require=False) == []
    assert RULES["style-extension"].sites(ctx, prog) == [0, 2, 3]
    assert {r[2].symbol for r in outcomes("style-extension", ctx, prog, 2)} <= {"Am9", "Am11"}


def test_blues_extensions_are_dominant_colours() -> None:
    ctx, prog = context(BLUES_IN_F, "F", "blues")
    seen = {r[0].symbol for r in outcomes("style-extension", ctx, prog, 0)}
    assert seen <= {"F9", "F13", "F7#9", "F7"} and seen
    assert all("maj" not in s for s in seen)


def test_secondary_dominant_turns_vi_into_v_of_ii() -> None:
    ctx, prog = context("C Am Dm G", "C", "gospel")
    assert 2 in RULES["secondary-dominant"].sites(ctx, prog)
    for result in outcomes("secondary-dominant", ctx, prog, 2):
        chord = result[1].chord
        assert chord.root == "A" and chord.is_dominant
        assert chord.pc_of("3") == 1  # C#, the leading tone of D
        assert len(result) == 4 and not violations(ctx, result)


def test_secondary_dominant_is_inserted_after_the_tonic() -> None:
    ctx, prog = context("C Dm G C", "C", "gospel")
    for result in outcomes("secondary-dominant", ctx, prog, 1):
        assert result[0].symbol == "C"
        assert result[1].chord.root == "A" and result[1].chord.is_dominant
        assert result[1].bar == 0 and result[1].origin == -1
        assert symbols(result)[2:] == ["Dm", "G", "C"]


def test_tritone_substitution_of_the_five_in_a_two_five_one() -> None:
    ctx, prog = context(TWO_FIVE_ONE, "C")
    assert RULES["tritone-substitution"].sites(ctx, prog) == [1]
    results = outcomes("tritone-substitution", ctx, prog, 1)
    assert results
    for result in results:
        sub = result[1].chord
        assert sub.root == "Db" and sub.is_dominant
        # Same guide tones as G7: F (the 3rd of Db7) and B/Cb (its 7th).
        assert {sub.pc_of("3"), sub.pc_of("b7")} == {5, 11}


def test_tritone_substitution_in_autumn_leaves() -> None:
    ctx, prog = context(AUTUMN_LEAVES, "G minor")
    assert RULES["tritone-substitution"].sites(ctx, prog) == [1, 5]
    subs = {r[5].chord.root for r in outcomes("tritone-substitution", ctx, prog, 5)}
    assert subs == {"Ab"}


def test_related_ii_before_a_secondary_dominant() -> None:
    ctx, prog = context("Cmaj7 A7 Dm7 G7", "C")
    results = outcomes("related-ii", ctx, prog, 1)
    assert results
    for result in results:
        ii = result[1].chord
        # A7 resolves to the minor Dm7, so its ii is half-diminished: Em7b5, in A7's bar.
        assert ii.symbol == "Em7b5" and result[1].bar == result[2].bar == 1
        assert symbols(result)[2:] == ["A7", "Dm7", "G7"]


def test_related_ii_before_a_major_target_is_minor_seventh() -> None:
    ctx, prog = context("Cmaj7 D7 Gmaj7 Gmaj7", "G")
    for result in outcomes("related-ii", ctx, prog, 1):
        assert result[1].chord.root == "A" and result[1].chord.family == "minor"


def test_passing_diminished_ascending_and_descending() -> None:
    ctx, prog = context("C Dm7 Em7 Dm7", "C", "gospel", preserve_cadence=False)
    sites = RULES["passing-diminished"].sites(ctx, prog)
    assert sites == [0, 1, 2]
    [up] = outcomes("passing-diminished", ctx, prog, 0)
    assert symbols(up) == ["C", "C#dim7", "Dm7", "Em7", "Dm7"]
    assert up[1].bar == 0
    [down] = outcomes("passing-diminished", ctx, prog, 2)
    assert symbols(down) == ["C", "Dm7", "Em7", "Ebdim7", "Dm7"]


def test_passing_diminished_in_the_blues_walks_down() -> None:
    ctx, prog = context(BLUES_IN_F, "F", "blues")
    assert 8 in RULES["passing-diminished"].sites(ctx, prog)  # C7 -> Bb7, bars 9-10
    [result] = outcomes("passing-diminished", ctx, prog, 8)
    assert result[9].symbol == "Bdim7"


def test_modal_interchange_borrows_from_the_parallel_minor() -> None:
    ctx, prog = context("C Am F G", "C", "pop", preserve_cadence=False)
    sites = RULES["modal-interchange"].sites(ctx, prog)
    assert sites == [1, 2, 3]
    iv = {r[2].symbol for r in outcomes("modal-interchange", ctx, prog, 2)}
    assert iv <= {"Fm6", "Fm7", "Fm"} and iv
    vi = {r[1].symbol for r in outcomes("modal-interchange", ctx, prog, 1)}
    assert vi <= {"Abmaj7", "Ab"} and vi
    for symbol in iv | vi:
        assert is_diatonic(parse_chord(symbol), Key("C", "minor"))


def test_modal_interchange_can_be_disabled() -> None:
    ctx, prog = context("C Am F G", "C", "pop", allow_modal_interchange=False)
    assert RULES["modal-interchange"].sites(ctx, prog) == []


def test_backdoor_dominant_replaces_v_before_i() -> None:
    ctx, prog = context("Cmaj7 Dm7 G7 Cmaj7 Am7", "C", preserve_cadence=False)
    assert RULES["backdoor-dominant"].sites(ctx, prog) == [2]
    results = outcomes("backdoor-dominant", ctx, prog, 2)
    roots = {r[2].chord.root for r in results}
    assert roots == {"Bb"}
    assert any(r[1].symbol == "Fm7" for r in results)  # the backdoor ii-V: Fm7 Bb7
    assert all(r[2].chord.is_dominant for r in results)


def test_backdoor_never_touches_a_preserved_cadence() -> None:
    ctx, prog = context(TWO_FIVE_ONE[:-6], "C")  # Dm7 G7 Cmaj7: G7-Cmaj7 is the final cadence
    assert RULES["backdoor-dominant"].sites(ctx, prog) == []


def test_pedal_point_dominant_and_tonic() -> None:
    ctx, prog = context("C F G7 C", "C", "gospel")
    sites = RULES["pedal-point"].sites(ctx, prog)
    assert sites == [1, 2]
    [tonic] = outcomes("pedal-point", ctx, prog, 1)
    assert tonic[1].symbol == "F/C"
    dominant = {r[2].symbol for r in outcomes("pedal-point", ctx, prog, 2)}
    assert dominant <= {"F/G", "Fmaj7/G", "Dm7/G"} and dominant
    for symbol in dominant:
        assert parse_chord(symbol).bass == "G"


def test_cadence_colour_on_the_last_two_chords() -> None:
    ctx, prog = context("Dm7 G7 Cmaj7", "C")
    assert RULES["cadence-colour"].sites(ctx, prog) == [2, 1]
    finals = {r[2].symbol for r in outcomes("cadence-colour", ctx, prog, 2)}
    assert finals <= {"C6/9", "Cmaj9", "Cmaj13"} and finals
    dominants = {r[1].symbol for r in outcomes("cadence-colour", ctx, prog, 1)}
    assert dominants <= {"G7alt", "G13b9", "G13", "G7b9"} and dominants


def test_locked_chords_are_never_sites() -> None:
    ctx, prog = context("Dm7 G7 Cmaj7 A7 Dm7 G7 Cmaj7", "C", locked=frozenset({0, 6}), preserve_cadence=False)
    checked = 0
    for rule in RULES.values():
        sites = rule.sites(ctx, prog)
        assert not {0, 6} & set(sites), (rule.name, sites)
        for site in sites:
            for result in outcomes(rule.name, ctx, prog, site, tries=5, require=False):
                assert not violations(ctx, result), (rule.name, symbols(result))
                checked += 1
    assert checked, "no rule applied anywhere: the test checked nothing"


def test_violations_report_a_changed_lock_and_a_broken_cadence() -> None:
    ctx, prog = context("Dm7 G7 Cmaj7", "C", locked=frozenset({0}))
    changed = (prog[0].__class__("Dm9", 0, 0, "style-extension"), *prog[1:])
    assert "locked chord 1 changed" in violations(ctx, changed)
    moved = (*prog[:1], prog[1].__class__("Db7", 1, 1, "tritone-substitution"), prog[2])
    assert any("cadence" in problem for problem in violations(ctx, moved))


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_explanations_name_the_chord(rule: str) -> None:
    cases = {
        "style-extension": ("Dm7 G7 Cmaj7 Cmaj7", "C", "jazz", 0),
        "secondary-dominant": ("C Am Dm G", "C", "gospel", 2),
        "tritone-substitution": ("Dm7 G7 Cmaj7 Cmaj7", "C", "jazz", 1),
        "related-ii": ("Cmaj7 A7 Dm7 G7", "C", "jazz", 1),
        "passing-diminished": ("C Dm7 G7 C", "C", "gospel", 0),
        "modal-interchange": ("C F G C", "C", "pop", 1),
        "backdoor-dominant": ("Cmaj7 G7 Cmaj7 Am7", "C", "jazz", 1),
        "pedal-point": ("C F G7 C", "C", "gospel", 2),
        "cadence-colour": ("Dm7 G7 Cmaj7", "C", "jazz", 2),
    }
    text, key, style, site = cases[rule]
    ctx, prog = context(text, key, style, preserve_cadence=False)
    result = outcomes(rule, ctx, prog, site)[0]
    changed = [i for i, slot in enumerate(result) if slot.rule == rule]
    assert changed
    for index in changed:
        words = explain(ctx, result, index)
        assert result[index].symbol in words and len(words) > 30


def test_style_profiles_cover_the_required_styles() -> None:
    assert {"jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop"} <= set(STYLES)
    for style in STYLES.values():
        assert set(style.rule_weights) == set(RULE_NAMES)
        assert all(0 <= weight <= 1 for weight in style.rule_weights.values())
        for palette in style.colours.values():
            for quality, _ in palette:
                parse_chord("C" + quality)
    assert get_style("Bossa Nova").name == "bossa-nova" and get_style("neo soul").name == "neo-soul"


def test_mood_words_adjust_the_profile() -> None:
    dark = with_mood(STYLES["pop"], "dark and moody")
    assert dark.weight("modal-interchange") > STYLES["pop"].weight("modal-interchange")
    simple = with_mood(STYLES["jazz"], "keep it simple")
    assert simple.density < STYLES["jazz"].density
    assert with_mood(STYLES["jazz"], "") is STYLES["jazz"]


KNOWN = [("Dm7 G7 Cmaj7 Cmaj7", "C"), (BLUES_IN_F, "F"), (AUTUMN_LEAVES, "G minor"),
         ("Cmaj7 Am7 Dm7 G7 Em7 A7 Dm7 G7", "C"), ("C F G C", "C")]


def _changed(before: Progression, after: Progression) -> list[int]:
    """Indices in `after` of the slots the rule wrote (inserted, or a new symbol/rule)."""
    old = {(s.origin, s.symbol) for s in before if s.origin >= 0}
    return [i for i, s in enumerate(after) if s.origin < 0 or (s.origin, s.symbol) not in old]


@pytest.mark.parametrize("rule", RULE_NAMES)
@pytest.mark.parametrize(("text", "key"), KNOWN, ids=[k[0][:24] for k in KNOWN])
def test_rule_theory_on_known_progressions(rule: str, text: str, key: str) -> None:
    for style in ("jazz", "gospel", "blues"):
        ctx, prog = context(text, key, style, preserve_cadence=False)
        for site in RULES[rule].sites(ctx, prog):
            for result in outcomes(rule, ctx, prog, site, tries=4, require=False):
                assert not violations(ctx, result)
                for index in _changed(prog, result):
                    chord = result[index].chord
                    after = result[index + 1].chord if index + 1 < len(result) else None
                    before = result[index - 1].chord if index > 0 else None
                    _check_theory(rule, ctx, prog, result, index, chord, before, after)
                    assert chord.symbol in explain(ctx, result, index)


def _check_theory(rule: str, ctx: RuleContext, prog: Progression, result: Progression, index: int, chord: Any,
                  before: Any, after: Any) -> None:
    tonic = ctx.key.tonic_pc
    slot = result[index]
    old = ctx.original[slot.origin].chord if slot.origin >= 0 else None
    if rule in ("style-extension", "cadence-colour"):
        assert old is not None and chord.root_pc == old.root_pc and chord.bass_pc == old.bass_pc
    elif rule == "secondary-dominant":
        assert chord.is_dominant and after is not None and (chord.root_pc - after.root_pc) % 12 == 7
    elif rule == "tritone-substitution":
        assert chord.is_dominant and after is not None and (chord.root_pc - after.root_pc) % 12 == 1
    elif rule == "related-ii":
        assert chord.family in ("minor", "half-diminished") and after is not None and after.is_dominant
        assert (chord.root_pc - after.root_pc) % 12 == 7
    elif rule == "passing-diminished":
        assert chord.quality == "dim7" and before is not None and after is not None
        assert (chord.root_pc - before.root_pc) % 12 == (after.root_pc - chord.root_pc) % 12
        assert (after.root_pc - chord.root_pc) % 12 in (1, 11)
    elif rule == "modal-interchange":
        parallel = Key(ctx.key.tonic, "major" if ctx.key.is_minor else "minor")
        dorian = Key(ctx.key.tonic, "dorian")
        assert is_diatonic(chord, parallel) or is_diatonic(chord, dorian)
    elif rule == "backdoor-dominant":
        assert (chord.root_pc - tonic) % 12 in (10, 5)  # bVII7, or the iv7 before it
    elif rule == "pedal-point":
        assert chord.bass is not None
        assert old is not None and chord.bass_pc in (old.root_pc, tonic)
