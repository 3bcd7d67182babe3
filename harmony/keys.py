"""Keys: parse a key name, infer the key of a progression, and label each chord with its Roman numeral.

Numerals follow the jazz (Berklee) convention: degrees are measured against the tonic's major scale, so
in G minor the chords of Autumn Leaves read iv7 bVII7 bIIImaj7 bVImaj7 iiø7 V7 i7. Upper case is a
major third (major, dominant, augmented, suspended), lower case a minor third. Context adds the
functional labels a jazz player would write: V7/ii for a secondary dominant, bII7 (or subV7/x) for a
tritone substitute, bVII7 for the backdoor dominant, #i°7 for a passing diminished chord, ii7/x for the
related ii of a secondary dominant.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pychord.quality import scale_notes

from harmony.chords import (
    DIMINISHED,
    DOMINANT,
    HALF_DIMINISHED,
    MAJOR,
    MINOR,
    Chord,
    note_name,
    pitch_class,
    simplify_note,
)
from harmony.errors import KeyParseError

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
MODE_ALIASES = {
    "major": "major", "maj": "major", "ionian": "major", "M": "major",
    "minor": "minor", "min": "minor", "m": "minor", "aeolian": "minor", "-": "minor",
    "dorian": "dorian", "dor": "dorian", "phrygian": "phrygian", "phr": "phrygian",
    "lydian": "lydian", "lyd": "lydian", "mixolydian": "mixolydian", "mix": "mixolydian",
    "locrian": "locrian", "loc": "locrian",
}
_PYCHORD_MODE = {
    "major": "maj", "minor": "min", "dorian": "Dor", "phrygian": "Phr", "lydian": "Lyd",
    "mixolydian": "Mix", "locrian": "Loc",
}
# Modes whose third is minor take the minor numerals and the minor tonic chord.
MINOR_MODES = frozenset({"minor", "dorian", "phrygian", "locrian"})
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b♯♭]?)\s*(.*?)\s*$")
# Key signatures: which tonics are conventionally written with flats.
_FLAT_MAJOR_TONICS = frozenset({5, 10, 3, 8, 1, 6})  # F Bb Eb Ab Db Gb
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_RELATIVE_MAJOR_OFFSET = {"major": 0, "minor": 3, "dorian": 10, "phrygian": 8, "lydian": 7,
                          "mixolydian": 5, "locrian": 1}
_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_FLAT_DEGREES = {0: "I", 1: "bII", 2: "II", 3: "bIII", 4: "III", 5: "IV", 6: "bV", 7: "V",
                 8: "bVI", 9: "VI", 10: "bVII", 11: "VII"}
_SHARP_DEGREES = {0: "I", 1: "#I", 2: "II", 3: "#II", 4: "III", 5: "IV", 6: "#IV", 7: "V",
                  8: "#V", 9: "VI", 10: "#VI", 11: "VII"}


@dataclass(frozen=True)
class Key:
    """A tonic and a mode, e.g. `Key("F#", "minor")`."""

    tonic: str
    mode: str = "major"

    @property
    def tonic_pc(self) -> int:
        return pitch_class(self.tonic)

    @property
    def name(self) -> str:
        return f"{self.tonic} {self.mode}"

    @property
    def is_minor(self) -> bool:
        return self.mode in MINOR_MODES

    @functools.cached_property  # pure and hot in the search (read for every diatonic check)
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the mode's scale, tonic first."""
        return tuple((self.tonic_pc + step) % 12 for step in MODES[self.mode])

    @functools.cached_property
    def harmonic_scale(self) -> frozenset[int]:
        """The scale plus the raised leading tone in minor (so V7 and vii°7 count as diatonic)."""
        notes = set(self.scale)
        if self.mode == "minor":
            notes.add((self.tonic_pc + 11) % 12)
        return frozenset(notes)

    @property
    def prefer_flats(self) -> bool:
        """Whether the key signature uses flats (F, Bb, ... majors; D, G, C ... minors)."""
        if "b" in self.tonic[1:]:
            return True
        if "#" in self.tonic[1:]:
            return False
        relative_major = (self.tonic_pc + _RELATIVE_MAJOR_OFFSET[self.mode]) % 12
        return relative_major in _FLAT_MAJOR_TONICS

    def spelled_scale(self) -> tuple[str, ...]:
        """The scale spelled by letter, e.g. ('F#', 'G#', 'A', 'B', 'C#', 'D', 'E') for F# minor."""
        return tuple(scale_notes(self.tonic, _PYCHORD_MODE[self.mode]))

    def spell(self, pc: int, raised: bool | None = None) -> str:
        """Name pitch class `pc` in this key: scale notes by the key's letters, chromatic notes as
        a raised lower degree when `raised` (passing diminished), a lowered upper degree when not
        (borrowed and substitute chords), else by the key signature."""
        pc %= 12
        spelled = self.spelled_scale()
        for name in spelled:
            if pitch_class(name) == pc:  # the key's own letter, Cb in Eb minor and E# in F# major included
                return name if len(name) <= 2 else simplify_note(name, self.prefer_flats)
        flats = self.prefer_flats if raised is None else not raised
        return note_name(pc, flats)

    def relative(self, interval: int) -> int:
        """Semitones from the tonic to pitch class `interval` steps above it."""
        return (self.tonic_pc + interval) % 12

    def to_json(self) -> dict[str, str]:
        return {"tonic": self.tonic, "mode": self.mode, "name": self.name}


def parse_key(text: str) -> Key:
    """Read `C`, `C major`, `F# minor`, `Bbm`, `A min`, `D dorian`, `Ebmaj`; raise KeyParseError."""
    if not isinstance(text, str):
        raise KeyParseError(str(text), "a key must be a string")
    cleaned = text.replace("♯", "#").replace("♭", "b")
    match = _KEY_RE.match(cleaned)
    if match is None or len(text) > 32:
        raise KeyParseError(text, "expected a note A-G with optional #/b and mode, e.g. 'F# minor'")
    letter, accidental, mode_text = match.groups()
    tonic = letter.upper() + accidental
    mode_key = mode_text if mode_text in ("M", "m", "-") else mode_text.lower()
    if mode_key == "" and letter.islower():
        mode_key = "minor"
    mode = MODE_ALIASES.get(mode_key or "major")
    if mode is None:
        allowed = ", ".join(sorted(MODES))
        raise KeyParseError(text, f"unknown mode {mode_text!r} (allowed: {allowed})")
    return Key(tonic, mode)


def has_explicit_mode(text: str) -> bool:
    """Whether a key name states its mode (`C minor`, `Bbm`, `a`) rather than defaulting to major."""
    match = _KEY_RE.match(text.replace("♯", "#").replace("♭", "b"))
    return match is not None and (bool(match.group(3)) or match.group(1).islower())


def conventional_key(tonic_pc: int, mode: str) -> Key:
    """The usual spelling of a key on `tonic_pc` (Db major, C# minor, F# major, Eb minor)."""
    names = _MAJOR_NAMES if mode not in MINOR_MODES else _MINOR_NAMES
    return Key(names[tonic_pc % 12], mode)


def _core(chord: Chord) -> frozenset[int]:
    """Root, third, fifth and seventh: what decides whether a chord belongs to a key."""
    members = ("1", "3", "b3", "2", "4", "5", "b5", "#5", "6", "b7", "7", "bb7")
    return frozenset(pc for pc, i in zip(chord.pitch_classes, chord.intervals, strict=True) if i in members)


def is_diatonic(chord: Chord, key: Key) -> bool:
    """Whether the chord's root, third, fifth and seventh all belong to the key (harmonic minor in minor)."""
    return _core(chord) <= key.harmonic_scale


def infer_key(chords: Sequence[Chord]) -> Key:
    """The major or minor key that best explains the chords, weighing tonic evidence over a final dominant.

    Each candidate key scores the diatonic fit of every chord (1 when its core tones are in the scale,
    half the fraction otherwise, 0.9 for the blues I7 and IV7), plus tonic evidence: 2 when the first
    and 2 when the last chord is its tonic chord (a dominant seventh counts as a tonic only in a blues,
    which opens on its I7 and has the IV7), 1.5 when the last chord is its V7 (a turnaround ends on the
    dominant of the key, not in its key), 0.4 per V7 of the key, 1.5 per V7-I cadence whose arrival does
    not move straight on as the ii of another dominant, and 0.5 more when a ii prepares it, and 2 for the
    I7-IV7 pair of the blues. Ties go to major, then to the lower tonic pitch class. The tonic is
    spelled as the chords spell it where that makes a real key (Gb major, D# minor).
    """
    if not chords:
        return Key("C", "major")
    best: tuple[float, int, int] | None = None
    best_key = Key("C", "major")
    for tonic_pc in range(12):
        for mode in ("major", "minor"):
            key = conventional_key(tonic_pc, mode)
            score = _key_score(chords, key)
            rank = (round(score, 6), 1 if mode == "major" else 0, -tonic_pc)
            if best is None or rank > best:
                best, best_key = rank, key
    return _as_written(best_key, chords)


def _as_written(key: Key, chords: Sequence[Chord]) -> Key:
    """`key` with its tonic spelled as the chords spell it (Gbmaj7 ... Cbmaj7 is in Gb, not F#), when that
    spelling is a key a chart can be written in (no double accidental in its scale)."""
    written = next((chord.root for chord in chords if chord.root_pc == key.tonic_pc), key.tonic)
    if written == key.tonic:
        return key
    respelled = Key(written, key.mode)
    return respelled if all(len(note) <= 2 for note in respelled.spelled_scale()) else key


def _key_score(chords: Sequence[Chord], key: Key) -> float:
    score = 0.0
    scale = key.harmonic_scale
    tonic = key.tonic_pc
    dominant_roots = set()
    for chord in chords:
        core = _core(chord)
        degree = (chord.root_pc - tonic) % 12
        if core <= scale:
            score += 1.0
        elif not key.is_minor and chord.family == DOMINANT and degree in (0, 5):
            score += 0.9
            dominant_roots.add(degree)
        else:
            score += 0.5 * len(core & scale) / max(1, len(core))
    # A blues opens on its I7 and has the IV7 too; a I7 met in passing (Bb7 in Eb) is a V7/IV.
    blues = dominant_roots == {0, 5} and chords[0].family == DOMINANT and chords[0].root_pc == tonic
    if blues:
        score += 2.0
    if _is_tonic_chord(chords[0], key, blues):
        score += 2.0
    last = chords[-1]
    if _is_tonic_chord(last, key, blues):
        score += 2.0
    elif last.family == DOMINANT and (last.root_pc - tonic) % 12 == 7:
        score += 1.5
    for index, (current, following) in enumerate(itertools.pairwise(chords)):
        if current.family != DOMINANT or (current.root_pc - tonic) % 12 != 7:
            continue
        score += 0.4
        after = chords[index + 2] if index + 2 < len(chords) else None
        passing = (after is not None and after.family == DOMINANT
                   and (following.root_pc - after.root_pc) % 12 == 7)  # Cm7 F7: the arrival is a ii, not a tonic
        if _is_tonic_chord(following, key, blues) and not passing:
            score += 1.5
            before = chords[index - 1] if index > 0 else None
            if before is not None and (before.root_pc - tonic) % 12 == 2 and before.family in (MINOR,
                                                                                              HALF_DIMINISHED):
                score += 0.5
    return score


def _is_tonic_chord(chord: Chord, key: Key, blues: bool = False) -> bool:
    if chord.root_pc != key.tonic_pc:
        return False
    if key.is_minor:
        return chord.family == MINOR
    if chord.family == DOMINANT:
        return blues
    return chord.family not in (MINOR, DIMINISHED, HALF_DIMINISHED)


@dataclass(frozen=True)
class KeyRegion:
    """A stretch of the progression heard in one key: chords `start`..`end` (inclusive, 0-based)."""

    key: Key
    start: int
    end: int

    def to_json(self) -> dict[str, object]:
        return {"key": self.key.name, "start": self.start, "end": self.end}


_VAMP_MODES = {MINOR: "dorian", DOMINANT: "mixolydian", MAJOR: "lydian"}


def _modal_regions(chords: Sequence[Chord], home: Key, owners: list[Key]) -> None:
    """Modal tunes move by planing: a chord held for two bars or more outside the home mode is a new modal
    centre on its root (m7 -> dorian, 7 -> mixolydian, maj7 -> lydian), as So What's Ebm7 bars."""
    index = 0
    while index < len(chords):
        end = index
        while end + 1 < len(chords) and chords[end + 1].symbol == chords[index].symbol:
            end += 1
        chord = chords[index]
        mode = _VAMP_MODES.get(chord.family)
        if end > index and mode is not None and not is_diatonic(chord, home):
            local = conventional_key(chord.root_pc, mode)
            for position in range(index, end + 1):
                owners[position] = local
        index = end + 1


def key_regions(chords: Sequence[Chord], home: Key) -> list[KeyRegion]:
    """The key centres the progression moves through, in order: every V7-I (or ii-V-I) arrival on a
    chord that is not the home tonic starts a region in the arrival's key (major or minor by its third),
    reaching back over its ii-V and on while the chords stay in that key; the rest is the home key.
    Adjacent regions in the same key merge."""
    owners: list[Key] = [home] * len(chords)
    for index in range(1, len(chords)):
        dominant, target = chords[index - 1], chords[index]
        if dominant.family != DOMINANT or (dominant.root_pc - target.root_pc) % 12 != 7:
            continue
        if target.family not in (MAJOR, MINOR) or (target.seventh == "b7" and target.family == MAJOR):
            continue
        local = conventional_key(target.root_pc, "minor" if target.family == MINOR else "major")
        if local.tonic_pc == home.tonic_pc and local.is_minor == home.is_minor:
            continue
        first = index - 1
        if first > 0 and (chords[first - 1].root_pc - dominant.root_pc) % 12 == 7 \
                and chords[first - 1].family in (MINOR, HALF_DIMINISHED):
            first -= 1
        last = index
        while last + 1 < len(chords) and is_diatonic(chords[last + 1], local) \
                and not is_diatonic(chords[last + 1], home):
            last += 1
        for position in range(first, last + 1):
            owners[position] = local
    if home.mode not in ("major", "minor"):
        _modal_regions(chords, home, owners)
    regions: list[KeyRegion] = []
    for index, key in enumerate(owners):
        if regions and regions[-1].key == key:
            regions[-1] = KeyRegion(key, regions[-1].start, index)
        else:
            regions.append(KeyRegion(key, index, index))
    return regions


@dataclass(frozen=True)
class ChordFunction:
    """The analysis of one chord: its Roman numeral, its function in words, and whether it is diatonic."""

    chord: str
    roman: str
    function: str
    diatonic: bool

    def to_json(self) -> dict[str, object]:
        return {"chord": self.chord, "roman": self.roman, "function": self.function,
                "diatonic": self.diatonic}


def degree_numeral(chord: Chord, key: Key) -> str:
    """The bare numeral of the chord's root in the key, cased by its third: `ii`, `bVII`, `#iv`."""
    degree = (chord.root_pc - key.tonic_pc) % 12
    sharp = chord.family in (DIMINISHED, HALF_DIMINISHED) and degree in (1, 3, 6, 8, 10)
    numeral = (_SHARP_DEGREES if sharp else _FLAT_DEGREES)[degree]
    lower = chord.family in (MINOR, DIMINISHED, HALF_DIMINISHED)
    return numeral.lower() if lower else numeral


def figure(chord: Chord) -> str:
    """The quality part of a numeral: `7`, `maj7`, `ø7`, `°7`, `13`, `7alt`, `6/9`, `(maj7)`."""
    quality = chord.quality
    if chord.family == HALF_DIMINISHED:
        return "ø" + quality[1:].replace("b5", "", 1)
    if quality == "dim7":
        return "°7"
    if quality == "dim":
        return "°"
    if quality == "aug":
        return "+"
    if chord.family == MINOR and quality.startswith("m"):
        return quality[1:]
    return quality


def roman_numeral(chord: Chord, key: Key) -> str:
    """The plain (context-free) Roman numeral with its figure and slash bass degree: `ii7`, `IV/5`."""
    text = degree_numeral(chord, key) + figure(chord)
    if chord.bass:
        text += "/" + _bass_degree(chord.bass_pc, key)
    return text


def _bass_degree(pc: int, key: Key) -> str:
    interval = (pc - key.tonic_pc) % 12
    labels = {0: "1", 1: "b2", 2: "2", 3: "b3", 4: "3", 5: "4", 6: "#4", 7: "5", 8: "b6", 9: "6",
              10: "b7", 11: "7"}
    return labels[interval]



# A secondary dominant's numeral (V7/ii, V9/bVI): a V (not VI or VII) over a target numeral, not a bass
# figure (VI13/5 is a VI13 with its 5th in the bass).
_SECONDARY_RE = re.compile(r"^V(?!I)[^/]*/[b#]?[IViv]")

def analyse(chords: Sequence[Chord], key: Key) -> list[ChordFunction]:
    """Roman numeral and function of every chord, reading each against its neighbours."""
    results: list[ChordFunction] = []
    for index, chord in enumerate(chords):
        following = chords[index + 1] if index + 1 < len(chords) else None
        previous = chords[index - 1] if index > 0 else None
        results.append(_analyse_one(chord, following, key, previous))
    for index in range(len(results)):
        chord, previous = chords[index], chords[index - 1] if index > 0 else None
        if results[index].function == "chromatic" and chord.family == DIMINISHED:
            step = (chord.root_pc - previous.root_pc) % 12 if previous is not None else None
            if previous is not None and step in (1, 11):
                word = "ascending" if step == 1 else "descending"
                results[index] = ChordFunction(chord.symbol, results[index].roman,
                                               f"passing diminished ({word} from {previous.symbol})", False)
            elif step == 0 or (index + 1 < len(chords) and chords[index + 1].root_pc == chord.root_pc):
                results[index] = ChordFunction(chord.symbol, results[index].roman, "common-tone diminished",
                                               False)
    # A related ii is only recognisable once the following dominant is labelled.
    for index in range(len(results) - 1):
        chord, following, nxt = chords[index], chords[index + 1], results[index + 1]
        step = (chord.root_pc - following.root_pc) % 12
        secondary = _SECONDARY_RE.match(nxt.roman) is not None and step == 7
        if (results[index].diatonic or (results[index].function != "chromatic" and not secondary)
                or chord.family not in (MINOR, HALF_DIMINISHED)
                or following.family != DOMINANT or step not in (7, 1)):
            continue
        numeral = "iiø7" if chord.family == HALF_DIMINISHED else "ii7"
        if secondary:
            target = nxt.roman.split("/", 1)[1]
            results[index] = ChordFunction(chord.symbol, f"{numeral}/{target}", f"related ii of {target}", False)
        else:
            kind = "substitute dominant" if step == 1 else "dominant"
            results[index] = ChordFunction(chord.symbol, results[index].roman,
                                           f"related ii of the {kind} {following.symbol}", False)
    return results


def _analyse_one(chord: Chord, following: Chord | None, key: Key, previous: Chord | None = None) -> ChordFunction:
    degree = (chord.root_pc - key.tonic_pc) % 12
    diatonic = is_diatonic(chord, key)
    plain = roman_numeral(chord, key)
    resolves_fifth = following is not None and (chord.root_pc - following.root_pc) % 12 == 7
    resolves_half = following is not None and (chord.root_pc - following.root_pc) % 12 == 1
    to_tonic = following is not None and following.root_pc == key.tonic_pc
    if chord.family == DOMINANT and not diatonic and degree == 0 and resolves_fifth and following is not None:
        # I7 into IV: a blues I7 when IV7 follows, else (or when its own ii precedes it) V7/IV.
        prepared = previous is not None and previous.family == MINOR and (previous.root_pc - chord.root_pc) % 12 == 7
        if following.family != DOMINANT or prepared:
            target = degree_numeral(following, key)
            return ChordFunction(chord.symbol, f"V{_dominant_figure(chord)}/{target}",
                                 f"secondary dominant of {target}", False)
    if chord.family == DOMINANT and not diatonic and degree != 0:
        if resolves_fifth and following is not None and not to_tonic:
            target = degree_numeral(following, key)
            return ChordFunction(chord.symbol, f"V{_dominant_figure(chord)}/{target}",
                                 f"secondary dominant of {target}", False)
        if resolves_half and following is not None:
            if to_tonic:
                return ChordFunction(chord.symbol, plain, "tritone substitute for V7", False)
            target = degree_numeral(following, key)
            return ChordFunction(chord.symbol, f"subV{_dominant_figure(chord)}/{target}",
                                 f"tritone substitute resolving to {target}", False)
        if degree == 10 and (to_tonic or following is None) and not key.is_minor:
            return ChordFunction(chord.symbol, plain, "backdoor dominant", False)
        if degree == 7 and (to_tonic or following is None):  # V7b5, V7#5: altered in its fifth, still V
            return ChordFunction(chord.symbol, plain, "dominant", False)
    if chord.family == DIMINISHED and following is not None and not diatonic:
        step = (following.root_pc - chord.root_pc) % 12
        if step == 1:
            return ChordFunction(chord.symbol, plain, "passing diminished (ascending)", False)
        if step == 11:
            flat = _FLAT_DEGREES[degree].lower() + figure(chord)
            return ChordFunction(chord.symbol, flat, "passing diminished (descending)", False)
    if diatonic:
        if chord.family == DOMINANT and resolves_fifth and following is not None and not to_tonic:
            target = degree_numeral(following, key)
            return ChordFunction(chord.symbol, plain, f"diatonic dominant of {target}", True)
        return ChordFunction(chord.symbol, plain, _diatonic_function(degree, chord, key), True)
    if degree == 0 and _is_tonic_chord(chord, key):
        return ChordFunction(chord.symbol, plain, "tonic (colour tone outside the key)", False)
    if degree == 0 and chord.family == DOMINANT:
        return ChordFunction(chord.symbol, plain, "tonic (blues dominant)", False)
    if degree == 5 and chord.family == DOMINANT and not key.is_minor:
        return ChordFunction(chord.symbol, plain, "subdominant (blues dominant)", False)
    source = borrowed_from(chord, key)
    if source is not None:
        return ChordFunction(chord.symbol, plain, f"borrowed from {source.name} (modal interchange)", False)
    return ChordFunction(chord.symbol, plain, "chromatic", False)


# Parallel modes a chord may be borrowed from, most common first (minor keys borrow from major first).
_BORROWING_ORDER = ("minor", "major", "dorian", "mixolydian", "phrygian", "lydian", "locrian")


def borrowed_from(chord: Chord, key: Key) -> Key | None:
    """The parallel mode (same tonic) whose scale holds the chord's root, third, fifth and seventh, the
    parallel major or minor first; None when no mode of the tonic holds it."""
    plain = chord.without_bass() if chord.bass else chord
    order = ("major", *_BORROWING_ORDER) if key.is_minor else _BORROWING_ORDER
    for mode in dict.fromkeys(order):
        if mode != key.mode and is_diatonic(plain, Key(key.tonic, mode)):
            return Key(key.tonic, mode)
    return None


def _dominant_figure(chord: Chord) -> str:
    quality = chord.quality
    return quality if quality[:1].isdigit() else "7"


def _diatonic_function(degree: int, chord: Chord, key: Key) -> str:
    if degree == 0:
        return "tonic"
    if degree in (2, 5) or (key.is_minor and degree in (8,)):
        return "predominant"
    if degree in (7, 11) or (key.is_minor and degree == 10 and chord.family == DOMINANT):
        return "dominant"
    if degree in (3, 4, 8, 9):
        return "tonic substitute"
    if degree == 10:
        return "subtonic"
    return "diatonic"


def numeral_degree(numeral: str) -> tuple[int, bool]:
    """Semitones above the tonic for a bare numeral (`bVII` -> 10, `#iv` -> 6) and whether it is minor."""
    match = re.fullmatch(r"([b#]?)([ivIV]+)", numeral)
    if match is None:
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    accidental, letters = match.groups()
    index = _NUMERALS.index(letters.upper())
    semitones = MODES["major"][index] + (1 if accidental == "#" else -1 if accidental == "b" else 0)
    return semitones % 12, letters.islower()
