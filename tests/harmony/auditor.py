"""An independent theory auditor of agent results: music21 is the reference, nothing is shared with harmony/.

`audit(request, result)` returns findings (one readable sentence each) for everything a result claims
that is not true of its own final chords:

- chords: every symbol is read by the auditor's own grammar (written here from lead-sheet conventions,
  cross-checked against music21's ChordSymbol where music21 reads the symbol), has one slash at most,
  and, where an input chord was not kept, its root is spelled for the key;
- voicings: the notes come from the frets in standard tuning (E2 A2 D3 G3 B3 E4), are chord tones
  spelled by letter, carry the right degree labels, keep the chord-defining tones (3rd, 7th or 6th,
  the b5 of half-diminished and diminished chords, the #5 of augmented ones, the named tension), have
  no minor-9th clash except the b9 over a dominant's root, put the slash bass (or, for root-bass
  styles and beginners, the root) lowest and no tension or 6th in the bass, and give beginners open
  shapes where an open chord exists;
- analysis: Roman numerals measure the root against the tonic, V/x and subV/x name the chord that
  follows, "diatonic", "borrowed from" and "chromatic" agree with the scales music21 builds;
- changes: one record per final difference, `to` is the final chord, every interval, resolution,
  substitution relation, guide tone, bass line, borrowed colour and added or removed tension named in
  the explanation holds between the final chords; spice-up keeps the user's alterations and
  reharmonize names those it removed;
- modes and minor keys: a modal tonic keeps to the mode, dominants resolving to minor chords take no
  natural 9th or 13th;
- structure: bar and beat on every chord, the opening tonic and cadence arrivals kept by spice-up,
  no duplicate adjacent change, no four-bar block repeated in a long create.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import music21

OPEN_STRINGS = {6: "E2", 5: "A2", 4: "D3", 3: "G3", 2: "B3", 1: "E4"}
ROOT_BASS_STYLES = frozenset({"bossa-nova", "pop"})
_NOTE = r"[A-G](?:##|bb|#|b)?"
_SYMBOL = re.compile(rf"^({_NOTE})(.*?)(?:/({_NOTE}))?$")
# Qualities by base, each the music21 interval names above the root (jazz convention: a dominant or
# major 13 has no 11th, a minor 13 has it; a dominant 11 keeps its 3rd, as music21's dominant-11th does,
# though a voicing may sound the 11th in its place).
_BASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("m(maj9)", ("P1", "m3", "P5", "M7", "M9")), ("m(maj7)", ("P1", "m3", "P5", "M7")),
    ("maj13", ("P1", "M3", "P5", "M7", "M9", "M13")), ("maj9", ("P1", "M3", "P5", "M7", "M9")),
    ("maj7", ("P1", "M3", "P5", "M7")), ("m13", ("P1", "m3", "P5", "m7", "M9", "P11", "M13")),
    ("m11", ("P1", "m3", "P5", "m7", "M9", "P11")), ("m9", ("P1", "m3", "P5", "m7", "M9")),
    ("m7", ("P1", "m3", "P5", "m7")), ("m6/9", ("P1", "m3", "P5", "M6", "M9")),
    ("m69", ("P1", "m3", "P5", "M6", "M9")), ("m6", ("P1", "m3", "P5", "M6")),
    ("madd9", ("P1", "m3", "P5", "M9")), ("dim7", ("P1", "m3", "d5", "d7")), ("dim", ("P1", "m3", "d5")),
    ("m", ("P1", "m3", "P5")), ("aug", ("P1", "M3", "A5")), ("6/9", ("P1", "M3", "P5", "M6", "M9")),
    ("69", ("P1", "M3", "P5", "M6", "M9")), ("6", ("P1", "M3", "P5", "M6")),
    ("13sus4", ("P1", "P4", "P5", "m7", "M9", "M13")), ("9sus4", ("P1", "P4", "P5", "m7", "M9")),
    ("7sus4", ("P1", "P4", "P5", "m7")), ("sus4", ("P1", "P4", "P5")), ("sus2", ("P1", "M2", "P5")),
    ("7alt", ("P1", "M3", "m7", "m9", "A9", "A11", "m13")), ("13", ("P1", "M3", "P5", "m7", "M9", "M13")),
    ("11", ("P1", "M3", "P5", "m7", "M9", "P11")), ("9", ("P1", "M3", "P5", "m7", "M9")),
    ("7", ("P1", "M3", "P5", "m7")), ("add9", ("P1", "M3", "P5", "M9")), ("5", ("P1", "P5")),
    ("", ("P1", "M3", "P5")),
)
_ALTERATIONS = {"b9": "m9", "#9": "A9", "#11": "A11", "b13": "m13", "b5": "d5", "#5": "A5"}
_REPLACES = {"m9": ("M9",), "A9": ("M9",), "A11": ("P11",), "m13": ("M13",), "d5": ("P5",), "A5": ("P5",)}
ALTERED = frozenset({"m9", "A9", "A11", "m13", "d5", "A5"})
TENSIONS = frozenset({"m9", "M9", "A9", "P11", "A11", "m13", "M13"})
# What explanations call each tone (the words the engine may use, all checked against the chords).
_TONE_WORDS = {"b9": "m9", "9th": "M9", "#9": "A9", "11th": "P11", "#11": "A11", "b13": "m13", "13th": "M13",
               "6th": "M6", "major 7th": "M7", "7th": "m7", "b5": "d5", "#5": "A5", "5th": "P5",
               "3rd": "M3", "minor 3rd": "m3", "suspended 4th": "P4", "suspended 2nd": "M2",
               "diminished 7th": "d7"}
# Open-position chords every beginner learns (standard tuning) whose open shape passes this auditor's own
# checks: not Emaj7, whose open shape 0-2-1-1-0-0 puts D# a minor 9th under the top E.
_OPEN_CHORDS = {
    "C", "Cmaj7", "C7", "Cadd9", "D", "Dm", "D7", "Dmaj7", "Dm7", "Dsus2", "Dsus4", "E", "Em", "E7", "Em7",
    "Esus4", "E7sus4", "G", "G7", "Gmaj7", "G6", "A", "Am", "A7", "Am7", "Amaj7", "Asus2", "Asus4",
    "A7sus4", "Fmaj7", "B7", "E5", "A5", "D5",
}


@dataclass(frozen=True)
class Tones:
    """A chord read by the auditor: its root, music21 interval name -> spelled pitch, and the bass."""

    symbol: str
    root: music21.pitch.Pitch
    tones: dict[str, music21.pitch.Pitch]
    bass: music21.pitch.Pitch | None
    quality: str

    @property
    def pcs(self) -> set[int]:
        return {p.pitchClass for p in self.tones.values()}

    @property
    def all_pcs(self) -> set[int]:
        return self.pcs | ({self.bass.pitchClass} if self.bass is not None else set())

    @property
    def core(self) -> set[int]:
        return {p.pitchClass for name, p in self.tones.items() if name not in TENSIONS}

    @property
    def bass_pc(self) -> int:
        return (self.bass or self.root).pitchClass

    def has(self, *names: str) -> bool:
        return any(name in self.tones for name in names)

    @property
    def family(self) -> str:
        t = self.tones
        if "m3" in t and "d5" in t:
            return "half-diminished" if "m7" in t else "diminished"
        if "m3" in t:
            return "minor"
        if "m7" in t and "M3" in t:
            return "dominant"
        if "m7" in t and ("P4" in t or "M2" in t):
            return "suspended-dominant"
        if "P4" in t or "M2" in t:
            return "suspended"
        if "P5" in t and len(t) == 2:
            return "power"
        return "major"

    @property
    def is_dominant(self) -> bool:
        return self.family in ("dominant", "suspended-dominant")


def m21(name: str) -> music21.pitch.Pitch:
    """A music21 pitch from a lead-sheet note name (`Bb`, `F#`, `Ebb`)."""
    return music21.pitch.Pitch(name[0] + name[1:].replace("b", "-"))


def lead_name(pitch: music21.pitch.Pitch) -> str:
    return pitch.name.replace("-", "b")


def semitones_up(low: music21.pitch.Pitch, high: music21.pitch.Pitch) -> int:
    """Semitones from `low` up to `high`, mod 12, measured by music21."""
    return int(music21.interval.Interval(low, high).semitones) % 12


@lru_cache(maxsize=4096)
def read_chord(symbol: str) -> Tones | None:
    """The auditor's reading of a chord symbol, None if it does not read as one."""
    if symbol.count("/") > (2 if "6/9" in symbol else 1) or ("6/9" in symbol and symbol.count("/") == 2):
        return None  # `Bb6/9/F` is ambiguous on the page
    match = _SYMBOL.match(symbol)
    if match is None:
        return None
    root_name, quality, bass_name = match.groups()
    rest = quality
    base = next(((b, names) for b, names in _BASES if rest.startswith(b) and _tail_ok(rest[len(b):])), None)
    if base is None:
        return None
    names = list(base[1])
    tail = rest[len(base[0]):]
    for token in re.findall(r"[b#](?:13|11|9|5)", tail):
        new = _ALTERATIONS[token]
        names = [n for n in names if n not in _REPLACES[new]] + [new]
    root = m21(root_name)
    tones = {name: music21.interval.Interval(name).transposePitch(root) for name in names}
    return Tones(symbol, root, tones, m21(bass_name) if bass_name else None, quality)


def _tail_ok(tail: str) -> bool:
    return re.fullmatch(r"(?:[b#](?:13|11|9|5))*", tail) is not None


def music21_disagrees(chord: Tones) -> str | None:
    """music21's own reading of the symbol, where it has one, as a finding if its notes differ."""
    figure = chord.symbol.split("/")[0] if "6/9" not in chord.symbol else None
    if figure is None or chord.quality in ("7alt",) or "sus" in chord.quality or "m(" in chord.quality \
            or "69" in chord.quality \
            or ("13" in chord.quality and re.search(r"[b#](?:9|11|5)", chord.quality)):
        return None  # music21 drops every alteration of a 13th chord: it reads F13#11 and F13b9 as F13
    try:
        reference = music21.harmony.ChordSymbol(lead_to_m21_figure(figure))
    except Exception:  # music21 does not read every jazz spelling; our grammar covers those
        return None
    theirs = {p.pitchClass for p in reference.pitches}
    ours = chord.pcs
    if "13" in chord.quality and chord.family != "minor":  # music21's 13 stacks the 11th too
        theirs.discard((chord.root.pitchClass + 5) % 12)
    if theirs != ours:
        return f"{chord.symbol}: auditor reads {sorted(ours)}, music21 reads {sorted(theirs)}"
    return None


def lead_to_m21_figure(symbol: str) -> str:
    """`Bb7#11` -> `B-7#11`: music21 writes the flat of a root as `-`."""
    accidental = symbol[1:2] if symbol[1:2] in ("b", "#") else ""
    return symbol[0] + accidental.replace("b", "-") + symbol[1 + len(accidental):]


# ---------------------------------------------------------------------------------------------------
# Keys.


@dataclass(frozen=True)
class KeyInfo:
    tonic: music21.pitch.Pitch
    mode: str
    scale: tuple[music21.pitch.Pitch, ...]

    @property
    def pcs(self) -> set[int]:
        return {p.pitchClass for p in self.scale}

    @property
    def harmonic(self) -> set[int]:
        extra = {(self.tonic.pitchClass + 11) % 12} if self.mode == "minor" else set()
        return self.pcs | extra

    @property
    def minor_third(self) -> bool:
        return self.mode in ("minor", "dorian", "phrygian", "locrian")

    def spelled(self, pc: int) -> str | None:
        return next((lead_name(p) for p in self.scale if p.pitchClass == pc), None)


@lru_cache(maxsize=128)
def read_key(name: str) -> KeyInfo:
    tonic, mode = name.split()
    key = music21.key.Key(tonic.replace("b", "-") if len(tonic) > 1 else tonic, mode)
    return KeyInfo(m21(tonic), mode, tuple(key.getPitches()[:7]))


def mode_scale(tonic: music21.pitch.Pitch, mode: str) -> set[int]:
    name = tonic.name
    return {p.pitchClass for p in music21.key.Key(name, mode).getPitches()}


# ---------------------------------------------------------------------------------------------------
# The audit.


@dataclass
class Result:
    request: Mapping[str, Any]
    result: Mapping[str, Any]
    findings: list[str]

    def add(self, where: str, message: str) -> None:
        self.findings.append(f"{where}: {message}")


def audit(request: Mapping[str, Any], result: Mapping[str, Any], inputs: Sequence[str] = ()) -> list[str]:
    """Every finding for one result of the task `request` (see the module docstring)."""
    report = Result(request, result, [])
    progression = list(result["progression"])
    key = read_key(str(result["key"]))
    if request.get("key") and str(request["key"]).lower() != str(result["key"]).lower() \
            and read_key(str(request["key"])) != key:
        report.add("key", f"the request asked for {request['key']}, the result is in {result['key']}")
    chords = []
    for index, symbol in enumerate(progression):
        chord = read_chord(symbol)
        if chord is None:
            report.add(f"chord {index + 1}", f"{symbol!r} does not read as one chord symbol")
            return report.findings
        disagreement = music21_disagrees(chord)
        if disagreement:
            report.add(f"chord {index + 1}", disagreement)
        if symbol not in inputs:
            _check_root_spelling(report, f"chord {index + 1}", chord, key, _user_spellings(inputs))
        chords.append(chord)
    timeline = _check_timeline(report, progression, result)
    _check_voicings(report, request, result, chords)
    _check_analysis(report, result, chords, key)
    _check_changes(report, request, result, chords, key, list(inputs), timeline)
    _check_modes(report, request, result, chords, key, list(inputs))
    _check_structure(report, request, result, chords, key, list(inputs), timeline)
    _check_texts(report, result, key, set(progression) | set(inputs), _user_spellings(inputs))
    return report.findings


def _user_spellings(inputs: Sequence[str]) -> set[str]:
    """The note names the user wrote as roots and basses (a recoloured Abm7 stays Abm9 in F# minor)."""
    names = set()
    for symbol in inputs:
        chord = read_chord(symbol.replace("6/9/", "69/"))  # `Bb6/9/F` is readable in a request
        if chord is not None:
            names.add(lead_name(chord.root))
            if chord.bass is not None:
                names.add(lead_name(chord.bass))
    return names


def _check_root_spelling(report: Result, where: str, chord: Tones, key: KeyInfo, user: set[str]) -> None:
    for pitch in (chord.root, chord.bass):
        if pitch is None:
            continue
        expected = key.spelled(pitch.pitchClass)
        if expected is not None and expected != lead_name(pitch) and lead_name(pitch) not in user:
            report.add(where, f"{chord.symbol} spells {lead_name(pitch)}, which is {expected} in {_key_name(key)}")
        if "##" in pitch.name or "--" in pitch.name:
            report.add(where, f"{chord.symbol} needs a double accidental")


def _key_name(key: KeyInfo) -> str:
    return f"{lead_name(key.tonic)} {key.mode}"


def _check_timeline(report: Result, progression: Sequence[str], result: Mapping[str, Any]) -> list[dict[str, Any]]:
    timeline = result.get("timeline")
    if not isinstance(timeline, list) or len(timeline) != len(progression):
        report.add("timeline", "the result chords carry no bar and beat")
        return []
    last = (0, 0)
    per_bar: dict[int, int] = {}
    for index, (entry, symbol) in enumerate(zip(timeline, progression, strict=True)):
        if entry.get("chord") != symbol:
            report.add(f"timeline {index + 1}", f"names {entry.get('chord')}, the progression has {symbol}")
        place = (int(entry.get("bar", 0)), int(entry.get("beat", 0)))
        if place <= last or not 1 <= place[1] <= 4:
            report.add(f"timeline {index + 1}", f"bar {place[0]} beat {place[1]} is not after bar {last[0]} "
                                                 f"beat {last[1]}")
        last = place
        per_bar[place[0]] = per_bar.get(place[0], 0) + 1
    start = 0
    for section in result.get("sections", []):
        count = len(section["chords"])
        entries = timeline[start:start + count]
        start += count
        if [e["chord"] for e in entries] != list(section["chords"]):
            report.add("sections", f"{section['focus']!r} lists {section['chords']}, not the next chords in order")
            continue
        match = re.match(r"Bars? (\d+)(?:-(\d+))?", str(section.get("focus", "")))
        bars = sorted({int(entry["bar"]) for entry in entries})
        if match and bars and (bars[0], bars[-1]) != (int(match.group(1)), int(match.group(2) or match.group(1))):
            report.add("sections", f"{section['focus']!r} does not match its chords' bars {bars}")
    return list(timeline)


# Voicings --------------------------------------------------------------------------------------------


def _check_voicings(report: Result, request: Mapping[str, Any], result: Mapping[str, Any],
                    chords: Sequence[Tones]) -> None:
    voicings = result.get("voicings") or []
    if len(voicings) != len(chords):
        report.add("voicings", f"{len(voicings)} voicings for {len(chords)} chords")
        return
    style = str(result.get("metadata", {}).get("style", request.get("style", "")))
    beginner = request.get("skillLevel") == "beginner"
    for index, (voicing, chord) in enumerate(zip(voicings, chords, strict=True)):
        where = f"voicing {index + 1} ({chord.symbol} {voicing.get('tab')})"
        if voicing.get("chord") != chord.symbol:
            report.add(where, f"labelled {voicing.get('chord')}")
        for problem in voicing_problems(chord, voicing, style, beginner):
            report.add(where, problem)


def voicing_problems(chord: Tones, voicing: Mapping[str, Any], style: str, beginner: bool) -> list[str]:
    """What is wrong with one voicing of `chord`, read from its frets."""
    problems: list[str] = []
    frets = voicing["frets"]
    notes: list[tuple[int, music21.pitch.Pitch]] = []
    for string, fret in zip((6, 5, 4, 3, 2, 1), frets, strict=True):
        if fret is not None:
            notes.append((string, music21.pitch.Pitch(midi=music21.pitch.Pitch(OPEN_STRINGS[string]).midi + fret)))
    tab = "-".join("x" if f is None else str(f) for f in frets)
    if voicing.get("tab") != tab:
        problems.append(f"tab {voicing.get('tab')} is not the frets {tab}")
    strings = voicing.get("strings") or []
    if len(strings) != len(notes):
        problems.append("the listed strings are not the fretted ones")
    by_pc = {p.pitchClass: (name, p) for name, p in chord.tones.items()}
    for (string, pitch), listed in zip(notes, strings, strict=False):
        if listed.get("midi") != pitch.midi or listed.get("string") != string:
            problems.append(f"string {string}: listed as MIDI {listed.get('midi')}, the fret gives {pitch.midi}")
        named = str(listed.get("note"))
        if m21(named).pitchClass != pitch.pitchClass:
            problems.append(f"string {string}: {named} is not the note {pitch.name} that sounds")
        member = by_pc.get(pitch.pitchClass)
        if member is None:
            if chord.bass is None or chord.bass.pitchClass != pitch.pitchClass:
                problems.append(f"string {string}: {lead_name(pitch)} is not a tone of {chord.symbol}")
            continue
        expected = lead_name(member[1])
        plain = music21.pitch.Pitch(midi=member[1].midi).name.replace("-", "b")
        if named not in (expected, plain if ("##" in member[1].name or "--" in member[1].name) else expected):
            problems.append(f"string {string}: {named} should be spelled {expected} in {chord.symbol}")
    if not notes:
        return ["no notes"]
    pcs = {p.pitchClass for _, p in notes}
    problems.extend(_missing_tones(chord, pcs))
    problems.extend(_clashes(chord, notes))
    problems.extend(_bass_problems(chord, notes, style, beginner))
    if beginner and _open_name(chord) in _OPEN_CHORDS:
        fretted = [f for f in frets if f]
        if 0 not in frets or (fretted and max(fretted) > 4):
            problems.append(f"a beginner gets a closed shape although {chord.symbol} has an open one")
    return problems


def _open_name(chord: Tones) -> str:
    return chord.symbol


def _missing_tones(chord: Tones, pcs: set[int]) -> list[str]:
    tones = chord.tones
    required: list[str] = [n for n in ("M3", "m3", "P4", "M2", "m7", "M7", "M6", "d7", "d5", "A5") if n in tones]
    if "P11" in tones and "M3" in tones:
        required = [n for n in required if n != "M3"]  # a dominant 11 may sound the 11th in place of the 3rd
    if chord.family == "power":
        required = ["P1", "P5"]
    missing = [n for n in required if tones[n].pitchClass not in pcs]
    problems = [f"lacks its {n} ({lead_name(tones[n])})" for n in missing]
    named = _named_tension(chord)
    if named and not any(tones[n].pitchClass in pcs for n in named):
        problems.append(f"lacks the tension its name promises ({', '.join(named)})")
    return problems


def _named_tension(chord: Tones) -> list[str]:
    if chord.quality == "7alt":
        return ["m9", "A9", "A11", "m13"]
    altered = [n for n in chord.tones if n in ("m9", "A9", "A11", "m13")]
    if altered:
        return altered
    for number, name in (("13", "M13"), ("11", "P11"), ("9", "M9")):
        if number in re.sub(r"[b#](13|11|9)", "", chord.quality) and name in chord.tones:
            return [name]
    return []


def _forced_over_bass(chord: Tones, low: music21.pitch.Pitch, high: music21.pitch.Pitch) -> bool:
    """Whether `high` is a tone the name demands (root, 3rd, 7th or 6th, altered 5th, named tension; a power
    chord's 5th) a half step above the slash bass `low`: C/B in a descending line, the 9th of A#m9/B. No
    voicing of such a chord avoids that minor 9th, so it is the chord's sound, not a clash."""
    if chord.bass is None or low.pitchClass != chord.bass.pitchClass or chord.bass.pitchClass == chord.root.pitchClass:
        return False
    if (high.pitchClass - low.pitchClass) % 12 != 1:
        return False
    demanded = ["P1", "M3", "m3", "P4", "M2", "m7", "M7", "M6", "d7", "d5", "A5", *_named_tension(chord)]
    if chord.family == "power":
        demanded = ["P1", "P5"]
    return any(chord.tones[n].pitchClass == high.pitchClass for n in demanded if n in chord.tones)


def _clashes(chord: Tones, notes: Sequence[tuple[int, music21.pitch.Pitch]]) -> list[str]:
    problems = []
    root_pc = chord.root.pitchClass
    for (_, low), (_, high) in itertools.combinations(sorted(notes, key=lambda n: n[1].midi), 2):
        span = high.midi - low.midi
        if span >= 13 and span % 12 == 1:
            dominant_b9 = chord.is_dominant and low.pitchClass == root_pc and "m9" in chord.tones
            if not (dominant_b9 or _forced_over_bass(chord, low, high)):
                problems.append(f"minor-9th clash {lead_name(low)} under {lead_name(high)}")
    return problems


def _bass_problems(chord: Tones, notes: Sequence[tuple[int, music21.pitch.Pitch]], style: str,
                   beginner: bool) -> list[str]:
    string, lowest = min(notes, key=lambda n: n[1].midi)
    if chord.bass is not None:
        return [] if lowest.pitchClass == chord.bass.pitchClass else [f"the slash bass {lead_name(chord.bass)} "
                                                                       f"is not the lowest note"]
    names = {p.pitchClass: name for name, p in chord.tones.items()}
    role = names.get(lowest.pitchClass, "?")
    if role == "P1" or (role == "P5" and style == "bossa-nova"):
        return []
    if (style in ROOT_BASS_STYLES or beginner) and string >= 4:
        return [f"{lead_name(lowest)} ({role}) in the bass where the style wants the root"]
    if role in TENSIONS and string >= 5:
        return [f"the tension {lead_name(lowest)} ({role}) is the lowest note"]
    if role in ("M6",) or (string >= 5 and role not in ("M3", "m3", "m7", "M7", "P5")):
        return [f"{lead_name(lowest)} ({role}) in the bass reads as another chord"]
    if string == 6:
        return [f"{lead_name(lowest)} ({role}) on the low E string is an unlabelled inversion"]
    return []


# Analysis ----------------------------------------------------------------------------------------------

_DEGREES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}


def numeral_semitones(numeral: str) -> tuple[int, bool] | None:
    match = re.match(r"^([b#]?)(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)", numeral)
    if match is None:
        return None
    accidental, letters = match.groups()
    value = _DEGREES[letters.upper()] + {"b": -1, "#": 1, "": 0}[accidental]
    return value % 12, letters.islower()


def _degree(chord: Tones, key: KeyInfo) -> int:
    return semitones_up(key.tonic, chord.root)


def _functions(chords: Sequence[Tones], index: int, key: KeyInfo) -> list[str]:
    """The functions the auditor can justify for a chord that is outside the key."""
    chord = chords[index]
    nxt = chords[index + 1] if index + 1 < len(chords) else None
    prev = chords[index - 1] if index > 0 else None
    found = []
    if nxt is not None:
        down = semitones_up(nxt.root, chord.root)
        if chord.is_dominant and down in (7, 1):
            found.append("dominant")
        if chord.family in ("minor", "half-diminished") and nxt.is_dominant and down in (7, 1):
            found.append("related ii")
        if chord.family == "diminished" and semitones_up(chord.root, nxt.root) in (1, 11, 0):
            found.append("passing diminished")
    if prev is not None and chord.family == "diminished" and semitones_up(prev.root, chord.root) in (0, 1, 11):
        found.append("passing diminished")
    for mode in ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian"):
        scale = _scale_for(key.tonic, mode)
        if chord.core <= scale:
            found.append(f"borrowed from {mode}")
    if nxt is not None and chord.is_dominant is False and nxt.is_dominant:
        found.append("approach")
    return found


def _scale_for(tonic: music21.pitch.Pitch, mode: str) -> set[int]:
    """The pitch classes of a mode on `tonic`; "minor" includes the harmonic minor's leading tone."""
    if mode == "minor":
        return mode_scale(tonic, "minor") | {(tonic.pitchClass + 11) % 12}
    if mode == "melodic minor":
        return {(tonic.pitchClass + s) % 12 for s in (0, 2, 3, 5, 7, 9, 11)}
    if mode == "harmonic minor":
        return {(tonic.pitchClass + s) % 12 for s in (0, 2, 3, 5, 7, 8, 11)}
    return mode_scale(tonic, mode)


def _check_analysis(report: Result, result: Mapping[str, Any], chords: Sequence[Tones], key: KeyInfo) -> None:
    analysis = result.get("analysis") or []
    if len(analysis) != len(chords):
        report.add("analysis", f"{len(analysis)} entries for {len(chords)} chords")
        return
    for index, (item, chord) in enumerate(zip(analysis, chords, strict=True)):
        where = f"analysis {index + 1} ({chord.symbol} = {item.get('roman')}, {item.get('function')})"
        nxt = chords[index + 1] if index + 1 < len(chords) else None
        roman, function = str(item.get("roman", "")), str(item.get("function", ""))
        head = roman
        secondary = re.match(r"^(?:sub)?(V|ii|iiø)[^/]*?/([b#]?[IViv]+)$", roman.replace("6/9", "69"))
        if secondary and nxt is not None:
            target = numeral_semitones(secondary.group(2))
            wanted = 1 if roman.startswith("sub") else 7
            if roman.startswith("ii") and not nxt.is_dominant:
                report.add(where, "a related ii before a chord that is not a dominant")
            elif not roman.startswith("ii") and semitones_up(nxt.root, chord.root) != wanted:
                report.add(where, f"{chord.symbol} does not resolve into {nxt.symbol} as {roman} says")
            if target is not None and not roman.startswith("ii") and target[0] != _degree(nxt, key):
                report.add(where, f"{nxt.symbol} is not {secondary.group(2)} of {_key_name(key)}")
        else:
            numeral = numeral_semitones(head)
            if numeral is None:
                report.add(where, "the Roman numeral does not read")
            else:
                if numeral[0] != _degree(chord, key):
                    report.add(where, f"{chord.symbol}'s root is not degree {head} of {_key_name(key)}")
                if numeral[1] != (chord.family in ("minor", "half-diminished", "diminished")):
                    report.add(where, "the numeral's case does not match the chord's third")
        core_in_key = chord.core <= (key.harmonic if key.mode == "minor" else key.pcs)
        if bool(item.get("diatonic")) != core_in_key:
            report.add(where, f"diatonic={item.get('diatonic')} but its tones are "
                              f"{'all' if core_in_key else 'not all'} in {_key_name(key)}")
        _check_function_words(report, where, function, chords, index, key)


def _check_function_words(report: Result, where: str, function: str, chords: Sequence[Tones], index: int,
                          key: KeyInfo) -> None:
    chord = chords[index]
    nxt = chords[index + 1] if index + 1 < len(chords) else None
    borrowed = re.search(r"borrowed from ([A-G][#b]?) (\w+)", function)
    if borrowed:
        source = _scale_for(m21(borrowed.group(1)), borrowed.group(2))
        if not chord.core <= source:
            report.add(where, f"{chord.symbol} is not in {borrowed.group(1)} {borrowed.group(2)}")
        if chord.core <= key.pcs:
            report.add(where, f"{chord.symbol} belongs to {_key_name(key)}; nothing is borrowed")
    if function == "chromatic":
        justified = [f for f in _functions(chords, index, key) if f != "approach"]
        if justified:
            report.add(where, f"called chromatic, but it is {justified[0]}")
    if "tritone substitute" in function and (nxt is None or not chord.is_dominant
                                             or semitones_up(nxt.root, chord.root) != 1):
        report.add(where, "not a dominant a half step above the next chord")
    if function.startswith("secondary dominant") and (nxt is None or semitones_up(nxt.root, chord.root) != 7):
        report.add(where, "not a fifth above the next chord")
    if function.startswith("passing diminished") and chord.family != "diminished":
        report.add(where, "not a diminished chord")
    if function == "tonic" and _degree(chord, key) != 0:
        report.add(where, "called tonic but its root is not the tonic")


# Changes -----------------------------------------------------------------------------------------------

_CHORD_IN_TEXT = r"([A-G][#b]?(?:[^\s:;,()]|\([^()\s]*\))*?)(?=[\s:;,)]|\.(?:\s|$)|$)"


def _check_changes(report: Result, request: Mapping[str, Any], result: Mapping[str, Any],
                   chords: Sequence[Tones], key: KeyInfo, inputs: Sequence[str],
                   timeline: Sequence[Mapping[str, Any]]) -> None:
    progression = list(result["progression"])
    task = request.get("type")
    for change in result.get("changes") or []:
        index = int(change["index"])
        where = f"change {index + 1} ({change.get('from')} -> {change.get('to')}, {change.get('rule')})"
        if not 0 <= index < len(progression) or change["to"] != progression[index]:
            report.add(where, "`to` is not the final chord at its index")
            continue
        if change.get("from") == change["to"]:
            report.add(where, "a chord that ends where it started is reported as a change")
        if change.get("from") and inputs and not any(_same_chord(change["from"], i) for i in inputs):
            report.add(where, f"{change['from']} is not an input chord")
        for problem in claim_problems(change, progression, key, _user_spellings(inputs)):
            report.add(where, problem)
        old = read_chord(change["from"]) if change.get("from") else None
        new = chords[index]
        if old is not None:
            removed = [n for n, p in old.tones.items() if n in ALTERED and p.pitchClass not in new.all_pcs]
            if removed and task == "spice-up":
                report.add(where, f"spice-up removed the user's {', '.join(removed)}")
            if removed and task == "reharmonize":
                text = change["explanation"]
                words = [w for w, n in _TONE_WORDS.items() if n in removed and w in text]
                if not re.search(r"remov|drop|leaves out|gives up", text) or not words:
                    report.add(where, f"removes {', '.join(removed)} without saying so")
        for other in (index - 1, index + 1):
            if 0 <= other < len(progression) and progression[other] == change["to"] \
                    and not _repeated_in_input(timeline, inputs, index, other):
                report.add(where, f"{change['to']} repeats its neighbour, which the input did not")


def _same_chord(written: str, user: str) -> bool:
    """Whether `written` is the user's chord `user`, as written or in canonical notation: a slash bass
    that doubles the root (`F#add9/Gb`) adds no note, so `F#add9` names the same chord, and the user's
    `Dbm6/9/C` (ambiguous in a result, readable in a request) is written `Dbm69/C`."""
    if written == user:
        return True
    ours, theirs = read_chord(written), read_chord(user.replace("6/9/", "69/"))
    return (ours is not None and theirs is not None and ours.all_pcs == theirs.all_pcs
            and ours.bass_pc == theirs.bass_pc and ours.root.pitchClass == theirs.root.pitchClass)


def _repeated_in_input(timeline: Sequence[Mapping[str, Any]], inputs: Sequence[str], a: int, b: int) -> bool:
    """Whether the chords at result positions a and b stand for two equal input chords (Cm7 | Cm7)."""
    if not timeline:
        return False
    first, second = timeline[a].get("input"), timeline[b].get("input")
    if first is None or second is None:
        return False
    return not inputs or inputs[int(first)] == inputs[int(second)]  # a create's template is not known here


def claim_problems(change: Mapping[str, Any], progression: Sequence[str], key: KeyInfo,
                   user: set[str] | None = None) -> list[str]:
    """Every claim of one explanation that is false of the final progression (`user`: the note names the
    user wrote, which texts may keep)."""
    user = user or set()
    problems: list[str] = []
    index, text = int(change["index"]), str(change["explanation"])
    here = read_chord(progression[index])
    after = read_chord(progression[index + 1]) if index + 1 < len(progression) else None
    before = read_chord(progression[index - 1]) if index > 0 else None
    assert here is not None
    for phrase, semitones in (("slides down a half step into ", 1), ("resolves down a fifth to ", 7),
                              ("slides down a half step to ", 1)):
        for name in re.findall(re.escape(phrase) + _CHORD_IN_TEXT, text):
            target = read_chord(name)
            if after is None or name != after.symbol:
                problems.append(f"names {name} as the next chord, but it is {after.symbol if after else 'none'}")
            elif target is not None and semitones_up(target.root, here.root) != semitones:
                problems.append(f"claims '{phrase.strip()}' from {here.symbol} to {name}")
    if "from a whole step below" in text and (after is None or semitones_up(here.root, after.root) != 2):
        problems.append("claims a whole step up to the next chord")
    substitute = re.search(r"tritone substitute of " + _CHORD_IN_TEXT, text)
    if substitute:
        replaced = read_chord(substitute.group(1))
        if replaced is None or semitones_up(replaced.root, here.root) != 6:
            problems.append(f"{here.symbol} is not a tritone from {substitute.group(1)}")
        elif key.spelled(replaced.root.pitchClass) not in (None, lead_name(replaced.root)) \
                and lead_name(replaced.root) not in user:
            problems.append(f"{substitute.group(1)} is spelled against {_key_name(key)}")
        guides = re.search(r"guide tones (\S+?)(?: \(= \S+\))? and (\S+?)(?: \(= \S+\))?[;:.,]", text)
        if replaced is not None and guides:
            expected = [lead_name(replaced.tones[n]) for n in ("M3", "m7") if n in replaced.tones]
            if list(guides.groups()) != expected:
                problems.append(f"guide tones {' and '.join(guides.groups())}, but {replaced.symbol} has "
                                f"{' and '.join(expected)}")
            if not {m21(g).pitchClass for g in guides.groups()} <= here.pcs:
                problems.append(f"{here.symbol} does not hold the guide tones {guides.groups()}")
    third = re.search(r"its third (\S+)(?: \(= \S+\))? leads up a half step to (\S+?)[,.;]?(?:\s|$)", text)
    if third:
        spelled = lead_name(here.tones["M3"]) if "M3" in here.tones else None
        if spelled != third.group(1):
            problems.append(f"the third of {here.symbol} is {spelled}, not {third.group(1)}")
        if after is None or semitones_up(m21(third.group(1)), after.root) != 1 \
                or lead_name(after.root) != third.group(2):
            problems.append(f"{third.group(1)} does not lead a half step up to the next root")
    seventh = re.search(r"its 7th \((\S+?)\) falling to the 5th of the tonic", text)
    if seventh:
        fifth = (key.tonic.pitchClass + 7) % 12
        if "m7" not in here.tones or lead_name(here.tones["m7"]) != seventh.group(1) \
                or (m21(seventh.group(1)).pitchClass - fifth) % 12 not in (1, 2):
            problems.append(f"{seventh.group(1)} is not the 7th of {here.symbol} falling to the tonic's 5th")
    line = re.search(r"(climbs|walks down) by half steps \(([^)]*)\)", text)
    if line:
        notes = [m21(n) for n in line.group(2).split("-")]
        step = 1 if line.group(1) == "climbs" else 11
        if any(semitones_up(a, b) != step for a, b in itertools.pairwise(notes)):
            problems.append(f"the bass line {line.group(2)} is not by half steps")
        basses = [c.bass_pc for c in (before, here, after) if c is not None]
        if [n.pitchClass for n in notes] != basses:
            problems.append(f"the bass line {line.group(2)} is not the bass of the chords")
    rootless = re.search(r"rootless (\S+?)7b9", text)
    if rootless:
        dominant = read_chord(rootless.group(1) + "7b9")
        if dominant is None or not here.pcs <= dominant.pcs or after is None \
                or semitones_up(after.root, dominant.root) != 7:
            problems.append(f"{here.symbol} is not a rootless {rootless.group(1)}7b9 resolving to the next chord")
        elif key.spelled(dominant.root.pitchClass) not in (None, rootless.group(1)):
            problems.append(f"{rootless.group(1)} is spelled against {_key_name(key)}")
    problems.extend(_tone_claims(change, text, here))
    problems.extend(_borrowing_claims(text, here, key))
    problems.extend(_pair_claims(text, here, before, after, progression, index))
    return problems


def _tone_claims(change: Mapping[str, Any], text: str, here: Tones) -> list[str]:
    problems = []
    old = read_chord(str(change["from"])) if change.get("from") else None
    added = re.search(r"(?:colours [^:]*? with|\):) the ([^:;]+?)(?: \(leaving out [^)]*\))?(?: is| are|:)", text)
    if added and old is not None:
        for word in re.split(r", | and ", added.group(1)):
            name = _TONE_WORDS.get(word.strip())
            if name is None:
                continue
            if name not in here.tones:
                problems.append(f"says it adds the {word}, which {here.symbol} lacks")
            elif name in old.tones and here.tones[name].pitchClass in old.pcs:
                problems.append(f"says it adds the {word}, which {old.symbol} already had")
    leaves = re.search(r"leav(?:es|ing) out the ([^).;]+)", text)
    if leaves and old is not None:
        for word in re.split(r", | and ", leaves.group(1)):
            name = _TONE_WORDS.get(word.strip())
            if name is not None and (name not in old.tones or old.tones[name].pitchClass in here.all_pcs):
                problems.append(f"says it leaves out the {word}, but it does not")
    if "same chord tones" in text and old is not None and old.all_pcs != here.all_pcs:
        problems.append(f"'the same chord tones', but {old.symbol} and {here.symbol} differ")
    if "root and function stay" in text and old is not None and (
            old.root.pitchClass != here.root.pitchClass or _function_group(old) != _function_group(here)):
        problems.append(f"'root and function stay', but {old.symbol} -> {here.symbol} changes them")
    shared = re.search(r"they share ([^.]+)\.", text)
    if shared and old is not None:
        for name in shared.group(1).split(", "):
            if m21(name).pitchClass not in here.all_pcs or m21(name).pitchClass not in old.all_pcs:
                problems.append(f"says they share {name}")
    return problems


def _function_group(chord: Tones) -> str:
    """Families that can stand for each other as colours of one function (a sus dominant is a dominant)."""
    return {"suspended-dominant": "dominant", "suspended": "dominant", "major": "dominant"}.get(chord.family,
                                                                                             chord.family)


def _borrowing_claims(text: str, here: Tones, key: KeyInfo) -> list[str]:
    problems = []
    borrowed = re.search(r"is borrowed from ([A-G][#b]?) (major|minor|dorian|phrygian|lydian|mixolydian|locrian)"
                         r"(?: / ([A-G][#b]?) (\w+))?", text)
    if borrowed:
        scales = [_scale_for(m21(borrowed.group(1)), borrowed.group(2))]
        if borrowed.group(3):
            scales.append(_scale_for(m21(borrowed.group(3)), borrowed.group(4)))
        if not any(here.core <= s for s in scales):
            problems.append(f"{here.symbol} is not in {borrowed.group(0)[len('is borrowed from '):]}")
        if here.core <= key.pcs:
            problems.append(f"{here.symbol} is diatonic to {_key_name(key)}, nothing is borrowed")
    colour = re.search(r"its (\S+(?:, \S+)*) is the borrowed colour", text)
    if colour:
        for name in colour.group(1).split(", "):
            pitch = m21(name)
            if pitch.pitchClass not in here.pcs or pitch.pitchClass in key.pcs:
                problems.append(f"{name} is not a note of {here.symbol} outside the key")
    return problems


def _pair_claims(text: str, here: Tones, before: Tones | None, after: Tones | None, progression: Sequence[str],
                 index: int) -> list[str]:
    problems = []
    related = re.search(r"is the related ii of " + _CHORD_IN_TEXT, text)
    if related and (after is None or related.group(1) != after.symbol
                    or semitones_up(after.root, here.root) != 7):
        problems.append(f"{here.symbol} is not a fifth above the next chord {related.group(1)}")
    falls = re.search(r"the 7th of \S+ \((\S+?)\) falls a half step to the 3rd of", text)
    if falls and after is not None:
        third = after.tones.get("M3")
        if third is None or semitones_up(third, m21(falls.group(1))) != 1:
            problems.append(f"{falls.group(1)} does not fall a half step to the 3rd of {after.symbol}")
    if "form a ii-subV" in text and (after is None or semitones_up(after.root, here.root) != 1):
        problems.append("a ii-subV whose dominant is not a half step below")
    if "both roots slide down by half step" in text:
        nxt2 = read_chord(progression[index + 2]) if index + 2 < len(progression) else None
        if after is None or nxt2 is None or semitones_up(nxt2.root, after.root) != 1:
            problems.append("the roots do not both slide down by half step")
    links = re.search(r"links " + _CHORD_IN_TEXT + r" and " + _CHORD_IN_TEXT, text)
    if links and (before is None or after is None or links.group(1) != before.symbol
                  or links.group(2) != after.symbol):
        problems.append(f"says it links {links.group(1)} and {links.group(2)}, which are not its neighbours")
    pedal = re.search(r"keeps the tonic (\S+) in the bass", text)
    if pedal and (here.bass is None or lead_name(here.bass) != pedal.group(1)):
        problems.append(f"{here.symbol} has no {pedal.group(1)} in the bass")
    inserted = re.search(r"is inserted before " + _CHORD_IN_TEXT, text)
    if inserted and (after is None or inserted.group(1) != after.symbol):
        problems.append(f"not inserted before {inserted.group(1)}")
    return problems


# Modes, minor keys and structure ---------------------------------------------------------------------


def _check_modes(report: Result, request: Mapping[str, Any], result: Mapping[str, Any], chords: Sequence[Tones],
                 key: KeyInfo, inputs: Sequence[str]) -> None:
    modal = key.mode not in ("major", "minor")
    user = [c for c in (read_chord(s) for s in inputs) if c is not None]
    for index, chord in enumerate(chords):
        if chord.symbol in inputs:
            continue
        where = f"chord {index + 1} ({chord.symbol})"
        written = {pc for c in user if c.root.pitchClass == chord.root.pitchClass for pc in c.pcs}
        outside = sorted(lead_name(p) for p in chord.tones.values()
                         if p.pitchClass not in key.pcs and p.pitchClass not in written)
        if modal and chord.root.pitchClass == key.tonic.pitchClass and outside:
            report.add(where, f"the {_key_name(key)} tonic sounds {', '.join(outside)}, outside the mode")
        if modal and request.get("type") == "create" and not chord.core <= key.pcs:
            report.add(where, f"not in {_key_name(key)}")
        nxt = chords[index + 1] if index + 1 < len(chords) else None
        into_minor = (nxt.family in ("minor", "half-diminished") and semitones_up(nxt.root, chord.root) == 7
                      if nxt is not None else key.mode == "minor" and _degree(chord, key) == 7)
        if chord.is_dominant and into_minor and chord.has("M9", "M13"):
            report.add(where, "a dominant resolving to a minor chord takes a natural 9th or 13th")


def _check_structure(report: Result, request: Mapping[str, Any], result: Mapping[str, Any],
                     chords: Sequence[Tones], key: KeyInfo, inputs: Sequence[str],
                     timeline: Sequence[Mapping[str, Any]]) -> None:
    task = request.get("type")
    if task == "create" and len(timeline) == len(chords) and len(chords) >= 12:
        blocks: dict[int, list[str]] = {}
        for entry in timeline:
            blocks.setdefault((int(entry["bar"]) - 1) // 4, []).append(str(entry["chord"]))
        seen: dict[tuple[str, ...], int] = {}
        for number, block in sorted(blocks.items()):
            signature = tuple(block)
            if signature in seen:
                report.add("structure", f"bars {4 * number + 1}-{4 * number + 4} repeat bars "
                                        f"{4 * seen[signature] + 1}-{4 * seen[signature] + 4}")
            seen.setdefault(signature, number)
    if task != "spice-up" or not inputs or len(timeline) != len(chords):
        return
    by_input = {int(e["input"]): i for i, e in enumerate(timeline) if e.get("input") is not None}
    ins = [read_chord(s) for s in inputs]
    for position, chord in enumerate(ins):
        if chord is None or position not in by_input:
            continue
        now = chords[by_input[position]]
        opening = position == 0 and chord.root.pitchClass == key.tonic.pitchClass and not chord.is_dominant
        previous = ins[position - 1] if position > 0 else None
        arrival = (previous is not None and previous.is_dominant and not chord.is_dominant
                   and semitones_up(chord.root, previous.root) == 7)
        if (opening or arrival) and (now.root.pitchClass != chord.root.pitchClass or now.is_dominant):
            kind = "opening tonic" if opening else "arrival chord"
            report.add(f"chord {by_input[position] + 1}", f"the {kind} {chord.symbol} became {now.symbol}")
        following = ins[position + 1] if position + 1 < len(ins) else None
        resolving = chord.is_dominant and following is not None and semitones_up(following.root, chord.root) in (7, 1)
        over_root = now.bass is not None and now.bass.pitchClass == chord.root.pitchClass  # Dm7/G is a V11
        if resolving and not (now.is_dominant or now.family in ("diminished", "suspended") or over_root):
            report.add(f"chord {by_input[position] + 1}", f"the dominant {chord.symbol} lost its function "
                                                          f"({now.symbol})")


_WORD_CHORD = re.compile(r"(?<![\w#/])([A-G](?:#|b)?(?:maj|m|dim|aug|sus|add|\d)[\w#()/]*)")


def _check_texts(report: Result, result: Mapping[str, Any], key: KeyInfo, known: set[str], user: set[str]) -> None:
    """Every chord named in any text is spelled for the key (unless the user or the result spells it so)."""
    for where, text in _texts(result):
        for name in _WORD_CHORD.findall(text):
            name = name.rstrip(".,;:)")
            chord = read_chord(name)
            if chord is None or name in known:
                continue
            expected = key.spelled(chord.root.pitchClass)
            if expected is not None and expected != lead_name(chord.root) and lead_name(chord.root) not in user:
                report.add(where, f"names {name}, spelled {expected} in {_key_name(key)}")


def _texts(result: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    yield "summary", str(result.get("summary", ""))
    for index, change in enumerate(result.get("changes") or []):
        yield f"change {index + 1} text", str(change.get("explanation", ""))
    for index, section in enumerate(result.get("sections") or []):
        for field in ("description",):
            yield f"section {index + 1}", str(section.get(field, ""))
        for tip in [*section.get("voicingTips", []), *section.get("techniqueTips", [])]:
            yield f"section {index + 1} tip", str(tip)
    for idea in result.get("practiceIdeas") or []:
        yield "practice idea", str(idea)
