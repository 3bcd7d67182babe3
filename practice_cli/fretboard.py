"""A guitar voicing drawn as a small fretboard diagram in text (the domain output of the client).

Six strings, high e on top as tablature reads; each string shows `x` (muted) or `o` (open) before the nut
and the fret number where it is pressed; a header names the frets of the window shown. A window starting
at fret 1 begins at the nut, drawn `‖`; higher up the neck the first line is a plain fret `|`:

          1   2   3   4
    e x ‖---|---|---|---|
    B   ‖---|---|-3-|---|
    G   ‖---|-2-|---|---|
    D   ‖---|---|-3-|---|
    A   ‖---|---|-3-|---|
    E x ‖---|---|---|---|
"""

from __future__ import annotations

from collections.abc import Sequence

STRING_NAMES = ("E", "A", "D", "G", "B", "e")  # standard tuning, low E (string 6) first as the API lists frets
MIN_FRETS_SHOWN = 4
MAX_FRET = 24
CELL = 3  # characters between two fret wires
NUT, WIRE = "‖", "|"


def fret_window(frets: Sequence[int | None]) -> tuple[int, int]:
    """The first and last fret to draw: at least MIN_FRETS_SHOWN frets, from the nut when the shape fits there."""
    pressed = [fret for fret in frets if fret]
    if not pressed:
        return 1, MIN_FRETS_SHOWN
    low, high = min(pressed), max(pressed)
    if high <= MIN_FRETS_SHOWN:
        return 1, MIN_FRETS_SHOWN
    return low, max(high, low + MIN_FRETS_SHOWN - 1)


def _cell(fret: int | None, at: int) -> str:
    return f"{fret:-^{CELL}}" if fret == at else "-" * CELL


def diagram(frets: Sequence[int | None]) -> list[str]:
    """The lines of the diagram of `frets` (one per string, low E first, None for a muted string)."""
    if len(frets) != len(STRING_NAMES):
        raise ValueError(f"a voicing has {len(STRING_NAMES)} frets (one per string), got {len(frets)}")
    for fret in frets:
        if fret is not None and not (isinstance(fret, int) and 0 <= fret <= MAX_FRET):
            raise ValueError(f"a fret is an integer 0..{MAX_FRET} or null, got {fret!r}")
    first, last = fret_window(frets)
    shown = range(first, last + 1)
    left = NUT if first == 1 else WIRE
    lines = [" " * 5 + "".join(f"{number:^{CELL}} " for number in shown).rstrip()]
    for name, fret in reversed(list(zip(STRING_NAMES, frets, strict=True))):
        mark = "x" if fret is None else "o" if fret == 0 else " "
        lines.append(f"{name} {mark} {left}" + "".join(_cell(fret, at) + WIRE for at in shown))
    return lines
