"""Change records from the final progression: which rule explains each final difference from the input.

The search labels a slot with the rule that last touched it, but a chord changed twice (substituted,
then recoloured back onto its root) or an inserted dominant whose target later changed no longer
stands in that relation. `relabel` therefore ignores the history and classifies every final chord by
comparing it with the input chord at its position and with its neighbours: a chord that ends where it
started is no change, and each other chord gets the rule whose relation is true of the final chords
(or `substitution`, which claims nothing beyond the replacement itself).
"""

from __future__ import annotations

from harmony.chords import DIMINISHED, DOMINANT, HALF_DIMINISHED, MINOR, SUSPENDED, Chord
from harmony.keys import Key, is_diatonic
from harmony.rules import Progression, RuleContext, Slot

SUBSTITUTION = "substitution"
INSERTION = "insertion"
_COLOUR_RULES = ("style-extension", "cadence-colour")


def relabel(ctx: RuleContext, prog: Progression) -> Progression:
    """`prog` with each slot's rule re-derived from the final chords (see the module docstring)."""
    return tuple(Slot(slot.symbol, slot.bar, slot.origin, final_rule(ctx, prog, index))
                 for index, slot in enumerate(prog))


def final_rule(ctx: RuleContext, prog: Progression, index: int) -> str:
    """The rule whose relation holds between the final chord at `index`, its input chord and neighbours."""
    slot = prog[index]
    chord = slot.chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    if 0 <= slot.origin < len(ctx.original):
        old = ctx.original[slot.origin].chord
        if old.symbol == chord.symbol:
            return ""
        return _replacement_rule(ctx, slot.rule, old, chord, following)
    if chord.family == DIMINISHED:
        return "passing-diminished"
    if chord.family in (MINOR, HALF_DIMINISHED) and following is not None and following.is_dominant \
            and (chord.root_pc - following.root_pc) % 12 in (7, 1):
        return "related-ii"
    if chord.is_dominant and following is not None and (chord.root_pc - following.root_pc) % 12 in (7, 1):
        return "secondary-dominant"
    return INSERTION


def _replacement_rule(ctx: RuleContext, rule: str, old: Chord, new: Chord, following: Chord | None) -> str:
    key = ctx.key
    degree = (new.root_pc - key.tonic_pc) % 12
    if new.bass and new.bass_pc != new.root_pc and new.bass_pc in (old.root_pc, key.tonic_pc):
        return "pedal-point"
    if new.root_pc == old.root_pc and new.bass_pc == old.bass_pc and _group(new) == _group(old):
        return rule if rule in _COLOUR_RULES else "style-extension"
    if new.is_dominant and old.is_dominant and (new.root_pc - old.root_pc) % 12 == 6 and not new.bass:
        return "tritone-substitution"
    if not key.is_minor and following is not None:
        if new.is_dominant and degree == 10 and following.root_pc == key.tonic_pc:
            return "backdoor-dominant"
        if new.family == MINOR and degree == 5 and following.is_dominant \
                and (following.root_pc - key.tonic_pc) % 12 == 10:
            return "backdoor-dominant"
    if new.is_dominant and following is not None and (new.bass_pc - following.root_pc) % 12 in (7, 1):
        return "secondary-dominant"
    parallel = Key(key.tonic, "major" if key.is_minor else "minor")
    plain = new.without_bass() if new.bass else new
    if not is_diatonic(plain, key) and is_diatonic(plain, parallel):
        return "modal-interchange"
    return SUBSTITUTION


def _group(chord: Chord) -> str:
    """The colour group: chords of one group are recolourings of each other (a m7b5 is not a coloured m7,
    its fifth changes the function)."""
    if chord.family in (DOMINANT, SUSPENDED):
        return "dominant"
    if chord.family in (HALF_DIMINISHED, DIMINISHED):
        return chord.family
    if chord.family == MINOR:
        return "minor"
    return "major"


def plain_explanation(ctx: RuleContext, prog: Progression, index: int) -> str:
    """The explanation of a `substitution` or `insertion`: the chords and their common tones, nothing more."""
    slot = prog[index]
    chord = slot.chord
    if 0 <= slot.origin < len(ctx.original):
        old = ctx.original[slot.origin].chord
        common = [name for name, pc in zip(old.notes, old.pitch_classes, strict=True)
                  if pc in chord.all_pitch_classes]
        shared = f"; they share {', '.join(common)}" if common else ""
        return f"{chord} replaces {old}{shared}."
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    return f"{chord} is inserted" + (f" before {following}." if following else " at the end.")
