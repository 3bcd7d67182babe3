"""Chord symbols as guitarists write them: parse into root, quality, extensions and bass; render canonically.

Parsing is our own small grammar because lead sheets use spellings pychord rejects (`D7(b9)`, `Cm(maj7)`,
`A7alt`, `Bø7`, `C°7`, `C-7`, `CΔ7`, `Gsus`, `C6/9`); pitch arithmetic (interval -> spelled note, note ->
pitch class) is pychord's. Every parsed chord renders back to one canonical spelling (`Cmaj7`, `Dm7`,
`F#m7b5`, `Bbmaj9#11`, `Ebdim7`, `A7alt`, `G13sus4`, `D7b9`, `C6/9`, `Cm(maj7)`) that parses to the same
chord, so engine output always re-parses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from pychord import Quality
from pychord.utils import note_to_val

from harmony.errors import ChordParseError

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

MAX_SYMBOL_LENGTH = 32

_NOTE = r"[A-G](?:#|b)?"
_ROOT_RE = re.compile(rf"^({_NOTE})")
_BASS_RE = re.compile(rf"/({_NOTE})$")
# Unicode and shorthand spellings mapped to the ASCII grammar below, longest first.
_REPLACEMENTS = (
    ("♭", "b"), ("♯", "#"), ("\u2212", "-"), ("\u2013", "-"), ("Ø", "ø"), ("º", "°"), ("∆", "Δ"), ("△", "Δ"),
)
_EXT_ORDER = {"b9": 0, "9": 1, "#9": 2, "11": 3, "#11": 4, "b13": 5, "13": 6}
_ALT_EXTENSIONS = frozenset({"b9", "#9", "#11", "b13"})
_NINTHS = ("b9", "9", "#9")

# Families, used by the rules, styles and Roman numerals.
MAJOR = "major"
MINOR = "minor"
DOMINANT = "dominant"
HALF_DIMINISHED = "half-diminished"
DIMINISHED = "diminished"
AUGMENTED = "augmented"
SUSPENDED = "suspended"
POWER = "power"


@dataclass
class _Spec:
    """The chord being parsed: one slot per chord member, filled by the grammar in order."""

    third: str | None = "3"
    fifth: str | None = "5"
    seventh: str | None = None
    extensions: set[str] = field(default_factory=set)
    implied: set[str] = field(default_factory=set)
    alt: bool = False
    power: bool = False
    prefix: str = ""


@dataclass(frozen=True)
class Chord:
    """A parsed chord symbol: spelled root, canonical quality, intervals from the root, optional bass.

    `intervals` use pychord's notation ("1", "b3", "5", "b7", "9", "#11", "bb7" ...), ordered root,
    third, fifth, seventh/sixth, then extensions by degree.
    """

    root: str
    quality: str
    intervals: tuple[str, ...]
    bass: str | None = None

    @property
    def symbol(self) -> str:
        """The canonical symbol, e.g. `Bbmaj9#11` or `C/E`; a 6/9 over a bass is written `Bb69/F` so the
        page shows one slash, the bass slash."""
        if self.bass:
            return f"{self.root}{self.quality.replace('6/9', '69')}/{self.bass}"
        return f"{self.root}{self.quality}"

    def __str__(self) -> str:
        return self.symbol

    @property
    def root_pc(self) -> int:
        return note_to_val(self.root)

    @property
    def bass_pc(self) -> int:
        """The pitch class of the lowest note: the slash bass, else the root."""
        return note_to_val(self.bass) if self.bass else self.root_pc

    @functools.cached_property
    def pitch_classes(self) -> tuple[int, ...]:
        """Pitch classes of the chord tones (without a slash bass), in interval order."""
        values = _quality(self.intervals).get_components(root=self.root, visible=False)
        return tuple(value % 12 for value in values)

    @property
    def all_pitch_classes(self) -> frozenset[int]:
        """Every pitch class sounding, the slash bass included."""
        return frozenset(self.pitch_classes) | {self.bass_pc}

    @functools.cached_property
    def notes(self) -> tuple[str, ...]:
        """Spelled chord tones in interval order, e.g. `('Bb', 'D', 'F', 'A', 'C', 'E')` for Bbmaj9#11."""
        return tuple(_quality(self.intervals).get_components(root=self.root, visible=True))

    def pc_of(self, interval: str) -> int | None:
        """The pitch class of chord member `interval` (e.g. "b7"), None if the chord lacks it."""
        if interval not in self.intervals:
            return None
        return self.pitch_classes[self.intervals.index(interval)]

    @property
    def third(self) -> str | None:
        return next((i for i in self.intervals if i in ("3", "b3", "2", "4")), None)

    @property
    def fifth(self) -> str | None:
        return next((i for i in self.intervals if i in ("5", "b5", "#5")), None)

    @property
    def seventh(self) -> str | None:
        return next((i for i in self.intervals if i in ("6", "b7", "7", "bb7")), None)

    @property
    def extensions(self) -> tuple[str, ...]:
        """The tensions above the seventh: 9, b9, #9, 11, #11, 13, b13."""
        return tuple(i for i in self.intervals if i in _EXT_ORDER)

    @functools.cached_property  # pure and hot in the search (hundreds of thousands of reads per task)
    def family(self) -> str:
        """major | minor | dominant | half-diminished | diminished | augmented | suspended | power."""
        third, fifth, seventh = self.third, self.fifth, self.seventh
        if third is None and fifth == "5" and len(self.intervals) == 2:
            return POWER
        if third == "b3" and fifth == "b5":
            if seventh == "b7":
                return HALF_DIMINISHED
            return DIMINISHED
        if third == "b3":
            return MINOR
        if seventh == "b7":
            return DOMINANT
        if third in ("2", "4"):
            return SUSPENDED
        if fifth == "#5" and seventh is None:
            return AUGMENTED
        return MAJOR

    @property
    def is_dominant(self) -> bool:
        return self.family == DOMINANT

    @functools.cached_property
    def complexity(self) -> int:
        """0 triad/power, 1 seventh or sixth, 2 natural extensions (9/11/13, add9), 3 altered tensions."""
        if any(i in _ALT_EXTENSIONS for i in self.intervals) or (
            self.family == DOMINANT and self.fifth in ("b5", "#5")
        ):
            return 3
        if self.extensions:
            return 2
        if self.seventh is not None:
            return 1
        return 0

    def with_quality(self, quality: str) -> Chord:
        """The same root and bass with another quality, e.g. `Dm7` -> `Dm9`."""
        return parse_chord(f"{self.root}{quality}" + (f"/{self.bass}" if self.bass else ""))

    def without_bass(self) -> Chord:
        """The chord in root position (slash bass dropped)."""
        return parse_chord(f"{self.root}{self.quality}")


@functools.lru_cache(maxsize=4096)
def _quality(intervals: tuple[str, ...]) -> Quality:
    return Quality("".join(intervals), intervals)


def pitch_class(note: str) -> int:
    """The pitch class (0 = C) of a spelled note such as `F#` or `Bb`."""
    return note_to_val(note)


def note_name(pc: int, prefer_flats: bool) -> str:
    """A guitar-chart name for pitch class `pc` (no double accidentals, no Cb/Fb/E#/B#)."""
    return (FLAT_NAMES if prefer_flats else SHARP_NAMES)[pc % 12]


def simplify_note(name: str, prefer_flats: bool) -> str:
    """Respell double accidentals and Cb/Fb/E#/B# as the plain enharmonic, keep every other name."""
    if len(name) <= 2 and name not in ("Cb", "Fb", "E#", "B#"):
        return name
    return note_name(note_to_val(name), prefer_flats)


def interval_above(note: str, interval: str, prefer_flats: bool | None = None) -> str:
    """The note `interval` above `note`, spelled by letter (D + "5" -> A, G + "b5" -> Db, C + "#1" -> C#).

    Falls back to the plain enharmonic when letter spelling would need a double accidental; then
    `prefer_flats` (default: whether the result was flat-spelled) chooses the name.
    """
    spelled = _quality(("1", interval)).get_components(root=note, visible=True)[1]
    flats = prefer_flats if prefer_flats is not None else spelled.endswith("b")
    return simplify_note(spelled, flats)


@functools.lru_cache(maxsize=8192)
def parse_chord(symbol: str) -> Chord:
    """Parse a chord symbol as written on a lead sheet; raise ChordParseError naming it otherwise."""
    if not isinstance(symbol, str):
        raise ChordParseError(str(symbol), "a chord symbol must be a string")
    text = symbol.strip()
    if not text:
        raise ChordParseError(symbol, "empty symbol")
    if len(text) > MAX_SYMBOL_LENGTH:
        raise ChordParseError(symbol, f"longer than {MAX_SYMBOL_LENGTH} characters")
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    match = _ROOT_RE.match(text)
    if match is None:
        raise ChordParseError(symbol, "it must start with a note name A-G (optionally # or b)")
    root = match.group(1)
    rest = text[match.end():].replace(" ", "").replace("6/9", "69")
    bass: str | None = None
    bass_match = _BASS_RE.search(rest)
    if bass_match is not None:
        bass = bass_match.group(1)
        rest = rest[: bass_match.start()]
    if "/" in rest:
        raise ChordParseError(symbol, "a slash must be followed by a bass note (e.g. C/E)")
    spec = _parse_quality(symbol, rest)
    intervals = _intervals(spec)
    quality = _render(spec)
    if bass is not None and note_to_val(bass) == note_to_val(root):
        bass = None
    return Chord(root=root, quality=quality, intervals=intervals, bass=bass)


def try_parse_chord(symbol: object) -> Chord | None:
    """Parse `symbol` or return None, for repairing untrusted input such as an LLM plan."""
    if not isinstance(symbol, str):
        return None
    try:
        return parse_chord(symbol)
    except ChordParseError:
        return None


def _split_parentheses(symbol: str, text: str) -> tuple[str, list[str]]:
    """`7(b9,#11)` -> ("7", ["b9", "#11"]): parenthesised groups become a list of modifiers."""
    base: list[str] = []
    modifiers: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            if depth:
                raise ChordParseError(symbol, "nested parentheses")
            depth = 1
            current = ""
        elif char == ")":
            if not depth:
                raise ChordParseError(symbol, "unbalanced ')'")
            depth = 0
            modifiers.extend(part for part in re.split(r"[,;/ ]+", current) if part)
        elif depth:
            current += char
        else:
            base.append(char)
    if depth:
        raise ChordParseError(symbol, "unbalanced '('")
    return "".join(base), modifiers


# Prefixes in the order they are tried; each sets the third/fifth/seventh slots.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ø7", "half-dim"), ("ø", "half-dim"),
    ("dim7", "dim7"), ("°7", "dim7"), ("o7", "dim7"), ("dim", "dim"), ("°", "dim"),
    ("mmaj", "minmaj"), ("mMaj", "minmaj"), ("mM", "minmaj"), ("-Δ", "minmaj"), ("mΔ", "minmaj"),
    ("maj", "maj"), ("Maj", "maj"), ("MA", "maj"), ("Ma", "maj"), ("ma", "maj"), ("Δ", "maj"),
    ("min", "min"), ("mi", "min"), ("m", "min"), ("-", "min"),
    ("M", "maj"), ("j", "maj"),
    ("aug", "aug"), ("+", "aug"),
)
_NUMBER_RE = re.compile(r"^(69|13|11|9|7|6|5|2)")
_MODIFIER_RE = re.compile(
    r"^(alt|sus4|sus2|sus|add[b#]?(?:13|11|9|6|4|2)|(?:no|omit)[35]|[b#+-](?:13|11|9|5)"
    r"|maj(?:13|11|9|7)|13|11|9)"
)


def _parse_quality(symbol: str, text: str) -> _Spec:
    spec = _Spec()
    base, modifiers = _split_parentheses(symbol, text)
    if base == "o":
        base = "°"
    if base.startswith("o7"):
        base = "°7" + base[2:]
    rest = _apply_prefix(symbol, spec, base)
    rest = _apply_number(symbol, spec, rest)
    tokens: list[str] = []
    while rest:
        match = _MODIFIER_RE.match(rest)
        if match is None:
            raise ChordParseError(symbol, f"unrecognised {rest!r} in the quality")
        tokens.append(match.group(1))
        rest = rest[match.end():]
    for token in [*tokens, *modifiers]:
        _apply_modifier(symbol, spec, token)
    _check(symbol, spec)
    return spec


def _apply_prefix(symbol: str, spec: _Spec, text: str) -> str:
    if text == "":
        return ""
    if text == "5":
        spec.power, spec.third = True, None
        return ""
    if text == "alt":
        text = "7alt"
    for prefix, kind in _PREFIXES:
        if not text.startswith(prefix):
            continue
        rest = text[len(prefix):]
        if prefix in ("ma", "Ma", "MA", "j", "M") and not (rest[:1].isdigit() or (prefix == "M" and not rest)):
            continue  # "madd9" is minor add9, "Ma"/"j" only abbreviate maj before a number
        if kind == "maj":
            # "CΔ" and "Cmaj" alone: Δ means maj7, "maj"/"M" alone is the plain triad.
            if rest[:1].isdigit():
                spec.prefix = "maj"
            elif prefix == "Δ":
                spec.seventh = "7"
        elif kind == "minmaj":
            spec.third, spec.prefix = "b3", "maj"
            if not rest[:1].isdigit():
                spec.seventh = "7"
        elif kind == "min":
            spec.third = "b3"
        elif kind == "half-dim":
            spec.third, spec.fifth, spec.seventh = "b3", "b5", "b7"
        elif kind == "dim7":
            spec.third, spec.fifth, spec.seventh = "b3", "b5", "bb7"
        elif kind == "dim":
            spec.third, spec.fifth, spec.prefix = "b3", "b5", "dim"
        elif kind == "aug":
            spec.fifth = "#5"
        return rest
    return text


def _apply_number(symbol: str, spec: _Spec, text: str) -> str:
    match = _NUMBER_RE.match(text)
    if match is None:
        if spec.prefix == "maj" and text.startswith(("Δ",)):
            raise ChordParseError(symbol, "repeated major-seventh sign")
        return text
    if spec.seventh is not None:
        raise ChordParseError(symbol, f"unexpected {match.group(1)!r} after the seventh")
    number = match.group(1)
    rest = text[match.end():]
    if number == "5":
        raise ChordParseError(symbol, "'5' is only a power chord on its own (e.g. E5)")
    if number == "2":
        if spec.prefix:
            raise ChordParseError(symbol, "'2' cannot follow a quality prefix; write add9")
        spec.extensions.add("9")
        return rest
    if number in ("6", "69"):
        if spec.prefix == "dim":
            raise ChordParseError(symbol, f"'{number}' cannot follow 'dim'")
        spec.seventh = "6"
        if number == "69":
            spec.extensions.add("9")
        return rest
    if spec.prefix == "dim":
        if number != "7":
            raise ChordParseError(symbol, "diminished chords take only a 7 (dim7)")
        spec.seventh = "bb7"
        return rest
    spec.seventh = "7" if spec.prefix == "maj" else "b7"
    _imply_extensions(spec, number)
    return rest


def _imply_extensions(spec: _Spec, number: str) -> None:
    """A 9, 11 or 13 chord implies the tensions below it (13 skips the 11 unless the third is minor)."""
    implied: set[str] = set()
    if number in ("9", "11", "13"):
        implied.add("9")
    if number == "11" or (number == "13" and spec.third == "b3"):
        implied.add("11")
    if number == "13":
        implied.add("13")
    spec.extensions |= implied
    spec.implied |= implied


def _apply_modifier(symbol: str, spec: _Spec, token: str) -> None:
    if token == "alt":
        if spec.third != "3" or spec.seventh not in (None, "b7"):
            raise ChordParseError(symbol, "'alt' applies to a dominant seventh chord")
        spec.alt, spec.seventh, spec.fifth = True, "b7", None
        spec.extensions = set(_ALT_EXTENSIONS)
    elif token.startswith("sus"):
        if spec.third != "3" or spec.prefix == "dim" or spec.fifth == "b5":
            raise ChordParseError(symbol, "only a major-third chord can be suspended")
        spec.third = "2" if token == "sus2" else "4"
    elif token.startswith("add"):
        _apply_add(symbol, spec, token[3:])
    elif token.startswith(("no", "omit")):
        if token.endswith("3"):
            spec.third = None
        else:
            spec.fifth = None
    elif token.startswith("maj"):
        if spec.seventh is not None:
            raise ChordParseError(symbol, f"{token!r} after another seventh")
        spec.seventh = "7"
        _imply_extensions(spec, token[3:])
    elif token in ("9", "11", "13"):
        if spec.seventh is None:
            raise ChordParseError(symbol, f"tension {token} needs a seventh; write add{token}")
        spec.extensions.add(token)
    else:
        _apply_alteration(symbol, spec, token.replace("+", "#").replace("-", "b"))


def _apply_add(symbol: str, spec: _Spec, degree: str) -> None:
    if degree in ("2", "9"):
        spec.extensions.add("9")
    elif degree in ("4", "11"):
        spec.extensions.add("11")
    elif degree in ("6", "13"):
        if spec.seventh is None:
            spec.seventh = "6"
        else:
            spec.extensions.add("13")
    elif degree in ("b9", "#9", "#11", "b13"):
        spec.extensions.add(degree)
    else:
        raise ChordParseError(symbol, f"cannot add {degree!r}")


def _apply_alteration(symbol: str, spec: _Spec, token: str) -> None:
    if token in ("b5", "#5"):
        spec.fifth = token
        return
    if token not in _ALT_EXTENSIONS:
        raise ChordParseError(symbol, f"unsupported alteration {token!r}")
    natural = token[1:]
    if natural in spec.implied or natural in spec.extensions:
        spec.extensions.discard(natural)
        spec.implied.discard(natural)
    spec.extensions.add(token)


def _check(symbol: str, spec: _Spec) -> None:
    if spec.power and (spec.extensions or spec.seventh):
        raise ChordParseError(symbol, "a power chord takes no other notes")
    if spec.seventh == "bb7" and spec.extensions:
        raise ChordParseError(symbol, "tensions on a diminished seventh chord are not supported")
    if spec.third == "b3" and spec.fifth == "#5" and spec.seventh is None:
        raise ChordParseError(symbol, "minor augmented triad is not a standard chord")
    if "9" in spec.extensions and ("b9" in spec.extensions or "#9" in spec.extensions) and not spec.alt:
        # b9 with a natural 9 only arises from "9b9"-style typos.
        raise ChordParseError(symbol, "natural and altered ninth together")


def _intervals(spec: _Spec) -> tuple[str, ...]:
    if spec.power:
        return ("1", "5")
    members = ["1"]
    for member in (spec.third, spec.fifth, spec.seventh):
        if member is not None:
            members.append(member)
    members.extend(sorted(spec.extensions, key=_EXT_ORDER.__getitem__))
    return tuple(members)


def _render(spec: _Spec) -> str:
    """The canonical quality of a parsed chord (the inverse of the grammar above)."""
    if spec.power:
        return "5"
    third, fifth, seventh, ext = spec.third, spec.fifth, spec.seventh, set(spec.extensions)
    if spec.alt or (third == "3" and seventh == "b7" and fifth is None and ext == set(_ALT_EXTENSIONS)):
        return "7alt"
    if third == "b3" and fifth == "b5" and seventh == "bb7":
        return "dim7"
    if third == "b3" and fifth == "b5" and seventh is None and not ext:
        return "dim"
    if third == "3" and fifth == "#5" and seventh is None and not ext:
        return "aug"
    minor = third == "b3"
    head, used = _render_core(minor, seventh, ext)
    tail = ""
    if fifth in ("b5", "#5"):
        tail += fifth
    for tension in sorted(ext - used, key=_EXT_ORDER.__getitem__):
        if tension in ("9", "11", "13"):
            tail += f"add{tension}"
        else:
            tail += tension
    sus = {"2": "sus2", "4": "sus4"}.get(third or "", "")
    omit = ("no3" if third is None else "") + ("no5" if fifth is None else "")
    prefix = "m" if minor else ""
    if minor and seventh == "7":
        return f"m({head}){tail}{omit}"
    return f"{prefix}{head}{sus}{tail}{omit}"


def _render_core(minor: bool, seventh: str | None, ext: set[str]) -> tuple[str, set[str]]:
    """The number part (`7`, `maj9`, `13`, `6/9`, ``) and the tensions it implies."""
    if seventh is None:
        return "", set()
    if seventh == "6":
        return ("6/9", {"9"}) if "9" in ext else ("6", set())
    word = "maj" if seventh == "7" else ""
    has_ninth = any(n in ext for n in _NINTHS)
    natural_ninth = "9" in ext
    # The highest number whose implied tensions are all present (an altered 9 stands in for the 9).
    if "13" in ext and has_ninth and (not minor or "11" in ext):
        implied = {"13", "11"} if minor else {"13"}
        return f"{word}13", implied | ({"9"} if natural_ninth else set())
    if "11" in ext and has_ninth:
        return f"{word}11", {"11"} | ({"9"} if natural_ninth else set())
    if natural_ninth:
        return f"{word}9", {"9"}
    return f"{word}7", set()


def split_progression(text: str) -> list[str]:
    """Split a progression written as text (`Dm7 G7 | Cmaj7`) into symbols; bars and spaces separate."""
    return [token for token in re.split(r"[\s|]+", text) if token]
