"""Named reharmonisation rules: each finds the places it applies, rewrites one, and explains the result.

A progression is a tuple of `Slot`s: the chord symbol, the bar it sounds in, the index of the input
chord it stands for (-1 for a chord a rule inserted) and the rule that last changed it. Rules never
touch a locked slot, never put more than two chords in a bar and never insert before the first chord;
`violations()` checks the constraints (locks, preserved cadence, bar density and, for spice-up, the
user's alterations: every altered tone of an input chord still sounds in the chord standing for it)
once for every rule. Rule names and explanations of a result are re-derived from the final chords by
`harmony.changes.relabel`, so an explanation only claims relations the final progression has.

The rules (see `RULES`):

- style-extension: recolour a chord with the style's extensions (Dm7 -> Dm9, G7 -> G13), keeping its
  root and function; tensions must belong to the key for diatonic chords (no Em9 in C).
- secondary-dominant: make or insert the V7 of a diatonic chord (Am7 -> A7 before Dm7).
- tritone-substitution: replace a dominant resolving down a fifth by the dominant a tritone away
  (G7 -> Db7#11 before C): same guide tones, root slides down by half step.
- related-ii: put the ii of a dominant before it, sharing its bar (A7 -> Em7 A7).
- passing-diminished: insert a diminished seventh between chords a whole step apart (C C#dim7 Dm7).
- modal-interchange: borrow from the parallel mode (IV -> iv6, vi -> bVImaj7, ii -> iiø7; IV7 in minor).
- backdoor-dominant: V7 -> bVII7 before I, or ii-V -> iv7-bVII7 (Fm7 Bb7 Cmaj7).
- pedal-point: dominant pedal (G7 -> F/G or Dm7/G) or tonic pedal (C F -> C F/C).
- cadence-colour: the last tonic and its dominant get the style's cadence colours (6/9, 7alt ...).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harmony.chords import (
    DIMINISHED,
    DOMINANT,
    HALF_DIMINISHED,
    MAJOR,
    MINOR,
    SUSPENDED,
    Chord,
    interval_above,
    parse_chord,
    pitch_class,
    simplify_note,
)
from harmony.keys import Key, degree_numeral, is_diatonic, roman_numeral
from harmony.styles import StyleProfile

MAX_CHORDS_PER_BAR = 2

_CORE = frozenset({"1", "3", "b3", "2", "4", "5", "b5", "#5"})
_TENSION_WORDS = {
    "b9": "b9", "9": "9th", "#9": "#9", "11": "11th", "#11": "#11", "b13": "b13", "13": "13th",
    "6": "6th", "7": "major 7th", "b7": "7th", "b5": "b5", "#5": "#5", "4": "suspended 4th",
    "2": "suspended 2nd", "5": "5th", "3": "3rd", "b3": "minor 3rd", "bb7": "diminished 7th",
}


@dataclass(frozen=True)
class Slot:
    """One chord of a candidate progression; `origin` = -1 for inserted chords, `rule` = "" if unchanged."""

    symbol: str
    bar: int
    origin: int
    rule: str = ""

    def to_json(self) -> list[object]:
        return [self.symbol, self.bar, self.origin, self.rule]

    @classmethod
    def from_json(cls, value: Sequence[object]) -> Slot:
        symbol, bar, origin, rule = value
        return cls(str(symbol), int(str(bar)), int(str(origin)), str(rule))

    @property
    def chord(self) -> Chord:
        return parse_chord(self.symbol)


Progression = tuple[Slot, ...]


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read: the key, the (mood-adjusted) style and the request's constraints."""

    key: Key
    style: StyleProfile
    original: Progression
    locked: frozenset[int] = frozenset()
    preserve_cadence: bool = True
    allow_modal_interchange: bool = True
    max_complexity: int = 3
    enabled_rules: frozenset[str] = field(default_factory=frozenset)
    blue_sevenths: bool = False
    keep_alterations: bool = False
    keep_arrivals: bool = False
    seed: int = 0

    @property
    def arrival_origins(self) -> tuple[int, ...]:
        """Input chords spice-up keeps on their root and out of the dominant family (unless they were
        dominants, like a blues I7): an opening tonic and every chord an input dominant resolves into
        down a fifth (the relative major of a minor tune)."""
        if not self.keep_arrivals or not self.original:
            return ()
        chords = [slot.chord for slot in self.original]
        kept = []
        first = chords[0]
        if first.root_pc == self.key.tonic_pc:  # a blues tonic is a dominant, and it is still the tonic
            kept.append(0)
        for index in range(1, len(chords)):
            before, chord = chords[index - 1], chords[index]
            if before.is_dominant and not chord.is_dominant and (before.root_pc - chord.root_pc) % 12 == 7:
                kept.append(index)
        return tuple(kept)

    @property
    def cadence_origins(self) -> tuple[int, ...]:
        """Origins whose root the cadence keeps: the last chord, and its dominant if it resolves into it."""
        if not self.preserve_cadence or not self.original:
            return ()
        last = len(self.original) - 1
        if last >= 1 and _resolves(self.original[last - 1].chord, self.original[last].chord):
            return (last - 1, last)
        return (last,)


def _resolves(chord: Chord, target: Chord) -> bool:
    """A dominant-function chord whose root falls a fifth or a half step into `target`."""
    if chord.family not in (DOMINANT, MAJOR, SUSPENDED):
        return False
    return (chord.bass_pc - target.root_pc) % 12 in (7, 1)


def editable(ctx: RuleContext, slot: Slot) -> bool:
    """Whether a rule may change this slot (its input chord is not locked)."""
    return slot.origin not in ctx.locked


def _bar_size(prog: Progression, bar: int) -> int:
    return sum(1 for slot in prog if slot.bar == bar)


def _bar_locked(ctx: RuleContext, prog: Progression, bar: int) -> bool:
    protected = ctx.locked | frozenset(ctx.cadence_origins[-1:])
    return any(slot.bar == bar and slot.origin in protected for slot in prog)


def _replace(ctx: RuleContext, prog: Progression, index: int, symbol: str, rule: str) -> Progression:
    """`prog` with the chord at `index` replaced; writing back the input chord counts as no change."""
    slot = prog[index]
    symbol = parse_chord(symbol).symbol
    if 0 <= slot.origin < len(ctx.original) and ctx.original[slot.origin].symbol == symbol:
        rule = ""
    return (*prog[:index], Slot(symbol, slot.bar, slot.origin, rule), *prog[index + 1:])


def _insert(prog: Progression, index: int, symbol: str, bar: int, rule: str) -> Progression:
    return (*prog[:index], Slot(symbol, bar, -1, rule), *prog[index:])


def weighted_choice(rng: random.Random, palette: Sequence[tuple[str, float]]) -> str | None:
    """One name drawn with probability proportional to its weight (one `rng.random()`); None if no
    weight is positive."""
    choices = [(quality, weight) for quality, weight in palette if weight > 0]
    if not choices:
        return None
    total = sum(weight for _, weight in choices)
    point = rng.random() * total
    for quality, weight in choices:
        point -= weight
        if point <= 0:
            return quality
    return choices[-1][0]


def _for_key(ctx: RuleContext, note: str) -> str:
    """`note` respelled by the key's letter when it is a scale note (Ab -> G# in F# minor), else as is."""
    return ctx.key.spell(pitch_class(note)) if pitch_class(note) in ctx.key.scale else note


def _degree(ctx: RuleContext, chord: Chord) -> int:
    return (chord.root_pc - ctx.key.tonic_pc) % 12


# ---------------------------------------------------------------------------------------------------
# Colour contexts and tension checks, shared by style-extension, cadence-colour and the inserting rules.


def colour_context(ctx: RuleContext, prog: Progression, index: int) -> str | None:
    """Which palette of the style applies to the chord at `index` (see StyleProfile.colours)."""
    chord = prog[index].chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    family = chord.family
    degree = _degree(ctx, chord)
    if family == DIMINISHED:
        return "diminished"
    if family == HALF_DIMINISHED:
        return "half-diminished"
    if family == MINOR:
        return "tonic-minor" if degree == 0 and ctx.key.is_minor else "minor"
    if family == SUSPENDED and chord.seventh is None:
        return "suspended"
    if family == DOMINANT or (family == MAJOR and _acts_as_dominant(ctx, chord, following)):
        if chord.third in ("2", "4"):
            return "suspended"
        return _dominant_context(ctx, chord, following)
    if family == MAJOR:
        return "tonic-major" if degree == 0 and not ctx.key.is_minor else "major"
    return None


def _acts_as_dominant(ctx: RuleContext, chord: Chord, following: Chord | None) -> bool:
    """A major triad on V before I, or a chromatic major triad falling a fifth (a secondary dominant)."""
    if chord.seventh is not None or following is None:
        return False
    falls_fifth = (chord.root_pc - following.root_pc) % 12 == 7
    if _degree(ctx, chord) == 7 and following.root_pc == ctx.key.tonic_pc:
        return True
    return falls_fifth and not is_diatonic(chord, ctx.key)


def _dominant_context(ctx: RuleContext, chord: Chord, following: Chord | None) -> str:
    degree = _degree(ctx, chord)
    if following is not None:
        step = (chord.root_pc - following.root_pc) % 12
        if step == 7:
            minor_target = following.family in (MINOR, HALF_DIMINISHED, DIMINISHED)
            return "dominant-to-minor" if minor_target else "dominant-to-major"
        if step == 1:
            return "dominant-sub"
    if degree == 10:
        return "dominant-sub"
    if following is None and degree == 7:
        return "dominant-to-minor" if ctx.key.is_minor else "dominant-to-major"
    return "dominant-free"


def acceptable_colour(ctx: RuleContext, old: Chord, new: Chord, context: str) -> bool:
    """Whether `new` is a musically sound recolouring of `old` in this key and context.

    Dominants take any tension their palette offers (altered tensions are idiomatic there). A chord
    that belongs to the key keeps every added tone in the key, except the idiomatic #11 on major
    chords and the melodic-minor 6th and major 7th on a minor tonic. A chromatic chord takes only the
    natural 9th (and 11th on minor chords), which every chord scale it could have contains.
    """
    if new.complexity > ctx.max_complexity or new.symbol == old.symbol:
        return False
    if new.family != old.family and not _family_change_allowed(ctx, old, new, context):
        return False
    added = [(i, pc) for i, pc in zip(new.intervals, new.pitch_classes, strict=True) if i not in _CORE]
    if ctx.key.mode not in ("major", "minor") and new.root_pc == ctx.key.tonic_pc:
        # A modal tonic is the mode: every tone it gains belongs to the mode's scale (no F# on E phrygian,
        # no A for the b5 of a D locrian D7b5), its chord tones as much as its tensions.
        return all(pc in ctx.key.scale or pc in old.pitch_classes for pc in new.pitch_classes)
    if context.startswith("dominant") or context == "cadence-dominant":
        return True
    if is_diatonic(old, ctx.key):
        exceptions: set[str] = set()
        if context in ("tonic-major", "major", "cadence-tonic-major"):
            exceptions.add("#11")
        if context in ("tonic-minor", "cadence-tonic-minor") and ctx.key.mode == "minor":
            exceptions |= {"6", "7", "9"}  # the minor tonic's melodic-minor and dorian colours; a mode keeps its scale
        scale = ctx.key.harmonic_scale
        return all(pc in scale or interval in exceptions for interval, pc in added)
    allowed = {"9", "b7", "7", "6"} | ({"11"} if new.family == MINOR else set())
    return all(interval in allowed for interval, _ in added)


def _family_change_allowed(ctx: RuleContext, old: Chord, new: Chord, context: str) -> bool:
    """Recolouring keeps the family, except: a dominant-role triad may become a dominant seventh or sus
    chord, a sus dominant may take its third back, and a blues style turns I and IV into dominants."""
    families = {old.family, new.family}
    if context.startswith("dominant") or context == "cadence-dominant" or context == "suspended":
        # never back to a triad: Eb7 -> Eb or Ebsus4 drops the b7 that makes it resolve
        return families <= {MAJOR, DOMINANT, SUSPENDED} and (old.seventh != "b7" or new.seventh == "b7")
    if ctx.blue_sevenths and context in ("tonic-major", "major", "cadence-tonic-major"):
        return families <= {MAJOR, DOMINANT}
    return False


def colour_options(ctx: RuleContext, prog: Progression, index: int, cadence: bool = False) -> list[
        tuple[str, float]]:
    """The qualities (with weights) the style offers for the chord at `index`, already checked."""
    slot = prog[index]
    chord = slot.chord
    context = colour_context(ctx, prog, index)
    if context is None:
        return []
    if cadence:
        if context.startswith("dominant") or context == "suspended":
            context = "cadence-dominant"
        elif context in ("tonic-major", "tonic-minor"):
            context = f"cadence-{context}"
    options = []
    neighbours = {prog[i].symbol for i in (index - 1, index + 1) if 0 <= i < len(prog)}
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    to_minor = _into_minor(ctx, chord, following)
    resolving = chord.is_dominant and following is not None and (chord.root_pc - following.root_pc) % 12 in (7, 1)
    for quality, weight in ctx.style.palette(context):
        candidate = chord.with_quality(quality)
        if candidate.symbol in neighbours:
            continue  # a colour that repeats the chord next to it is no change a player hears
        if resolving and (candidate.family not in (DOMINANT, SUSPENDED) or candidate.seventh is None):
            continue  # a dominant that resolves keeps its function and its 7th (a blues I7 leading to IV stays a 7th)
        if slot.rule == "tritone-substitution" and candidate.third != "3":
            continue  # a tritone substitute holds the guide tones (3rd and 7th) of the dominant it replaces
        if minor_key_clash(ctx, candidate, following, chord):
            continue
        if to_minor and candidate.family in (DOMINANT, SUSPENDED) and any(i in candidate.intervals
                                                                          for i in ("9", "13")):
            continue  # a dominant resolving to a minor chord takes b9/b13, not the natural 9th or 13th
        if acceptable_colour(ctx, chord, candidate, context):
            options.append((quality, weight))
    return options


# ---------------------------------------------------------------------------------------------------
# The rules. Each `_sites_*` returns indices where the rule applies; each `_apply_*` returns the new
# progression or None; each `_explain_*` describes the chord at `index` of a finished progression.


def _sites_extension(ctx: RuleContext, prog: Progression) -> list[int]:
    return [i for i, slot in enumerate(prog) if editable(ctx, slot) and colour_options(ctx, prog, i)]


def _apply_extension(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    quality = weighted_choice(rng, colour_options(ctx, prog, index))
    if quality is None:
        return None
    slot = prog[index]
    symbol = slot.chord.with_quality(quality).symbol
    return _replace(ctx, prog, index, symbol, slot.rule or "style-extension")


def _sites_secondary(ctx: RuleContext, prog: Progression) -> list[int]:
    sites = []
    for i in range(1, len(prog)):
        target = prog[i].chord
        if target.family not in (MAJOR, MINOR, DOMINANT) or target.bass:
            continue
        if target.root_pc == ctx.key.tonic_pc or not is_diatonic(target.without_bass(), ctx.key):
            continue
        before = prog[i - 1].chord
        # A dominant already leading into the target (a fifth or half step above, or II7 -> ii7 on its root).
        if before.is_dominant and (before.root_pc - target.root_pc) % 12 in (0, 7, 1):
            continue
        sites.append(i)
    return sites


def _apply_secondary(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    target = prog[index].chord
    root = _for_key(ctx, interval_above(target.root, "5", ctx.key.prefer_flats))
    context = "dominant-to-minor" if target.family == MINOR else "dominant-to-major"
    palette = [(q, w) for q, w in _dominant_palette(ctx, context)
               if not minor_key_clash(ctx, parse_chord(root + q), target)]
    quality = weighted_choice(rng, palette) or "7"
    symbol = root + quality
    before = prog[index - 1]
    replaceable = (index - 1 > 0 and before.chord.root_pc != ctx.key.tonic_pc and not before.chord.bass
                   and before.chord.family in (MINOR, MAJOR, DOMINANT))
    if before.chord.root_pc == parse_chord(symbol).root_pc:
        if not replaceable or not editable(ctx, before):
            return None  # Dm7b5 D7 G7: a dominant squeezed in after a chord on its own root is clutter
        return _replace(ctx, prog, index - 1, symbol, "secondary-dominant")
    if _bar_size(prog, before.bar) >= MAX_CHORDS_PER_BAR or _bar_locked(ctx, prog, before.bar):
        return None
    return _insert(prog, index, symbol, before.bar, "secondary-dominant")


def _dominant_palette(ctx: RuleContext, context: str) -> list[tuple[str, float]]:
    """The style's dominant colours for `context`, limited to the allowed complexity."""
    palette = [(q, w) for q, w in ctx.style.palette(context)
               if parse_chord("C" + q).family == DOMINANT and parse_chord("C" + q).complexity <= ctx.max_complexity]
    return palette or [("7", 1.0)]


def _explain_secondary(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    if following is None:
        return f"{chord} is a secondary dominant leading out of the progression."
    target = degree_numeral(following, ctx.key)
    step = (chord.root_pc - following.root_pc) % 12
    if step == 1 and following.family == DIMINISHED:
        return f"{chord} slides down a half step into the passing {following}: the bass walks down chromatically."
    if step == 1:
        return (f"{chord} slides down a half step into {following}: a dominant approaching {target} "
                f"chromatically (subV7/{target}).")
    if step != 7:
        return f"{chord} is a chromatic dominant colour before {following}."
    if chord.third == "3":
        third = _readable(chord.notes[chord.intervals.index("3")])
        lead = f", and its third {third} leads up a half step to {following.root}"
    else:
        lead = "; the suspended 4th delays the leading tone"
    return f"{chord} is V7/{target}: it resolves down a fifth to {following}{lead}."


def _sites_tritone(ctx: RuleContext, prog: Progression) -> list[int]:
    return [i for i in range(len(prog) - 1)
            if editable(ctx, prog[i]) and prog[i].chord.is_dominant and not prog[i].chord.bass
            and (prog[i].chord.root_pc - prog[i + 1].chord.root_pc) % 12 == 7]


def _apply_tritone(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    chord = prog[index].chord
    root = ctx.key.spell(chord.root_pc + 6, raised=False)  # a scale note by the key's letter, else flat (bII7)
    quality = weighted_choice(rng, _dominant_palette(ctx, "dominant-sub")) or "7"
    return _replace(ctx, prog, index, root + quality, "tritone-substitution")


def _explain_tritone(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    original = _original_of(ctx, prog[index])
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    # The replaced dominant and its guide tones are spelled for the key (C#7 with E# and B in F# minor).
    old = parse_chord(original) if original else None
    if old is not None and old.is_dominant and (old.root_pc - chord.root_pc) % 12 == 6:
        replaced = parse_chord(old.root + "7")  # the user's own spelling of the dominant it replaces
    else:
        replaced = parse_chord(ctx.key.spell(chord.root_pc + 6, raised=False) + "7")
    stands_for = replaced.symbol
    was = f" (in place of {original})" if original and original != stands_for else ""
    into = ""
    if following is not None:
        slides = (chord.root_pc - following.root_pc) % 12 == 1
        into = f"; its root slides down a half step into {following}" if slides else f", before {following}"
    return (f"{chord} is the tritone substitute of {stands_for}{was}: a tritone away, it shares that "
            f"dominant's guide tones {_guide_tones(replaced)}{into}.")


def _sites_related_ii(ctx: RuleContext, prog: Progression) -> list[int]:
    sites = []
    for i in range(1, len(prog)):
        chord = prog[i].chord
        if not chord.is_dominant or chord.bass or _bar_size(prog, prog[i].bar) >= MAX_CHORDS_PER_BAR:
            continue
        if _bar_locked(ctx, prog, prog[i].bar):
            continue
        before = prog[i - 1].chord
        if (before.root_pc - chord.root_pc) % 12 == 7 and before.family in (MINOR, HALF_DIMINISHED):
            continue
        sites.append(i)
    return sites


def _apply_related_ii(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    dominant = prog[index].chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    root = _for_key(ctx, interval_above(dominant.root, "5", ctx.key.prefer_flats))
    minor_target = following is not None and following.family in (MINOR, HALF_DIMINISHED)
    if minor_target:
        quality = "m7b5"
    else:
        options = [(q, w) for q, w in ctx.style.palette("minor") if q in ("m7", "m9", "m11")]
        candidate = weighted_choice(rng, [(q, w) for q, w in options
                                if parse_chord("C" + q).complexity <= ctx.max_complexity])
        quality = candidate or "m7"
    return _insert(prog, index, root + quality, prog[index].bar, "related-ii")


def _explain_related_ii(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    dominant = prog[index + 1].chord if index + 1 < len(prog) else None
    if dominant is None:
        return f"{chord} is a related ii chord."
    step = (chord.root_pc - dominant.root_pc) % 12
    after = prog[index + 2].chord if index + 2 < len(prog) else None
    if step == 7 and (chord.seventh != "b7" or dominant.third != "3"):
        return f"{chord} is the related ii of {dominant}: together they form a ii-V in one bar."
    if step == 7:
        return (f"{chord} is the related ii of {dominant}: together they form a ii-V in one bar, and the "
                f"7th of {chord} ({_seventh_name(chord)}) falls a half step to the 3rd of {dominant}.")
    if step == 1 and after is not None and (dominant.root_pc - after.root_pc) % 12 == 1:
        return (f"{chord} and {dominant} form a ii-subV: {dominant} replaces the V7 of this ii, and both "
                f"roots slide down by half step.")
    if step == 1:
        return f"{chord} and {dominant} form a ii-subV: {dominant} replaces the V7 of this ii."

    return f"{chord} is a ii chord approaching {dominant}."


def _sites_passing(ctx: RuleContext, prog: Progression) -> list[int]:
    sites = []
    last = len(prog) - 1
    for i in range(len(prog) - 1):
        if i + 1 == last and ctx.cadence_origins:
            continue
        here, there = prog[i].chord, prog[i + 1].chord
        step = (there.root_pc - here.root_pc) % 12
        if step not in (2, 10) or DIMINISHED in (here.family, there.family) or here.bass or there.bass:
            continue  # the passing bass line needs both chords in root position
        if _bar_size(prog, prog[i].bar) >= MAX_CHORDS_PER_BAR or _bar_locked(ctx, prog, prog[i].bar):
            continue
        sites.append(i)
    return sites


def _apply_passing(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    here, there = prog[index].chord, prog[index + 1].chord
    ascending = (there.root_pc - here.root_pc) % 12 == 2
    root = ctx.key.spell(here.root_pc + 1, raised=True) if ascending else ctx.key.spell(here.root_pc - 1, raised=False)
    return _insert(prog, index + 1, root + "dim7", prog[index].bar, "passing-diminished")


def _explain_passing(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    before = prog[index - 1].chord if index > 0 else None
    after = prog[index + 1].chord if index + 1 < len(prog) else None
    if before is None or after is None:
        return f"{chord} is a passing diminished chord."
    up = (chord.root_pc - before.root_pc) % 12 == 1 and (after.root_pc - chord.root_pc) % 12 == 1
    down = (before.root_pc - chord.root_pc) % 12 == 1 and (chord.root_pc - after.root_pc) % 12 == 1
    if up:
        dominant = ctx.key.spell(chord.root_pc + 8, raised=False)
        return (f"{chord} links {before} and {after}: the bass climbs by half steps "
                f"({before.root}-{chord.root}-{after.root}), and it sounds like a rootless {dominant}7b9 "
                f"resolving to {after}.")
    if down:
        return (f"{chord} links {before} and {after} chromatically: the bass walks down by half steps "
                f"({before.root}-{chord.root}-{after.root}).")
    return f"{chord} is a passing diminished chord between {before} and {after}."



_BORROWED_MAJOR = {  # (degree, family) in a major key -> (new degree, quality options)
    (5, MAJOR): (5, (("m6", 1.0), ("m7", 0.7), ("m", 0.5))),
    (2, MINOR): (2, (("m7b5", 1.0),)),
    (9, MINOR): (8, (("maj7", 1.0), ("", 0.5))),
    (4, MINOR): (3, (("maj7", 1.0), ("", 0.5))),
    (7, MAJOR): (7, (("m7", 1.0),)),
    (7, DOMINANT): (7, (("m7", 1.0),)),
}
_BORROWED_MINOR = {  # in a minor key, from the parallel major / Dorian
    (5, MINOR): (5, (("7", 1.0), ("9", 0.6))),
    (8, MAJOR): (9, (("m7b5", 1.0),)),
}


def _borrowing(ctx: RuleContext, chord: Chord) -> tuple[int, tuple[tuple[str, float], ...]] | None:
    table = _BORROWED_MINOR if ctx.key.is_minor else _BORROWED_MAJOR
    return table.get((_degree(ctx, chord), chord.family))


def _sites_interchange(ctx: RuleContext, prog: Progression) -> list[int]:
    if not ctx.allow_modal_interchange:
        return []
    cadence = set(ctx.cadence_origins)
    originals = [slot.chord for slot in ctx.original]
    ii_v = {i for i in range(1, len(originals)) if _is_ii_v(originals[i - 1], originals[i])}
    sites = []
    for i, slot in enumerate(prog):
        if (not editable(ctx, slot) or slot.origin <= 0 or slot.origin in cadence or slot.origin in ii_v
                or slot.chord.bass or _resolving_dominant(prog, i)):
            continue
        borrowing = _borrowing(ctx, slot.chord)
        if borrowing is None:
            continue
        if slot.origin + 1 in ii_v and borrowing[0] != _degree(ctx, slot.chord):
            continue  # the ii of a ii-V may turn iiø7, not move to another root (Abmaj7 before D7)
        if i > 0 and prog[i - 1].origin < 0 and prog[i - 1].chord.is_dominant:
            continue  # an inserted dominant was put there to lead into this very chord
        sites.append(i)
    return sites


def _is_ii_v(before: Chord, chord: Chord) -> bool:
    """A minor (or half-diminished) chord a fifth above the dominant that follows it: the V of a ii-V
    keeps its dominant, whatever happened to the ii since."""
    return (before.family in (MINOR, HALF_DIMINISHED) and chord.family in (DOMINANT, MAJOR)
            and (before.root_pc - chord.root_pc) % 12 == 7)


def _resolving_dominant(prog: Progression, index: int) -> bool:
    """A V (triad or seventh) falling a fifth or a half step into the next chord: borrowing a minor v
    for it would leave its ii-V without a dominant."""
    chord = prog[index].chord
    if chord.family not in (DOMINANT, MAJOR):
        return False
    if index > 0 and _is_ii_v(prog[index - 1].chord, chord):
        return True  # the V of a ii-V, even one that does not resolve (a ii-V vamp)
    if index + 1 >= len(prog):
        return False
    return (chord.root_pc - prog[index + 1].chord.root_pc) % 12 in (7, 1)


def _apply_interchange(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    chord = prog[index].chord
    borrowing = _borrowing(ctx, chord)
    if borrowing is None:
        return None
    degree, palette = borrowing
    options = [(q, w) for q, w in palette if parse_chord("C" + q).complexity <= ctx.max_complexity
               and not (ctx.max_complexity <= 1 and q == "m7b5")]  # a borrowed iiø7 is not beginner harmony
    quality = weighted_choice(rng, options)
    if quality is None:
        return None
    root = ctx.key.spell(ctx.key.tonic_pc + degree, raised=False)
    return _replace(ctx, prog, index, root + quality, "modal-interchange")


def _explain_interchange(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    original = _original_of(ctx, prog[index])
    parallel = Key(ctx.key.tonic, "major" if ctx.key.is_minor else "minor")
    source = parallel.name if not ctx.key.is_minor else f"{parallel.name} / {ctx.key.tonic} dorian"
    outside = [name for name, pc in zip(chord.notes, chord.pitch_classes, strict=True)
               if pc not in ctx.key.harmonic_scale]
    colour = f" its {', '.join(outside)} is the borrowed colour" if outside else ""
    was = f" in place of {original}" if original else ""
    return f"{chord} ({roman_numeral(chord, ctx.key)}) is borrowed from {source}{was}:{colour}."


def _sites_backdoor(ctx: RuleContext, prog: Progression) -> list[int]:
    if ctx.key.is_minor:
        return []
    cadence = set(ctx.cadence_origins)
    return [i for i in range(len(prog) - 1)
            if editable(ctx, prog[i]) and prog[i].origin not in cadence and not prog[i].chord.bass
            and _degree(ctx, prog[i].chord) == 7 and prog[i].chord.family in (DOMINANT, MAJOR)
            and prog[i + 1].chord.root_pc == ctx.key.tonic_pc]


def _apply_backdoor(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    quality = weighted_choice(rng, _dominant_palette(ctx, "dominant-sub")) or "7"
    root = ctx.key.spell(ctx.key.tonic_pc + 10, raised=False)
    result = _replace(ctx, prog, index, root + quality, "backdoor-dominant")
    if index > 0 and rng.random() < 0.5:
        before = prog[index - 1]
        if (editable(ctx, before) and before.chord.family == MINOR and not before.chord.bass
                and _degree(ctx, before.chord) == 2):
            iv = ctx.key.spell(ctx.key.tonic_pc + 5, raised=False)
            result = _replace(ctx, result, index - 1, iv + "m7", "backdoor-dominant")
    return result


def _explain_backdoor(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    if chord.family == MINOR:
        leads = following is not None and following.is_dominant and _degree(ctx, following) == 10
        return (f"{chord} (iv7) is borrowed from {ctx.key.tonic} minor"
                + (f" and starts the backdoor ii-V into {following}." if leads else "."))
    if following is None or following.root_pc != ctx.key.tonic_pc or _degree(ctx, chord) != 10:
        return f"{chord} is a bVII7 colour, the backdoor dominant of {ctx.key.tonic}."
    return (f"{chord} is the backdoor dominant (bVII7): instead of V7 it approaches {following} from a whole "
            f"step below, its 7th ({_seventh_name(chord)}) falling to the 5th of the tonic.")


def _sites_pedal(ctx: RuleContext, prog: Progression) -> list[int]:
    sites = []
    for i, slot in enumerate(prog):
        chord = slot.chord
        if not editable(ctx, slot) or chord.bass or slot.origin < 0:  # an inserted chord keeps the role it came for
            continue
        if i > 0 and prog[i - 1].origin < 0 and _is_ii_v(prog[i - 1].chord, chord):
            continue  # a related ii was inserted for this V: Dm11 Dm9/G would say the same thing twice
        following = prog[i + 1].chord if i + 1 < len(prog) else None
        dominant_pedal = (chord.is_dominant and chord.third == "3" and following is not None
                          and (chord.root_pc - following.root_pc) % 12 == 7)
        tonic_pedal = (i > 0 and slot.origin not in ctx.cadence_origins
                       and prog[i - 1].chord.root_pc == ctx.key.tonic_pc and not prog[i - 1].chord.bass
                       and _degree(ctx, chord) in (2, 5) and chord.family in (MAJOR, MINOR))
        if dominant_pedal or tonic_pedal:
            sites.append(i)
    return sites


def _apply_pedal(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    chord = prog[index].chord
    following = prog[index + 1].chord if index + 1 < len(prog) else None
    if chord.is_dominant and following is not None and following.family in (MINOR, HALF_DIMINISHED):
        # F/G and Dm7/G put the natural 9th against a minor target, and Fm7/G sets a b9 over the bass:
        # into a minor chord the V stays a V.
        return None
    if chord.is_dominant:
        if rng.random() < 0.5:
            upper = _for_key(ctx, interval_above(chord.root, "b7", ctx.key.prefer_flats))
            quality = "maj7" if ctx.max_complexity >= 1 and rng.random() < 0.5 else ""
        else:
            upper = _for_key(ctx, interval_above(chord.root, "5", ctx.key.prefer_flats))
            quality = "m7"
        symbol = f"{upper}{quality}/{chord.root}"
        lifted = parse_chord(symbol)
        if (ctx.key.mode not in ("major", "minor") and lifted.root_pc == ctx.key.tonic_pc
                and not set(lifted.pitch_classes) <= set(ctx.key.scale)):
            return None  # an upper chord on a modal tonic is heard as the tonic: it keeps to the mode (no Bbm7/Eb
            # in Bb lydian)
        return _replace(ctx, prog, index, symbol, "pedal-point")
    if (ctx.key.tonic_pc + 1) % 12 in chord.pitch_classes:
        return None  # a tone a half step above the pedal would clash as a minor 9th over the bass
    return _replace(ctx, prog, index, f"{chord.symbol}/{ctx.key.tonic}", "pedal-point")


def _explain_pedal(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    bass = chord.bass or chord.root
    if chord.bass_pc == ctx.key.tonic_pc:
        return (f"{chord} keeps the tonic {bass} in the bass (a tonic pedal) while the harmony above moves "
                f"to {chord.without_bass()}.")
    upper = chord.without_bass()
    if (chord.bass_pc - ctx.key.tonic_pc) % 12 == 7 and (chord.bass_pc + 4) % 12 not in upper.pitch_classes:
        return (f"{chord} puts {upper} over the dominant {bass} in the bass: a suspended V11 "
                f"sound (no 3rd) that resolves smoothly, a gospel and neo-soul favourite.")
    return f"{chord} puts {upper} over {bass} in the bass, a pedal under the moving harmony."



def _sites_cadence(ctx: RuleContext, prog: Progression) -> list[int]:
    sites = []
    last = len(prog) - 1
    if last >= 0 and editable(ctx, prog[last]) and colour_options(ctx, prog, last, cadence=True):
        sites.append(last)
    if last >= 1 and editable(ctx, prog[last - 1]) and _resolves(prog[last - 1].chord, prog[last].chord) \
            and not prog[last - 1].chord.bass and colour_options(ctx, prog, last - 1, cadence=True):
        sites.append(last - 1)
    return sites


def _apply_cadence(ctx: RuleContext, prog: Progression, index: int, rng: random.Random) -> Progression | None:
    quality = weighted_choice(rng, colour_options(ctx, prog, index, cadence=True))
    if quality is None:
        return None
    slot = prog[index]
    return _replace(ctx, prog, index, slot.chord.with_quality(quality).symbol, slot.rule or "cadence-colour")


def _explain_colour(ctx: RuleContext, prog: Progression, index: int) -> str:
    chord = prog[index].chord
    original = _original_of(ctx, prog[index])
    base = parse_chord(original) if original else None
    # By pitch, not by name: a b5 that sounds on as the #11 of 7alt is not left out.
    added = [_TENSION_WORDS.get(i, i) for i, pc in zip(chord.intervals, chord.pitch_classes, strict=True)
             if base is None or pc not in base.all_pitch_classes]
    roman = roman_numeral(chord, ctx.key)
    dropped = [_TENSION_WORDS.get(i, i) for i, pc in zip(base.intervals, base.pitch_classes, strict=True)
               if pc not in chord.all_pitch_classes] if base else []
    if dropped and not added:
        return f"{original} becomes {chord} ({roman}): it leaves out the {', '.join(dropped)}."
    if not added:
        colour = f"a {ctx.style.name} voicing of the same chord tones"
        plural = False
    else:
        colour = "the " + (added[0] if len(added) == 1 else ", ".join(added[:-1]) + " and " + added[-1])
        plural = len(added) > 1
    if prog[index].rule == "cadence-colour":
        where = "the final chord" if index == len(prog) - 1 else "the cadence dominant"
        drop = f" (leaving out the {', '.join(dropped)})" if dropped else ""
        return f"{chord} ({roman}) colours {where} with {colour}{drop}: a typical {_style_words(ctx)} ending."
    was = f"{original} becomes {chord}" if original and original != chord.symbol else f"{chord}"
    verb = "are typical colours" if plural else "is a typical colour"
    drops = f"; it leaves out the {', '.join(dropped)}" if dropped else ""
    return f"{was} ({roman}): {colour} {verb} in {_style_words(ctx)}; root and function stay{drops}."


def _style_words(ctx: RuleContext) -> str:
    return ctx.style.name.replace("-", " ")


def _original_of(ctx: RuleContext, slot: Slot) -> str | None:
    if 0 <= slot.origin < len(ctx.original):
        return ctx.original[slot.origin].symbol
    return None


def _readable(name: str) -> str:
    """A spelled note for prose: kept as spelled, with its plain enharmonic beside a double accidental and
    Cb/Fb/E#/B# (the third of D#7 is F## (= G): calling it G would misname the chord's degree)."""
    if len(name) > 2 or name in ("Cb", "Fb", "E#", "B#"):
        return f"{name} (= {simplify_note(name, name.endswith('b'))})"
    return name


def _guide_tones(chord: Chord) -> str:
    names = [_readable(n) for n, i in zip(chord.notes, chord.intervals, strict=True) if i in ("3", "b7")]
    return " and ".join(names) if names else "the 3rd and 7th"


def _seventh_name(chord: Chord) -> str:
    seventh = chord.seventh
    if seventh is None:
        return chord.root
    return _readable(chord.notes[chord.intervals.index(seventh)])


@dataclass(frozen=True)
class Rule:
    """A named transformation: where it applies, how it rewrites, and how it explains itself."""

    name: str
    label: str
    description: str
    sites: Callable[[RuleContext, Progression], list[int]]
    apply: Callable[[RuleContext, Progression, int, random.Random], Progression | None]
    explain: Callable[[RuleContext, Progression, int], str]


RULES: dict[str, Rule] = {rule.name: rule for rule in (
    Rule("style-extension", "Extensions by style", "adds the style's tensions to a chord, same root and "
         "function", _sites_extension, _apply_extension, _explain_colour),
    Rule("secondary-dominant", "Secondary dominant", "turns or inserts the chord a fifth above a diatonic "
         "target into its dominant seventh", _sites_secondary, _apply_secondary, _explain_secondary),
    Rule("tritone-substitution", "Tritone substitution", "replaces a dominant by the dominant a tritone "
         "away", _sites_tritone, _apply_tritone, _explain_tritone),
    Rule("related-ii", "Related ii-V", "puts the ii of a dominant before it in the same bar",
         _sites_related_ii, _apply_related_ii, _explain_related_ii),
    Rule("passing-diminished", "Passing diminished", "inserts a diminished seventh between chords a "
         "whole step apart", _sites_passing, _apply_passing, _explain_passing),
    Rule("modal-interchange", "Modal interchange", "borrows a chord from the parallel mode",
         _sites_interchange, _apply_interchange, _explain_interchange),
    Rule("backdoor-dominant", "Backdoor dominant", "approaches the tonic from bVII7 (and iv7)",
         _sites_backdoor, _apply_backdoor, _explain_backdoor),
    Rule("pedal-point", "Pedal point", "holds the dominant or tonic in the bass under moving chords",
         _sites_pedal, _apply_pedal, _explain_pedal),
    Rule("cadence-colour", "Cadence colour", "gives the final cadence the style's colours",
         _sites_cadence, _apply_cadence, _explain_colour),
)}


def explain(ctx: RuleContext, prog: Progression, index: int) -> str:
    """The explanation of the chord at `index`, by the rule that produced it."""
    slot = prog[index]
    rule = RULES.get(slot.rule)
    if rule is None:
        return f"{slot.symbol} is kept from the input."
    return rule.explain(ctx, prog, index)


def violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """Every hard constraint `prog` breaks (empty when it is acceptable)."""
    problems: list[str] = []
    by_origin = {slot.origin: slot for slot in prog if slot.origin >= 0}
    for origin in sorted(ctx.locked):
        if origin < len(ctx.original) and (origin not in by_origin
                                            or by_origin[origin].symbol != ctx.original[origin].symbol):
            problems.append(f"locked chord {origin + 1} changed")
    if prog and ctx.original and prog[0].origin != 0:
        problems.append("a chord was inserted before the first chord")
    bars: dict[int, int] = {}
    for slot in prog:
        bars[slot.bar] = bars.get(slot.bar, 0) + 1
    if any(count > MAX_CHORDS_PER_BAR for count in bars.values()):
        problems.append(f"more than {MAX_CHORDS_PER_BAR} chords in a bar")
    problems.extend(_cadence_violations(ctx, prog))
    problems.extend(_repeat_violations(ctx, prog))
    problems.extend(_arrival_violations(ctx, prog))
    problems.extend(_minor_dominant_violations(ctx, prog))
    problems.extend(_minor_key_tension_violations(ctx, prog))
    if ctx.keep_alterations:
        problems.extend(_alteration_violations(ctx, prog))
        problems.extend(_new_dominant_violations(ctx, prog))
    return problems


def _minor_key_tension_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """In a minor key a changed dominant falling a fifth (V/V, V/iv ...) takes only the natural 9th or 13th
    the key's harmonic minor has: D13 in C minor puts E against the key's Eb (D7b9 is the sound)."""
    for index, slot in enumerate(prog[:-1]):
        if not slot.rule:
            continue
        old = ctx.original[slot.origin].chord if 0 <= slot.origin < len(ctx.original) else None
        clash = minor_key_clash(ctx, slot.chord, prog[index + 1].chord, old)
        if clash:
            return [f"{slot.chord} puts its natural {clash} against the minor key"]
    return []


def minor_key_clash(ctx: RuleContext, chord: Chord, following: Chord | None, old: Chord | None = None) -> str | None:
    """The natural 9 or 13 of a dominant falling a fifth in a minor key that the key's harmonic minor does
    not have (and the input chord `old` did not have), else None."""
    if ctx.key.mode != "minor" or following is None or not chord.is_dominant:
        return None
    if (chord.root_pc - following.root_pc) % 12 != 7:
        return None
    kept = old.pitch_classes if old is not None else ()
    for interval, pc in zip(chord.intervals, chord.pitch_classes, strict=True):
        if interval in ("9", "13") and pc not in ctx.key.harmonic_scale and pc not in kept:
            return interval
    return None


def _new_dominant_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """Spice-up turns a minor chord of the tune into a dominant on its root (Fm7 -> F13) only when that
    dominant resolves, down a fifth or a half step, into the next chord: otherwise the tune's colour is lost."""
    for index, slot in enumerate(prog):
        if not slot.rule or not 0 <= slot.origin < len(ctx.original) or not slot.chord.is_dominant:
            continue
        old = ctx.original[slot.origin].chord
        if old.family not in (MINOR, HALF_DIMINISHED) or old.root_pc != slot.chord.root_pc:
            continue
        following = prog[index + 1].chord if index + 1 < len(prog) else None
        if following is None or not _resolves(slot.chord, following):
            return [f"{old} became the unresolved dominant {slot.chord}"]
    return []


def _into_minor(ctx: RuleContext, chord: Chord, following: Chord | None) -> bool:
    """Whether the chord falls a fifth into a minor chord, or is the V of a minor key (wherever it goes:
    its natural 9th and 13th would clash with the key's b6 and b2)."""
    if ctx.key.mode == "minor" and _degree(ctx, chord) == 7:
        return True
    if following is None:
        return False
    return following.family in (MINOR, HALF_DIMINISHED) and (chord.root_pc - following.root_pc) % 12 == 7


def _minor_dominant_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """A changed dominant falling a fifth into a minor chord (or ending a minor-key progression on V) may
    not gain a natural 9th or 13th: minor-key dominants take b9, b13 or alt."""
    for index, slot in enumerate(prog):
        chord = slot.chord
        following = prog[index + 1].chord if index + 1 < len(prog) else None
        if not slot.rule or chord.family not in (DOMINANT, SUSPENDED) or chord.seventh != "b7":
            continue
        if not _into_minor(ctx, chord, following):
            continue
        old = ctx.original[slot.origin].chord if 0 <= slot.origin < len(ctx.original) else None
        if any(i in chord.intervals and (old is None or i not in old.intervals) for i in ("9", "13")):
            return [f"{chord} takes a natural 9th or 13th in a minor cadence"]
    return []


def _arrival_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """Spice-up keeps the opening tonic and the arrival chords on their root, not turned into dominants."""
    arrivals = ctx.arrival_origins
    if not arrivals:
        return []
    for slot in prog:
        if slot.origin in arrivals and slot.rule:
            new, old = slot.chord, ctx.original[slot.origin].chord
            if new.root_pc != old.root_pc or (new.family in (DOMINANT, SUSPENDED) and not old.is_dominant):
                return [f"the arrival chord {ctx.original[slot.origin].symbol} was replaced"]
    return []


def _repeat_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """A change may not make a chord repeat its neighbour unless the input repeated it there (Cm7 | Cm7)."""
    for first, second in itertools.pairwise(prog):
        inserted = first.origin < 0 or second.origin < 0
        same_dominant = (first.chord.is_dominant and second.chord.is_dominant
                         and first.chord.root_pc == second.chord.root_pc)
        if inserted and same_dominant:
            return [f"{first.symbol} and {second.symbol} are one dominant twice"]  # D9 D13: no change a player hears
        if first.symbol != second.symbol or not (first.rule or second.rule):
            continue
        both_input = first.origin >= 0 and second.origin >= 0
        if not (both_input and ctx.original[first.origin].symbol == ctx.original[second.origin].symbol):
            return [f"{first.symbol} repeats its neighbour"]
    return []


ALTERATIONS = frozenset({"b5", "#5", "b9", "#9", "#11", "b13"})


def altered_pitch_classes(chord: Chord) -> frozenset[int]:
    """The pitch classes of the chord's altered tones (b5, #5, b9, #9, #11, b13; `alt` has them all)."""
    return frozenset(pc for i, pc in zip(chord.intervals, chord.pitch_classes, strict=True) if i in ALTERATIONS)


def _alteration_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    """The user's alterations are kept: every altered note of an input chord still sounds in the chord
    that stands for it (as a pitch class, so a b5 may be respelled #11)."""
    problems = []
    for slot in prog:
        if not 0 <= slot.origin < len(ctx.original) or not slot.rule:
            continue
        old = ctx.original[slot.origin].chord
        missing = altered_pitch_classes(old) - slot.chord.all_pitch_classes
        if missing:
            problems.append(f"the alterations of {old} were removed")
    return problems


def _cadence_violations(ctx: RuleContext, prog: Progression) -> list[str]:
    origins = ctx.cadence_origins
    if not origins:
        return []
    tail = prog[-len(origins):]
    if tuple(slot.origin for slot in tail) != origins:
        return ["the cadence is no longer at the end"]
    problems = []
    for slot in tail:
        old = ctx.original[slot.origin].chord
        new = slot.chord
        if new.bass_pc != old.bass_pc and new.root_pc != old.root_pc:
            problems.append(f"the cadence chord {old} lost its root")
        elif _family_group(new) != _family_group(old) and slot.rule != "pedal-point":
            problems.append(f"the cadence chord {old} changed function")
    return problems


def _family_group(chord: Chord) -> str:
    if chord.family in (DOMINANT, SUSPENDED):
        return "dominant"
    if chord.family in (MINOR, HALF_DIMINISHED, DIMINISHED):
        return "minor"
    return "major"
