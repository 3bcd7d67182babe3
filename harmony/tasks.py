"""The three agent tasks: validate a request, then plan its search (input progression, key, constraints).

`validate_request(task, body)` checks every field and returns the normalised request (a JSON dict with
every default filled in and the canonical chord spellings), or raises RequestValidationError listing
every bad field by name. `plan_search(request)` turns a normalised request into a SearchConfig and
the budget; `results.assemble()` builds the answer once the search is done.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmony.chords import MAX_SYMBOL_LENGTH, parse_chord, split_progression
from harmony.errors import ChordParseError, FieldError, KeyParseError, RequestValidationError
from harmony.keys import MODE_ALIASES, MODES, Key, has_explicit_mode, infer_key, parse_key
from harmony.search import SearchConfig, parse_slots
from harmony.styles import RULE_NAMES, STYLES, get_style, normalise_style_name
from harmony.templates import choose_template, realise

TASK_TYPES = ("spice-up", "reharmonize", "create")
SKILL_LEVELS = ("beginner", "intermediate", "advanced")
MIN_CHORDS, MAX_CHORDS = 2, 64
MIN_BARS, MAX_BARS, DEFAULT_BARS = 4, 32, 8
MIN_BUDGET_MS, MAX_BUDGET_MS, DEFAULT_BUDGET_MS = 50, 60_000, 1500
MAX_SEED = 2**53 - 1
MAX_NOTES = 2000
MAX_SHORT_TEXT = 200
MAX_ARTISTS = 8
MAX_ARTIST_LENGTH = 100
DEFAULT_STYLE = {"spice-up": "jazz", "reharmonize": "jazz", "create": "pop"}

_COMMON_FIELDS = ("key", "style", "notes", "budgetMs", "seed")
_FIELDS = {
    "spice-up": (*_COMMON_FIELDS, "progression", "mood", "preserveCadence", "favorCloseVoicings"),
    "reharmonize": (*_COMMON_FIELDS, "progression", "targetFeel", "lockFirstChord", "lockLastChord",
                    "allowModalInterchange", "favorCloseVoicings"),
    "create": (*_COMMON_FIELDS, "mode", "genre", "mood", "skillLevel", "bars", "referenceArtists",
               "favorCloseVoicings"),
}
_MODAL_RULES = ("style-extension", "pedal-point", "cadence-colour")
_SKILL_LIMITS = {  # max chord complexity and the rules a player at this level can use
    "beginner": (1, ("style-extension", "secondary-dominant", "modal-interchange", "cadence-colour")),
    "intermediate": (2, RULE_NAMES),
    "advanced": (3, RULE_NAMES),
}


class _Reader:
    """Reads fields of a request body, collecting one FieldError per bad field."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        self.errors.append(FieldError(field, message, allowed))

    def text(self, field: str, max_length: int, default: str | None = None,
             required: bool = False) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return default
        if not isinstance(value, str):
            self.fail(field, f"must be a string, got {_type_name(value)}")
            return default
        value = value.strip()
        if required and not value:
            self.fail(field, "must not be empty")
            return default
        if len(value) > max_length:
            self.fail(field, f"must be at most {max_length} characters, got {len(value)}")
            return default
        return value

    def flag(self, field: str, default: bool) -> bool:
        value = self.body.get(field)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false, got {_type_name(value)}")
            return default
        return value

    def integer(self, field: str, low: int, high: int, default: int | None) -> int | None:
        value = self.body.get(field)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be an integer, got {_type_name(value)}")
            return default
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}, got {value}")
            return default
        return value


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def validate_request(task: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised request for `task`, or RequestValidationError naming every invalid field."""
    if task not in TASK_TYPES:
        raise RequestValidationError([FieldError("type", f"unknown task type {task!r}", list(TASK_TYPES))])
    if not isinstance(body, Mapping):
        raise RequestValidationError([FieldError("body", "must be a JSON object")])
    reader = _Reader(body)
    request: dict[str, Any] = {"type": task}
    if task == "create":
        _read_create(reader, request)
    else:
        _read_progression_task(reader, task, request)
    request["notes"] = reader.text("notes", MAX_NOTES, default="")
    request["budgetMs"] = reader.integer("budgetMs", MIN_BUDGET_MS, MAX_BUDGET_MS, DEFAULT_BUDGET_MS)
    seed = reader.integer("seed", 0, MAX_SEED, None)
    if reader.errors:
        raise RequestValidationError(reader.errors)
    request["seed"] = seed if seed is not None else derive_seed(request)
    request["ignoredFields"] = sorted(str(k) for k in body if k not in _FIELDS[task] and k != "type")
    return request


def derive_seed(request: Mapping[str, Any]) -> int:
    """A seed that depends only on the request's content (same request, same result)."""
    canonical = json.dumps({k: v for k, v in request.items() if k not in ("seed", "ignoredFields")},
                           sort_keys=True, separators=(",", ":"))
    return int(hashlib.sha256(canonical.encode()).hexdigest()[:12], 16) % (2**31)


def _read_progression_task(reader: _Reader, task: str, request: dict[str, Any]) -> None:
    symbols, bars = _read_progression(reader)
    request["progression"] = symbols
    request["bars"] = bars
    request["key"] = _read_key(reader, required=False)
    request["style"] = _read_style(reader, "style", DEFAULT_STYLE[task])
    request["favorCloseVoicings"] = reader.flag("favorCloseVoicings", True)
    if task == "spice-up":
        request["mood"] = reader.text("mood", MAX_SHORT_TEXT, default="")
        request["preserveCadence"] = reader.flag("preserveCadence", True)
    else:
        request["targetFeel"] = reader.text("targetFeel", MAX_SHORT_TEXT, default="")
        request["lockFirstChord"] = reader.flag("lockFirstChord", True)
        request["lockLastChord"] = reader.flag("lockLastChord", True)
        request["allowModalInterchange"] = reader.flag("allowModalInterchange", True)


def _read_progression(reader: _Reader) -> tuple[list[str], list[int]]:
    value = reader.body.get("progression")
    if value is None:
        reader.fail("progression", "is required: a list of chord symbols or a string like 'Dm7 G7 | Cmaj7'")
        return [], []
    tokens: list[tuple[object, int]] = []
    if isinstance(value, str):
        if len(value) > MAX_CHORDS * (MAX_SYMBOL_LENGTH + 3):
            reader.fail("progression", "is too long")
            return [], []
        if "|" in value:
            bar = 0
            for part in value.split("|"):
                chords = split_progression(part)
                if chords:
                    tokens.extend((symbol, bar) for symbol in chords)
                    bar += 1
        else:
            tokens = [(symbol, index) for index, symbol in enumerate(split_progression(value))]
    elif isinstance(value, list):
        tokens = [(item, index) for index, item in enumerate(value)]
    else:
        reader.fail("progression", f"must be an array of chord symbols or a string, got {_type_name(value)}")
        return [], []
    if not MIN_CHORDS <= len(tokens) <= MAX_CHORDS:
        reader.fail("progression", f"must have between {MIN_CHORDS} and {MAX_CHORDS} chords, got {len(tokens)}")
        return [], []
    symbols: list[str] = []
    bars: list[int] = []
    for index, (item, bar) in enumerate(tokens):
        if not isinstance(item, str):
            reader.fail(f"progression[{index}]", f"must be a chord symbol string, got {_type_name(item)}")
            continue
        try:
            symbols.append(parse_chord(item).symbol)
            bars.append(bar)
        except ChordParseError as exc:
            reader.fail(f"progression[{index}]", f"unknown chord symbol {item!r}: {exc.reason}")
    return symbols, _renumber(bars)


def _renumber(bars: list[int]) -> list[int]:
    """Bars as 0, 1, 2 ... in order, at most two chords each (a third chord starts a new bar)."""
    result: list[int] = []
    current, count, last = -1, 0, None
    for bar in bars:
        if bar != last or count >= 2:
            current, count = current + 1, 0
        result.append(current)
        count += 1
        last = bar
    return result


def _read_key(reader: _Reader, required: bool) -> str | None:
    text = reader.text("key", 32, required=required)
    if text is None or text == "":
        return None
    try:
        return parse_key(text).name
    except KeyParseError as exc:
        reader.fail("key", f"unknown key {text!r}: {exc.reason}")
        return None


def _read_style(reader: _Reader, field: str, default: str) -> str:
    text = reader.text(field, 40)
    if text is None or text == "":
        return default
    name = normalise_style_name(text)
    if name is None:
        reader.fail(field, f"unknown style {text!r}", sorted(STYLES))
        return default
    return name


def _read_create(reader: _Reader, request: dict[str, Any]) -> None:
    key_name = _read_key(reader, required=True)
    mode_text = reader.text("mode", 20)
    mode: str | None = None
    if mode_text:
        mode = MODE_ALIASES.get(mode_text.lower()) or MODE_ALIASES.get(mode_text)
        if mode is None:
            reader.fail("mode", f"unknown mode {mode_text!r}", sorted(MODES))
    if key_name is not None:
        key = parse_key(key_name)
        if mode is not None and has_explicit_mode(str(reader.body.get("key"))) and mode != key.mode:
            reader.fail("mode", f"mode {mode!r} contradicts key {reader.body.get('key')!r}")
        elif mode is not None:
            key = Key(key.tonic, mode)
        request["key"] = key.name
        request["mode"] = key.mode
    style = reader.body.get("style")
    genre = reader.body.get("genre")
    style_name = _read_style(reader, "style", DEFAULT_STYLE["create"]) if style is not None else None
    genre_name = _read_style(reader, "genre", DEFAULT_STYLE["create"]) if genre is not None else None
    if style_name and genre_name and style_name != genre_name:
        reader.fail("genre", f"genre {genre!r} contradicts style {style!r} (genre is an alias of style)")
    request["style"] = style_name or genre_name or DEFAULT_STYLE["create"]
    request["mood"] = reader.text("mood", MAX_SHORT_TEXT, default="")
    skill = reader.text("skillLevel", 20, default="intermediate") or "intermediate"
    if skill.lower() not in SKILL_LEVELS:
        reader.fail("skillLevel", f"unknown skill level {skill!r}", list(SKILL_LEVELS))
    request["skillLevel"] = skill.lower() if skill.lower() in SKILL_LEVELS else "intermediate"
    request["bars"] = reader.integer("bars", MIN_BARS, MAX_BARS, DEFAULT_BARS)
    request["referenceArtists"] = _read_artists(reader)
    request["favorCloseVoicings"] = reader.flag("favorCloseVoicings", True)


def _read_artists(reader: _Reader) -> list[str]:
    value = reader.body.get("referenceArtists")
    if value is None:
        return []
    if not isinstance(value, list):
        reader.fail("referenceArtists", f"must be an array of strings, got {_type_name(value)}")
        return []
    if len(value) > MAX_ARTISTS:
        reader.fail("referenceArtists", f"must have at most {MAX_ARTISTS} names, got {len(value)}")
        return []
    artists = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            reader.fail(f"referenceArtists[{index}]", "must be a non-empty string")
        elif len(item) > MAX_ARTIST_LENGTH:
            reader.fail(f"referenceArtists[{index}]", f"must be at most {MAX_ARTIST_LENGTH} characters")
        else:
            artists.append(item.strip())
    return artists


# ---------------------------------------------------------------------------------------------------
# Planning.


@dataclass(frozen=True)
class SearchPlan:
    """What the search needs, plus facts for the result (was the key inferred, the template used)."""

    config: SearchConfig
    budget_ms: int
    key_inferred: bool
    template: tuple[str, ...] = ()


def plan_search(request: Mapping[str, Any]) -> SearchPlan:
    """The search configuration for a normalised request (see validate_request)."""
    task = request["type"]
    style = request["style"]
    seed = int(request["seed"])
    text_hints = " ".join(str(request.get(k) or "") for k in ("mood", "targetFeel", "notes"))
    favor_close = bool(request.get("favorCloseVoicings", True))
    if task == "create":
        key = parse_key(request["key"])
        bars = int(request["bars"])
        numerals = choose_template(style, key, bars, random.Random(seed))
        symbols = [realise(numeral, key) for numeral in numerals]
        complexity, rules = _SKILL_LIMITS[request["skillLevel"]]
        if key.mode not in ("major", "minor"):
            # Modal harmony avoids functional V-I moves: only colour, pedals and the cadence colour.
            rules = tuple(r for r in rules if r in _MODAL_RULES)
        config = SearchConfig(original=parse_slots(symbols), key=key, style=style, mood=text_hints,
                              preserve_cadence=True, allow_modal_interchange=True,
                              favor_close_voicings=favor_close, max_complexity=complexity,
                              rules=tuple(rules), seed=seed)
        return SearchPlan(config, int(request["budgetMs"]), False, tuple(numerals))
    slots = parse_slots(request["progression"], request.get("bars"))
    key_inferred = not request.get("key")
    key = infer_key([slot.chord for slot in slots]) if key_inferred else parse_key(request["key"])
    # A mode keeps its own scale: no functional V-I moves, only colour, pedals and the cadence colour.
    rules = RULE_NAMES if key.mode in ("major", "minor") else _MODAL_RULES
    if task == "spice-up":
        locked: tuple[int, ...] = ()
        preserve = bool(request.get("preserveCadence", True))
        allow_mi = True
    else:
        last = len(slots) - 1
        locks = set()
        if request.get("lockFirstChord", True):
            locks.add(0)
        if request.get("lockLastChord", True):
            locks.add(last)
        locked = tuple(sorted(locks))
        preserve = False
        allow_mi = bool(request.get("allowModalInterchange", True))
    config = SearchConfig(original=slots, key=key, style=style, mood=text_hints, locked=locked,
                          preserve_cadence=preserve, allow_modal_interchange=allow_mi,
                          favor_close_voicings=favor_close, max_complexity=3, rules=rules, seed=seed,
                          keep_alterations=task == "spice-up", keep_arrivals=task == "spice-up")
    return SearchPlan(config, int(request["budgetMs"]), key_inferred)


def voicing_costs(request: Mapping[str, Any]) -> dict[str, float]:
    """Voicing type costs for the request: the style's, or the beginner's (open and barre first; an open
    shape earns more than any move between chords costs, so a beginner gets every open chord there is)."""
    if request.get("skillLevel") == "beginner":
        return {"open": -3.0, "barre": 0.3, "triad": 0.5, "shell": 0.4, "power": 0.5, "drop2": 1.2,
                "drop3": 1.4}
    return dict(get_style(request["style"]).voicings)


ROOT_BASS_STYLES = {"bossa-nova": "root-or-fifth", "pop": "root"}


def voicing_bass(request: Mapping[str, Any]) -> str:
    """Which bass note the voicings need: the root for strummed pop and for beginners, root or fifth for
    the bossa-nova thumb, free ("") where rootless voicings are idiomatic."""
    if request.get("skillLevel") == "beginner":
        return "root"
    return ROOT_BASS_STYLES.get(str(request.get("style")), "")


def deadline_seconds(budget_ms: int, grace_s: float, llm_timeout_s: float | None) -> float:
    """How long a task may run before the orchestration fails it as timed out."""
    return math.ceil(budget_ms / 1000 + grace_s + (llm_timeout_s or 0.0))

