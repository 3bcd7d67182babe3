"""Run the `practice` client as a real process and read what it printed: diagrams, tables, progress frames."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

from tests.hostproc import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PANEL_TOP = re.compile(r"╭─+ (\S+) ─+╮")
STRING_LINE = re.compile(r"^│ ([eBGDAE]) ([xo ]) ([‖|])((?:[-0-9]{3}\|)+) │$")
LOW_TO_HIGH = ("E", "A", "D", "G", "B", "e")


@dataclass
class Run:
    code: int
    out: str
    err: str


def practice(url: str, *args: str, columns: int = 160, tty: bool = False, timeout: float = 120.0,
             extra_env: dict[str, str] | None = None) -> Run:
    """`python -m practice_cli --url URL ARGS...` with its output captured (as a terminal when `tty`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns), "NO_COLOR": "1", **(extra_env or {})}
    for name in ("TTY_COMPATIBLE", "PRACTICE_KEY", "PRACTICE_URL"):
        if name not in (extra_env or {}):
            env.pop(name, None)
    if tty:
        env.update(TTY_COMPATIBLE="1", TTY_INTERACTIVE="1")
    done = subprocess.run([sys.executable, "-m", "practice_cli", "--url", url, *args], cwd=str(ROOT), env=env,
                          capture_output=True, timeout=timeout, check=False)
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def diagrams(out: str) -> list[tuple[str, list[int | None]]]:
    """Every fretboard panel printed, in order (left to right, then down): its chord and frets, low E first.

    A fret is read from the column it is drawn in, checked against the fret number printed above that column.
    """
    lines = ANSI.sub("", out).splitlines()
    found: list[tuple[str, list[int | None]]] = []
    for row, line in enumerate(lines):
        for top in PANEL_TOP.finditer(line):
            left, right = top.start(), top.end()
            body = [text[left:right] for text in lines[row + 1:row + 8]]
            found.append((top.group(1), _frets(body)))
    return found


def _frets(body: list[str]) -> list[int | None]:
    header = [int(number) for number in body[0].strip("│ ").split()]
    by_string: dict[str, int | None] = {}
    for line in body[1:]:
        match = STRING_LINE.match(line)
        assert match, f"not a string of a fretboard diagram: {line!r}"
        name, mark, _nut, cells = match.groups()
        pressed = [(column, cell.strip("-")) for column, cell in enumerate(cells.split("|")[:-1]) if cell != "---"]
        assert len(pressed) <= 1, line
        if pressed:
            column, number = pressed[0]
            assert mark == " " and int(number) == header[column], (line, header)
            by_string[name] = int(number)
        else:
            assert mark in "xo", line
            by_string[name] = None if mark == "x" else 0
    return [by_string[name] for name in LOW_TO_HIGH]


def progress_percentages(out: str) -> list[int]:
    """The percentage of each frame of the progress bar a terminal was sent (redraws start with CR)."""
    frames = [ANSI.sub("", frame) for frame in out.replace("\r\n", "\n").split("\r")]
    values = []
    for frame in frames:
        match = re.search(r"[━╸╺]+\s+(\d+)%", frame)
        if match:
            values.append(int(match.group(1)))
    return values
