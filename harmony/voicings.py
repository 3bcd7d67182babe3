"""Guitar voicings in standard tuning (E A D G B E): generate playable shapes, pick a smooth sequence.

Shapes are generated, not looked up: for each chord we choose the tones a guitarist keeps (the 3rd and
7th, then the colour tensions, then the root; rootless when two tensions compete for the slots) and
fret them as

- drop-2 on strings 4-1, 5-2, 6-3 and drop-3 on strings 6,4,3,2 and 5,3,2,1 (every inversion),
- shells (root or bass, 3rd, 7th) with the root on the 6th or 5th string,
- close triads on four string sets, power chords,
- the open-position and E/A-shape barre chords a beginner knows.

Every shape keeps one note per string, frets 0-15, a stretch of at most `MAX_SPAN` frets between the
lowest and highest fretted note, and the slash bass as its lowest note. `covers()` checks the pitches:
only chord tones (and the bass), always the 3rd and 7th, at least one tension when the chord has any.

`choose_voicings()` picks one voicing per chord by dynamic programming (Viterbi): each voicing costs
the style's preference for its type plus a small position cost, each move costs the semitones the
voices travel plus half the change of hand position; with `favor_close=False` the moves cost little.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harmony.chords import Chord, parse_chord

STRINGS = (6, 5, 4, 3, 2, 1)
OPEN_MIDI = {6: 40, 5: 45, 4: 50, 3: 55, 2: 59, 1: 64}  # E2 A2 D3 G3 B3 E4
MAX_FRET = 15
MAX_SPAN = 3

_DROP2_SETS = ((4, 3, 2, 1), (5, 4, 3, 2), (6, 5, 4, 3))
_DROP3_SETS = ((6, 4, 3, 2), (5, 3, 2, 1))
_SHELL_SETS = ((6, 4, 3), (6, 5, 4), (5, 4, 3), (5, 3, 2))
_SHELL4_SETS = ((6, 4, 3, 2), (5, 4, 3, 2), (5, 3, 2, 1))
_TRIAD_SETS = ((3, 2, 1), (4, 3, 2), (5, 4, 3), (6, 5, 4))
_POWER_SETS = ((6, 5, 4), (5, 4, 3))
_TENSION_PRIORITY = ("#9", "b13", "b9", "#11", "13", "11", "9")
_OPEN_SHAPES = (
    ("C", "x32010"), ("Cmaj7", "x32000"), ("C7", "x32310"), ("Cadd9", "x32030"), ("C/G", "332010"),
    ("D", "xx0232"), ("Dm", "xx0231"), ("D7", "xx0212"), ("Dmaj7", "xx0222"), ("Dm7", "xx0211"),
    ("Dsus2", "xx0230"), ("Dsus4", "xx0233"), ("D5", "xx023x"), ("D/F#", "200232"),
    ("E", "022100"), ("Em", "022000"), ("E7", "020100"), ("Em7", "022030"), ("Emaj7", "021100"),
    ("Esus4", "022200"), ("E7sus4", "020200"), ("E5", "022xxx"),
    ("G", "320003"), ("G7", "320001"), ("Gmaj7", "320002"), ("G6", "320000"), ("G/B", "x20003"),
    ("A", "x02220"), ("Am", "x02210"), ("A7", "x02020"), ("Am7", "x02010"), ("Amaj7", "x02120"),
    ("Asus2", "x02200"), ("Asus4", "x02230"), ("A5", "x022xx"), ("Fmaj7", "xx3210"), ("B7", "x21202"),
    ("Am/G", "302210"), ("D7sus4", "xx0213"), ("A7sus4", "x02030"), ("Bm7", "x20202"),
    ("E9", "020102"), ("Gsus4", "330013"), ("Dm6", "xx0201"), ("Am6", "x02212"), ("Em6", "022020"),
    ("C6", "x32210"), ("C/E", "032010"),
)
# Movable barre shapes as fret offsets from the root fret (None = muted), strings 6 -> 1.
_E_SHAPES: dict[str, tuple[int | None, ...]] = {
    "": (0, 2, 2, 1, 0, 0), "m": (0, 2, 2, 0, 0, 0), "7": (0, 2, 0, 1, 0, 0), "m7": (0, 2, 0, 0, 0, 0),
    "maj7": (0, None, 1, 1, 0, None), "sus4": (0, 2, 2, 2, 0, 0), "7sus4": (0, 2, 0, 2, 0, 0),
    "5": (0, 2, 2, None, None, None),
}
_A_SHAPES: dict[str, tuple[int | None, ...]] = {
    "": (None, 0, 2, 2, 2, 0), "m": (None, 0, 2, 2, 1, 0), "7": (None, 0, 2, 0, 2, 0),
    "m7": (None, 0, 2, 0, 1, 0), "maj7": (None, 0, 2, 1, 2, 0), "sus4": (None, 0, 2, 2, 3, 0),
    "sus2": (None, 0, 2, 2, 0, 0), "m7b5": (None, 0, 1, 0, 1, None), "5": (None, 0, 2, 2, None, None),
    "6": (None, 0, 2, 2, 2, 2),
}


@dataclass(frozen=True)
class Voicing:
    """One fingering: `frets[i]` is the fret on string 6 - i (None = not played)."""

    chord: str
    kind: str
    frets: tuple[int | None, ...]

    @property
    def notes(self) -> list[tuple[int, int, int]]:
        """(string, fret, MIDI pitch) for every played string, low to high."""
        return [(string, fret, OPEN_MIDI[string] + fret)
                for string, fret in zip(STRINGS, self.frets, strict=True) if fret is not None]

    @property
    def pitches(self) -> tuple[int, ...]:
        return tuple(sorted(pitch for _, _, pitch in self.notes))

    @property
    def position(self) -> int:
        """The lowest fretted fret (0 for an all-open shape): where the hand sits."""
        fretted = [fret for fret in self.frets if fret]
        return min(fretted) if fretted else 0

    @property
    def span(self) -> int:
        """Frets between the lowest and the highest fretted note (open strings excluded)."""
        fretted = [fret for fret in self.frets if fret]
        return max(fretted) - min(fretted) if fretted else 0

    @property
    def tab(self) -> str:
        """Frets from the low E to the high E string, `x` for a muted string, e.g. `x-3-2-0-1-0`."""
        return "-".join("x" if fret is None else str(fret) for fret in self.frets)

    def to_json(self) -> dict[str, object]:
        chord = parse_chord(self.chord)
        names = _spelled(chord)
        return {
            "chord": self.chord,
            "type": self.kind,
            "tab": self.tab,
            "frets": list(self.frets),
            "position": self.position,
            "span": self.span,
            "strings": [
                {"string": string, "fret": fret, "note": names.get(pitch % 12, "?"),
                 "degree": _degree_label(chord, pitch % 12), "midi": pitch}
                for string, fret, pitch in self.notes
            ],
        }


def _spelled(chord: Chord) -> dict[int, str]:
    names = {pc: name for pc, name in zip(chord.pitch_classes, chord.notes, strict=True)}
    if chord.bass:
        names.setdefault(chord.bass_pc, chord.bass)
    return names


def _degree_label(chord: Chord, pc: int) -> str:
    for interval, chord_pc in zip(chord.intervals, chord.pitch_classes, strict=True):
        if chord_pc == pc:
            return interval
    return "bass"


# ---------------------------------------------------------------------------------------------------
# Which tones to voice.


def voice_tones(chord: Chord) -> list[int]:
    """The (at most four) pitch classes a guitarist keeps, lowest-priority last; bass first if slash.

    The 3rd and 7th (or 6th) always; the colour tensions by priority (altered first, then 13, 11, 9);
    then the root, then the fifth. With two tensions the root is left out (rootless voicing); a
    dominant 11 drops its 3rd (the 11th would clash with it).
    """
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    essentials = [i for i in (chord.third, chord.seventh) if i is not None]
    if chord.family == "dominant" and "11" in members and chord.third == "3":
        essentials = [chord.seventh or "b7"]
    if chord.fifth in ("b5", "#5") and chord.family in ("dominant", "half-diminished", "diminished"):
        essentials.append(chord.fifth)
    tensions = [t for t in _TENSION_PRIORITY if t in members]
    room = 4 - len(essentials)
    chosen = list(essentials)
    if len(tensions) >= 2 and room >= 2 and chord.seventh is not None:
        chosen += tensions[:room]
    else:
        chosen += tensions[:1]
    for filler in ("1", chord.fifth):
        if filler and filler in members and filler not in chosen and len(chosen) < 4:
            chosen.append(filler)
    pcs = [members[i] for i in chosen]
    if chord.bass:
        upper = [pc for pc in pcs if pc != chord.bass_pc][:3]
        return [chord.bass_pc, *upper]
    return pcs


def rootless_tones(chord: Chord) -> list[int]:
    """The rootless four-note set of a ninth chord (3rd, 5th, 7th, 9th: the pianist's and comping
    guitarist's voicing; the bassist has the root), or [] when the chord is no plain ninth chord."""
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    tensions = [t for t in _TENSION_PRIORITY if t in members]
    if chord.bass or chord.third is None or chord.seventh is None or chord.fifth != "5" or len(tensions) != 1:
        return []
    return [members[i] for i in (chord.third, "5", chord.seventh, tensions[0])]


def slash_rooted_tones(chord: Chord) -> list[list[int]]:
    """Four-note sets for a slash chord that keep the upper chord's root: bass, root, 3rd and 7th, and bass,
    root, 3rd and the named tension (so Cmaj13/G can sound as G-C-E-A, not only as a rootless E-B-A)."""
    if not chord.bass or chord.bass_pc == chord.root_pc or chord.third is None:
        return []
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    _, named = defining_tones(chord)
    sets = []
    for top in (chord.seventh, *named[:1]):
        if top is not None and top in members:
            tones = [chord.bass_pc, *dict.fromkeys(pc for pc in (members["1"], members[chord.third], members[top])
                                                   if pc != chord.bass_pc)]
            if len(set(tones)) == 4:
                sets.append(tones)
    return sets


def covers(chord: Chord, voicing: Voicing) -> bool:
    """Whether the voicing sounds the chord and sounds right: only its tones (and bass), one note per string,
    every chord-defining tone (`defining_tones`), the slash bass lowest, no minor-9th clash and a bass
    note that does not turn the chord into another one (`bass_reads_right`)."""
    notes = voicing.notes
    if len({string for string, _, _ in notes}) != len(notes) or len(notes) < 2:
        return False
    pcs = {pitch % 12 for _, _, pitch in notes}
    if not pcs <= set(chord.all_pitch_classes):
        return False
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    required, named = defining_tones(chord)
    if any(members[i] not in pcs for i in required):
        return False
    if named and not any(members[i] in pcs for i in named):
        return False
    lowest = min(pitch for _, _, pitch in notes) % 12
    if chord.bass and lowest != chord.bass_pc:
        return False
    return not has_minor_ninth_clash(chord, voicing) and bass_reads_right(chord, voicing)


def defining_tones(chord: Chord) -> tuple[list[str], list[str]]:
    """(tones every voicing needs, tensions of which at least one must sound).

    Needed: the 3rd (or sus 2nd/4th), the 7th or 6th, the altered 5th of half-diminished, diminished,
    augmented and altered dominant chords (a m7b5 without its b5 sounds as m7). A dominant 11 drops its
    3rd. The named tension: any altered one the symbol names, else the highest natural number (the 13
    of a 13th chord, not just its 9th). (A slash chord also wants its root: see `voicings_for`.)
    """
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    if chord.family == "power":
        return ["1", "5"], []
    required = [i for i in (chord.third, chord.seventh) if i is not None]
    if chord.family == "dominant" and "11" in members and chord.third == "3":
        required = [chord.seventh or "b7"]
    if chord.fifth in ("b5", "#5"):
        required.append(chord.fifth)
    altered: list[str] = [i for i in ("b9", "#9", "#11", "b13") if i in members]
    if altered:
        return required, altered
    naturals: list[str] = [i for i in ("13", "11", "9") if i in members]
    return required, naturals[:1]


def has_minor_ninth_clash(chord: Chord, voicing: Voicing) -> bool:
    """Two voices a minor 9th (or a compound of it) apart, except the b9 above a dominant's root and a tone
    the name demands a half step above the slash bass (`forced_over_bass`: C/B in a descending bass line,
    the 9th of A#m9/B): the name asks for that sound, no voicing of the chord avoids it."""
    pitches = sorted(voicing.pitches)
    root = chord.root_pc
    forced = forced_over_bass(chord)
    for low, high in itertools.combinations(pitches, 2):
        span = high - low
        if span >= 13 and span % 12 == 1 and not (chord.is_dominant and low % 12 == root):
            if low % 12 == chord.bass_pc and high % 12 in forced:
                continue
            return True
    return False


def forced_over_bass(chord: Chord) -> frozenset[int]:
    """The tones a slash chord's name demands (its root, defining tones and named tension) that sit a half
    step above the slash bass: the minor 9th from the bass to them is part of the chord, not a clash."""
    if not chord.bass or chord.bass_pc == chord.root_pc:
        return frozenset()
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    required, named = defining_tones(chord)
    demanded = {members["1"], *(members[i] for i in (*required, *named) if i in members)}
    return frozenset(pc for pc in demanded if (pc - chord.bass_pc) % 12 == 1)


def bass_reads_right(chord: Chord, voicing: Voicing) -> bool:
    """Whether the lowest note keeps the chord's identity: a root-position chord puts its root on the
    low E string, no tension or 6th in the bass of the 6th or 5th string, and never the 6th lowest
    (`Dm6` over B reads as Bm7b5)."""
    if chord.bass:
        return True
    string, _, pitch = min(voicing.notes, key=lambda note: note[2])
    degree = _degree_label(chord, pitch % 12)
    if degree == "1":
        return True
    if degree == "6" or (string == 6):
        return False
    return not (string == 5 and degree not in ("3", "b3", "5", "b7", "7"))


# Low interval limits: the lowest MIDI pitch at which each small interval (in semitones) still sounds
# clear; below it the two notes blur (a minor 3rd below C3, a major 2nd below Eb3 ...).
LOW_INTERVAL_LIMITS = {1: 52, 2: 51, 3: 48, 4: 46, 5: 45, 6: 47, 8: 43, 9: 41}
_STRUMMED_KINDS = frozenset({"open", "barre", "power"})


def sounds_clear(voicing: Voicing) -> bool:
    """Whether no two adjacent voices sit closer than the low interval limit allows (strummed open and
    barre shapes and power chords are exempt: their low thirds are the sound of the instrument)."""
    if voicing.kind in _STRUMMED_KINDS:
        return True
    pitches = voicing.pitches
    return all(low >= LOW_INTERVAL_LIMITS.get(high - low, 0) for low, high in itertools.pairwise(pitches))


def lowest_is_root(voicing: Voicing, allow_fifth: bool = False) -> bool:
    """Whether a voicing reaching the bass strings (6-4) has the root (or slash bass, or the fifth when
    allowed) lowest: the bass a bossa-nova thumb or a strummer plays."""
    chord = parse_chord(voicing.chord)
    string, _, pitch = min(voicing.notes, key=lambda note: note[2])
    if string < 4:
        return True
    if pitch % 12 == chord.bass_pc:
        return True
    return allow_fifth and not chord.bass and _degree_label(chord, pitch % 12) == "5"


# ---------------------------------------------------------------------------------------------------
# Fretting.


def _fret_options(string: int, pc: int) -> list[int]:
    first = (pc - OPEN_MIDI[string]) % 12
    return [fret for fret in (first, first + 12) if fret <= MAX_FRET]


def _fret_set(strings: Sequence[int], pcs: Sequence[int], close: bool = True,
              max_span: int = MAX_SPAN) -> list[tuple[int, ...]]:
    """Every fretting of `pcs` (low to high) on `strings` that ascends in pitch and fits the hand."""
    results = []
    for frets in itertools.product(*(_fret_options(s, pc) for s, pc in zip(strings, pcs, strict=True))):
        pitches = [OPEN_MIDI[s] + f for s, f in zip(strings, frets, strict=True)]
        if any(b <= a for a, b in itertools.pairwise(pitches)):
            continue
        if close and any(b - a >= 12 for a, b in itertools.pairwise(pitches)):
            continue
        fretted = [f for f in frets if f]
        if fretted and max(fretted) - min(fretted) > max_span:
            continue
        results.append(tuple(frets))
    return results


def _to_voicing(symbol: str, kind: str, strings: Sequence[int], frets: Sequence[int]) -> Voicing:
    by_string = dict(zip(strings, frets, strict=True))
    return Voicing(symbol, kind, tuple(by_string.get(s) for s in STRINGS))


def _rotations(pcs: Sequence[int]) -> list[list[int]]:
    """The close-position orders (low to high, within an octave) of distinct pitch classes."""
    ordered = sorted(set(pcs))
    return [ordered[i:] + ordered[:i] for i in range(len(ordered))]


def _drop_voicings(chord: Chord, tones: list[int]) -> list[Voicing]:
    if len(set(tones)) != 4:
        return []
    found = []
    for close in _rotations(tones):
        t1, t2, t3, t4 = close
        for kind, order, sets in (("drop2", (t3, t1, t2, t4), _DROP2_SETS),
                                  ("drop3", (t2, t1, t3, t4), _DROP3_SETS)):
            if chord.bass and order[0] != chord.bass_pc:
                continue
            for strings in sets:
                for frets in _fret_set(strings, order):
                    found.append(_to_voicing(chord.symbol, kind, strings, frets))
    return found


def _shell_voicings(chord: Chord) -> list[Voicing]:
    """Root (or bass), 3rd and 7th on adjacent low strings; with the chord's named tension (or its
    altered 5th) on top as a four-note shell when the chord has one."""
    third = chord.third
    seventh = chord.seventh
    if third is None or seventh is None:
        return []
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    bottom = chord.bass_pc
    guide = [members[third], members[seventh]]
    found = []
    for upper in (guide, guide[::-1]):
        for strings in _SHELL_SETS:
            for frets in _fret_set(strings, [bottom, *upper]):
                found.append(_to_voicing(chord.symbol, "shell", strings, frets))
    required, named = defining_tones(chord)
    extra = [members[i] for i in required if i not in (third, seventh) and i in members][:1]
    colour = extra or [members[i] for i in named[:1]]
    if colour:
        for order in itertools.permutations([*guide, *colour]):
            for strings4 in _SHELL4_SETS:
                for frets in _fret_set(strings4, [bottom, *order]):
                    found.append(_to_voicing(chord.symbol, "shell", strings4, frets))
    return found


def _triad_voicings(chord: Chord) -> list[Voicing]:
    if chord.seventh is not None or chord.extensions or chord.family == "power":
        return []
    found = []
    for close in _rotations(chord.pitch_classes):
        if chord.bass and close[0] != chord.bass_pc:
            continue
        for strings in _TRIAD_SETS:
            for frets in _fret_set(strings, close):
                found.append(_to_voicing(chord.symbol, "triad", strings, frets))
    return found


def _power_voicings(chord: Chord) -> list[Voicing]:
    if chord.family != "power":
        return []
    root, fifth = chord.pitch_classes
    found = []
    for strings in _POWER_SETS:
        for frets in _fret_set(strings, [root, fifth, root]):
            found.append(_to_voicing(chord.symbol, "power", strings, frets))
    return found


def _library_voicings(chord: Chord) -> list[Voicing]:
    found = []
    for symbol, shape in _OPEN_SHAPES:
        known = parse_chord(symbol)
        if (known.root_pc, known.intervals, known.bass_pc) == (chord.root_pc, chord.intervals, chord.bass_pc):
            frets = tuple(None if c == "x" else int(c) for c in shape)
            found.append(Voicing(chord.symbol, "open", frets))
    if chord.bass:
        return found
    for shapes, string in ((_E_SHAPES, 6), (_A_SHAPES, 5)):
        offsets = _quality_shape(chord, shapes)
        if offsets is None:
            continue
        root_fret = (chord.root_pc - OPEN_MIDI[string]) % 12
        if root_fret == 0:
            continue  # the open shape is in the library above
        frets = tuple(None if o is None else root_fret + o for o in offsets)
        if all(f is None or 0 <= f <= MAX_FRET for f in frets):
            found.append(Voicing(chord.symbol, "barre", frets))
    return found


def _quality_shape(chord: Chord, shapes: Mapping[str, tuple[int | None, ...]]) -> tuple[int | None, ...] | None:
    for quality, offsets in shapes.items():
        if parse_chord("C" + quality).intervals == chord.intervals:
            return offsets
    return None


@functools.lru_cache(maxsize=2048)
def voicings_for(symbol: str) -> tuple[Voicing, ...]:
    """Every playable voicing of the chord that passes `covers()`, deduplicated, in a stable order."""
    chord = parse_chord(symbol)
    # Library shapes first: a fingering that is also a known open chord keeps the friendlier label.
    candidates = [*_library_voicings(chord), *_drop_voicings(chord, voice_tones(chord)),
                  *_drop_voicings(chord, rootless_tones(chord)),
                  *(shape for tones in slash_rooted_tones(chord) for shape in _drop_voicings(chord, tones)),
                  *_shell_voicings(chord), *_triad_voicings(chord), *_power_voicings(chord)]
    seen: set[tuple[int | None, ...]] = set()
    result = []
    for voicing in candidates:
        if voicing.frets in seen or not covers(chord, voicing) or not sounds_clear(voicing):
            continue
        seen.add(voicing.frets)
        result.append(voicing)
    if not result:
        result = _fallback(chord)
    if chord.bass and chord.bass_pc != chord.root_pc:
        # Over another bass the root says which chord it is: Am11/G without its A is Gsus4.
        def has_root(shape: Voicing) -> bool:
            return chord.root_pc in {pitch % 12 for pitch in shape.pitches}

        # The root matters more than one fret: a rooted shape may take a fifth fret (see `_fallback`).
        result = [shape for shape in result if has_root(shape)] or _fallback(chord, has_root) or result
    return tuple(result)


_SPREAD_SETS: tuple[tuple[int, ...], ...] = (
    (6, 4, 3), (5, 4, 3), (6, 5, 4), (5, 3, 2), (4, 3, 2),
    (6, 4, 3, 2), (5, 4, 3, 2), (6, 5, 4, 3), (5, 3, 2, 1), (6, 4, 3, 2, 1), (5, 4, 3, 2, 1), (6, 5, 4, 3, 2),
)


def _fallback(chord: Chord, keep: Callable[[Voicing], bool] | None = None) -> list[Voicing]:
    """For chords no template fits (e.g. exotic slash chords): the bass under the chord's defining tones
    and its root in open spacing, the first that sound right (every covering shape that fits the hand,
    clear in the low register if it can be, then, if none, one fret wider); else guide tones over the
    bass without a minor-9th clash. With `keep`, only shapes it accepts (and [] when there is none)."""
    members = dict(zip(chord.intervals, chord.pitch_classes, strict=True))
    required, named = defining_tones(chord)
    wanted = [members[i] for i in [*required, *named[:1], "1", chord.fifth or "5"] if i in members]
    tones = [pc for pc in dict.fromkeys(wanted) if pc != chord.bass_pc]
    for max_span, clear in ((MAX_SPAN, True), (MAX_SPAN, False), (MAX_SPAN + 1, True), (MAX_SPAN + 1, False)):
        spread = _spread_voicings(chord, tones, max_span, clear, keep)
        if spread:
            return spread[:8]
    if keep is not None:
        return []
    upper = [members[i] for i in (chord.third, chord.seventh, chord.fifth) if i is not None and i in members]
    upper = [pc for pc in upper if pc != chord.bass_pc][:2] or [members["1"]]
    found = []
    for string_set in ((6, 4, 3), (5, 4, 3), (6, 5, 4), (5, 3, 2), (4, 3, 2)):
        strings = string_set[: len(upper) + 1]
        for frets in _fret_set(strings, [chord.bass_pc, *upper], close=False, max_span=MAX_SPAN + 1):
            found.append(_to_voicing(chord.symbol, "shell", strings, frets))
    clean = [shape for shape in found if not has_minor_ninth_clash(chord, shape)]
    return (clean or found)[:8]


def _spread_voicings(chord: Chord, tones: Sequence[int], max_span: int, clear: bool,
                     keep: Callable[[Voicing], bool] | None = None) -> list[Voicing]:
    """The bass under two to four of `tones` (in priority order) in open spacing, every shape that covers
    the chord (and, with `clear`, sounds clear), three upper notes first."""
    found: list[Voicing] = []
    for size in (3, 2, 4):
        for subset in itertools.combinations(tones, min(size, len(tones))):
            for order in itertools.permutations(subset):
                for strings in _SPREAD_SETS:
                    if len(strings) != len(order) + 1:
                        continue
                    for frets in _fret_set(strings, [chord.bass_pc, *order], close=False, max_span=max_span):
                        shape = _to_voicing(chord.symbol, "shell", strings, frets)
                        if shape in found or not covers(chord, shape) or (clear and not sounds_clear(shape)):
                            continue
                        if keep is None or keep(shape):
                            found.append(shape)
        if found:
            return found
    return found


# ---------------------------------------------------------------------------------------------------
# Voice leading.


def movement(a: Voicing, b: Voicing) -> float:
    """Semitones the voices travel from `a` to `b` (optimal pairing of sorted voices), 0 if identical."""
    return float(_line_distance(a.pitches, b.pitches))


def _line_distance(a: Sequence[int], b: Sequence[int]) -> int:
    if not a or not b:
        return 0
    if len(a) == len(b):
        return sum(abs(x - y) for x, y in zip(sorted(a), sorted(b), strict=True))
    small, large = (a, b) if len(a) < len(b) else (b, a)
    best = None
    # Let voices of the smaller chord double so that every note of the larger one is reached.
    for combo in itertools.combinations_with_replacement(sorted(small), len(large) - len(small)):
        cost = sum(abs(x - y) for x, y in zip(sorted([*small, *combo]), sorted(large), strict=True))
        best = cost if best is None else min(best, cost)
    return best or 0


@functools.lru_cache(maxsize=65536)
def pc_distance(first: str, second: str) -> float:
    """Voice-leading distance between two chords' voice tones as pitch classes: the fewest semitones
    (each voice moving up or down, the nearest way) to get from one set to the other; 0 when equal.
    This is the search's cheap stand-in for the fretted voicings chosen at the end."""
    a = voice_tones(parse_chord(first))
    b = voice_tones(parse_chord(second))
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    best = None
    for extra in itertools.combinations_with_replacement(small, len(large) - len(small)):
        voices = [*small, *extra]
        for perm in itertools.permutations(large):
            cost = sum(min((x - y) % 12, (y - x) % 12) for x, y in zip(voices, perm, strict=True))
            best = cost if best is None else min(best, cost)
    return float(best or 0)


def _with_bass(shapes: tuple[Voicing, ...], bass: str) -> tuple[Voicing, ...]:
    """The shapes with the bass the style asks for; for the bossa-nova thumb ("root-or-fifth") the root or
    fifth on the 6th or 5th string where the chord has such a shape."""
    if not bass:
        return shapes
    thumb = bass == "root-or-fifth"
    kept = tuple(shape for shape in shapes if lowest_is_root(shape, allow_fifth=thumb))
    if not kept and shapes:  # no template puts the root lowest (Bb9b5, G#7#5#9): spread it over the root
        chord = parse_chord(shapes[0].chord)
        kept = tuple(shape for shape in _fallback(chord, keep=lambda v: lowest_is_root(v, allow_fifth=thumb))
                     if covers(chord, shape))
    if thumb:
        low = tuple(shape for shape in kept if min(shape.notes, key=lambda note: note[2])[0] >= 5)
        kept = low or kept
    return kept or shapes


def _for_beginner(shapes: tuple[Voicing, ...]) -> tuple[Voicing, ...]:
    """A beginner plays the open chord where the chord has one (never a barre or a closed shape instead)."""
    opened = tuple(shape for shape in shapes if shape.kind == "open")
    return opened or shapes


# A move of the hand by more than this many frets costs extra: comping stays in one region of the neck.
HAND_SHIFT_FREE = 4
# The highest bass note (MIDI, D3) a bossa-nova thumb plays without cost: above it the bass line thins out.
THUMB_HIGHEST = 50


def choose_voicings(symbols: Sequence[str], favor_close: bool = True,
                    type_costs: Mapping[str, float] | None = None,
                    move_weight: float | None = None, bass: str = "", beginner: bool = False) -> list[Voicing]:
    """One voicing per chord minimising type/position costs plus (weighted) movement between chords.

    A move costs `move_weight` x (semitones travelled per voice + a quarter of the change of hand
    position, plus a fret's worth per fret beyond `HAND_SHIFT_FREE`); the default weight is 0.4 with
    `favor_close`, 0.03 without. `bass` = "root" keeps only voicings whose bass-string note is the root
    (strumming, beginners), "root-or-fifth" also allows the fifth (the bossa-nova thumb); a chord with
    no such voicing keeps all of its own, and the thumb's bass note costs more the higher it sits above
    `THUMB_HIGHEST`. `beginner` keeps a chord's open shapes where it has any and
    prefers the low positions (the first frets a beginner knows) for the others.
    """
    if not symbols:
        return []
    costs = type_costs or {}
    move_weight = move_weight if move_weight is not None else (0.4 if favor_close else 0.03)
    options = [_with_bass(voicings_for(symbol), bass) for symbol in symbols]
    if beginner:
        options = [_for_beginner(shapes) for shapes in options]

    def node_cost(voicing: Voicing) -> float:
        cost = costs.get(voicing.kind, 1.0) + 0.04 * max(0, voicing.position - 9) + 0.02 * voicing.span
        if beginner:
            cost += 0.1 * max(0, voicing.position - 3)
        if bass == "root-or-fifth":
            cost += 0.1 * max(0, voicing.pitches[0] - THUMB_HIGHEST)  # the thumb's bass stays low
        if voicing.kind in ("drop2", "triad") and voicing.frets[0] is not None:
            cost += 0.3  # close voicings on the low strings sound muddy
        if voicing.kind in ("drop3", "shell") and voicing.pitches[0] % 12 != parse_chord(voicing.chord).bass_pc:
            cost += 0.15  # bass-register voicings should have the root (or slash bass) at the bottom
        return cost

    def move_cost(a: Voicing, b: Voicing) -> float:
        voices = max(len(a.notes), len(b.notes))
        shift = abs(a.position - b.position)
        return move_weight * (movement(a, b) / voices + 0.25 * shift + max(0, shift - HAND_SHIFT_FREE))

    return _viterbi(options, node_cost, move_cost)


def _viterbi(options: Sequence[Sequence[Voicing]], node_cost: Callable[[Voicing], float],
             move_cost: Callable[[Voicing, Voicing], float]) -> list[Voicing]:
    """The sequence (one option per chord) with the least total node and move cost; ties to the earlier option."""
    totals = [node_cost(v) for v in options[0]]
    back: list[list[int]] = []
    for index in range(1, len(options)):
        new_totals = []
        pointers = []
        for voicing in options[index]:
            best_cost, best_prev = None, 0
            for prev_index, prev in enumerate(options[index - 1]):
                cost = totals[prev_index] + move_cost(prev, voicing)
                if best_cost is None or cost < best_cost:
                    best_cost, best_prev = cost, prev_index
            new_totals.append((best_cost or 0.0) + node_cost(voicing))
            pointers.append(best_prev)
        totals = new_totals
        back.append(pointers)
    choice = min(range(len(totals)), key=lambda i: (totals[i], i))
    path = [choice]
    for pointers in reversed(back):
        choice = pointers[choice]
        path.append(choice)
    path.reverse()
    return [options[i][path[i]] for i in range(len(options))]
