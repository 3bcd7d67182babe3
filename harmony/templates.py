"""Starting progressions for the `create` task: idiomatic templates per style and mode, fitted to a length.

Templates are written in Roman numerals (`ii7 V7 Imaj7`) and realised in the requested key, so the
search then colours a progression that is already idiomatic for the style. `fit_template` repeats a
template to the requested number of bars and ends on the tonic with the mode's cadence before it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from harmony.keys import Key, numeral_degree

_MAJOR_TEMPLATES: dict[str, tuple[str, ...]] = {
    "jazz": ("Imaj7 vi7 ii7 V7", "ii7 V7 Imaj7 Imaj7", "Imaj7 VI7 ii7 V7", "iii7 VI7 ii7 V7",
             "Imaj7 #i°7 ii7 V7", "IVmaj7 iv7 iii7 VI7", "Imaj7 I7 IVmaj7 iv7"),
    "bossa-nova": ("Imaj7 II7 ii7 V7", "Imaj7 Imaj7 ii7 V7", "ii7 V7 Imaj7 VI7", "Imaj7 vi7 ii7 V7",
                   "Imaj7 #i°7 ii7 V7", "IVmaj7 iv7 iii7 VI7"),
    "neo-soul": ("IVmaj7 iii7 ii7 Imaj7", "Imaj7 iii7 vi7 IVmaj7", "ii7 iii7 IVmaj7 V7", "IVmaj7 V7 iii7 vi7",
                 "Imaj7 IVmaj7 iii7 vi7"),
    "gospel": ("I vi7 ii7 V7", "I IV I V7", "IV iii7 ii7 I", "I I7 IV #iv°7", "I iii7 IV V7", "IV V7 iii7 vi7"),
    "pop": ("I V vi IV", "vi IV I V", "I vi IV V", "I IV vi V", "I iii IV V", "IV I V vi"),
}
_MINOR_TEMPLATES: dict[str, tuple[str, ...]] = {
    "jazz": ("iiø7 V7 i7 i7", "i7 iv7 iiø7 V7", "i7 bVImaj7 iiø7 V7", "i7 i7 iv7 V7", "i7 bVII7 bVImaj7 V7"),
    "bossa-nova": ("i7 iv7 bVII7 bIIImaj7", "i7 i7 iiø7 V7", "i7 iv7 iiø7 V7", "i7 bVImaj7 iiø7 V7"),
    "neo-soul": ("i7 iv7 bVIImaj7 bVImaj7", "i7 bIIImaj7 iv7 V7", "i7 bVImaj7 bVII7 i7", "iv7 bVII7 bIIImaj7 bVImaj7"),
    "gospel": ("i7 iv7 V7 i7", "i7 bVImaj7 iv7 V7", "i7 iv7 bVII7 bIIImaj7", "bVImaj7 bVII7 i7 i7"),
    "pop": ("i bVI bIII bVII", "i iv bVII bIII", "i bVII bVI bVII", "i bVI bVII i"),
}
# Blues forms, each with its variants (slow and quick change, the 8-bar forms); a seed picks one.
_BLUES_MAJOR_12 = ("I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7", "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7",
                   "I7 IV7 I7 I7 IV7 #iv°7 I7 VI7 ii7 V7 I7 V7")
_BLUES_MINOR_12 = ("i7 i7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7", "i7 iv7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7",
                   "i7 iv7 i7 i7 iv7 iv7 i7 bVI7 iiø7 V7 i7 V7")
# Longer blues forms go on with a jazz-blues chorus and a turnaround, so no four bars come back as they were.
_BLUES_MAJOR_MORE = "I7 VI7 ii7 V7 IV7 #iv°7 ii7 V7 iii7 VI7 ii7 V7 I7 I7 IV7 V7 I7 VI7 IV7 V7"
_BLUES_MINOR_MORE = "i7 bVI7 iiø7 V7 iv7 bVII7 i7 V7 i7 bVII7 bVI7 V7 iv7 iv7 bVI7 V7 i7 iv7 bVI7 V7"
_BLUES_MAJOR_8 = ("I7 I7 IV7 IV7 I7 V7 I7 V7", "I7 V7 IV7 IV7 I7 V7 I7 V7", "I7 IV7 I7 VI7 ii7 V7 I7 V7")
_BLUES_MINOR_8 = ("i7 i7 iv7 iv7 i7 V7 i7 V7", "i7 iv7 i7 i7 bVI7 V7 i7 V7", "i7 iv7 i7 bVI7 iiø7 V7 i7 V7")
_MODAL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "dorian": ("i7 IV7 i7 IV7", "i7 ii7 i7 IV7"),
    "mixolydian": ("I bVII IV I", "I7 bVII IV I7"),
    "lydian": ("Imaj7 II7 Imaj7 II7", "Imaj7 II vii7 Imaj7"),
    "phrygian": ("i bII i bII", "i7 bIImaj7 i7 bvii7"),
    "locrian": ("iø7 bIImaj7 iø7 bvii7",),
}
# The chord before the final tonic, by mode: the mode's characteristic cadence.
_CADENCE = {"major": "V7", "minor": "V7", "dorian": "IV7", "mixolydian": "bVII", "lydian": "II",
            "phrygian": "bII", "locrian": "bII"}
_TONIC = {"major": "I", "minor": "i", "dorian": "i7", "mixolydian": "I", "lydian": "Imaj7",
          "phrygian": "i", "locrian": "iø7"}
_NUMERAL_RE = re.compile(r"^([b#]?)(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(.*)$")


def realise(numeral: str, key: Key) -> str:
    """The chord symbol for a numeral in `key`: `ii7` in C -> `Dm7`, `bVImaj7` in C -> `Abmaj7`."""
    match = _NUMERAL_RE.match(numeral)
    if match is None:
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    accidental, letters, figure = match.groups()
    semitones, minor = numeral_degree(accidental + letters)
    if figure.startswith("ø"):
        quality = "m7b5"
    elif figure.startswith("°"):
        quality = "dim7" if "7" in figure else "dim"
    elif minor:
        quality = "m" + figure
    else:
        quality = figure
    root = key.spell(key.tonic_pc + semitones, raised=accidental == "#")
    return root + quality


def choose_template(style: str, key: Key, bars: int, rng: random.Random) -> list[str]:
    """A template (as numerals, one per bar) for the style and mode, fitted to `bars` bars."""
    if style == "blues" and key.mode in ("major", "minor"):  # a mode keeps its own scale, not the blues form
        minor = key.is_minor
        if bars < 12:
            forms = _BLUES_MINOR_8 if minor else _BLUES_MAJOR_8
            form = forms[rng.randrange(len(forms))]
        else:
            forms = _BLUES_MINOR_12 if minor else _BLUES_MAJOR_12
            form = forms[rng.randrange(len(forms))] + " " + (_BLUES_MINOR_MORE if minor else _BLUES_MAJOR_MORE)
        cells = form.split()
        return [cells[i % len(cells)] for i in range(bars)]
    if key.mode in _MODAL_TEMPLATES:
        options = _MODAL_TEMPLATES[key.mode]
    else:
        table = _MINOR_TEMPLATES if key.is_minor else _MAJOR_TEMPLATES
        options = table.get(style, table["pop"])
    openers = [option for option in options if style not in _OPEN_ON_TONIC or _opens_a_tune(option)]
    first = openers[rng.randrange(len(openers))].split()
    return fit_template(first, bars, key.mode, _variations(options, first, rng))


# Styles whose tunes open on the tonic or its ii (a jazz or bossa standard states its key first); the
# other templates still come later in a longer progression.
_OPEN_ON_TONIC = frozenset({"jazz", "bossa-nova"})


def _opens_a_tune(template: str) -> bool:
    """Whether the template starts on I (i) or on ii (iiø): a fitting first bar for a jazz or bossa tune."""
    match = _NUMERAL_RE.match(template.split()[0])
    return match is not None and not match.group(1) and match.group(2) in ("I", "i", "ii")


def _variations(options: tuple[str, ...], first: list[str], rng: random.Random) -> list[list[str]]:
    """Distinct four-bar blocks to follow the first one in a longer progression: the style's other
    templates in random order, then rotations of every template (same chords, another starting point)."""
    others = [option.split() for option in options if option.split() != first]
    rng.shuffle(others)
    rotations = [cells[shift:] + cells[:shift] for cells in (first, *others) for shift in range(1, len(cells))]
    blocks: list[list[str]] = []
    for block in (*others, *rotations):
        if block != first and block not in blocks:
            blocks.append(block)
    return blocks


def fit_template(template: list[str], bars: int, mode: str, variations: Sequence[list[str]] = ()) -> list[str]:
    """Fill `bars` bars with `template`, then with the `variations` blocks (then blocks spliced from their
    halves), and end with the mode's cadence into the tonic; no four-bar block comes back as it was where
    the blocks allow it (the last block is chosen so that its cadence does not repeat an earlier block)."""
    width = max(1, len(template))
    count = -(-bars // width)
    pool = _block_pool(template, variations, count)
    blocks = [pool[i % len(pool)] for i in range(count)]
    cadence_block = max(0, bars - 2) // width  # the block holding the chord before the final tonic
    cells: list[str] = []
    for candidate in (blocks[cadence_block], *pool[count:], *pool):
        blocks[cadence_block] = candidate
        cells = _end_on_tonic([cell for block in blocks for cell in block][:bars], mode, template)
        if not _repeats_a_block(cells, width):
            break
    return cells


def _block_pool(template: list[str], variations: Sequence[list[str]], count: int) -> list[list[str]]:
    """The template and its variations, then (while fewer than `count`) new blocks joining the first half
    of one block to the second half of another: enough distinct blocks for the longest progression.
    Blocks differing only in a chord's figure (`I` and `I7`) count as one: the search colours both alike."""
    pool: list[list[str]] = []
    for block in (template, *variations):
        if len(block) == len(template) and _bare(block) not in map(_bare, pool):
            pool.append(block)
    half = len(template) // 2
    for first, second in [(a, b) for a in list(pool) for b in list(pool)]:
        if len(pool) >= count:
            break
        joined = first[:half] + second[half:]
        if _bare(joined) not in map(_bare, pool):
            pool.append(joined)
    return pool


def _bare(cells: Sequence[str]) -> tuple[str, ...]:
    """The numerals without their figures (`I7` -> `I`), keeping the half-diminished and diminished marks."""
    bare = []
    for cell in cells:
        match = _NUMERAL_RE.match(cell)
        bare.append(cell if match is None else match.group(1) + match.group(2)
                    + "".join(mark for mark in "ø°" if mark in match.group(3)))
    return tuple(bare)


def _end_on_tonic(cells: list[str], mode: str, template: list[str]) -> list[str]:
    """`cells` ending on the mode's tonic with its cadence (or another cadential chord) before it."""
    tonic, cadence = _TONIC.get(mode, "I"), _CADENCE.get(mode, "V7")
    if len(cells) >= 2:
        cells[-1] = tonic + ("maj7" if tonic == "I" and any("maj7" in c for c in template) else "")
        if cells[-2] == cells[-1] or not _is_cadential(cells[-2], mode):
            cells[-2] = cadence
    return cells


def _repeats_a_block(cells: Sequence[str], width: int) -> bool:
    """Whether a whole block of `width` bars (bars 1-4, 5-8, ...) is the same as an earlier one (`_bare`)."""
    blocks = [_bare(cells[i:i + width]) for i in range(0, len(cells) - width + 1, width)]
    return len(set(blocks)) < len(blocks)


def _is_cadential(numeral: str, mode: str) -> bool:
    cadence = _CADENCE.get(mode, "V7")
    bare = re.sub(r"(7|maj7|ø7|°7)$", "", numeral)
    return bare == re.sub(r"(7|maj7)$", "", cadence) or bare in ("V", "bII", "bVII")
