"""The fretboard diagram: every voicing the music engine can produce reads back as the same frets."""

from __future__ import annotations

import pytest

from harmony.voicings import voicings_for
from practice_cli.fretboard import diagram, fret_window
from tests.practice_cli.terminal import diagrams


def _panel(chord: str, frets: list[int | None]) -> str:
    """The diagram boxed the way the client prints it, for the same reader the end-to-end tests use."""
    lines = diagram(frets)
    width = max(len(line) for line in lines)
    top = f"╭{'─' * 3} {chord} {'─' * (width - len(chord) - 3)}╮"
    inner = len(top) - 4
    return "\n".join([top, *(f"│ {line.ljust(inner)} │" for line in lines), "╰" + "─" * (len(top) - 2) + "╯"])


@pytest.mark.parametrize("symbol", ["C", "Am", "F", "G7", "Dm7", "Cmaj7", "Bbmaj9", "F#m7b5", "Eb7#11", "A13"])
def test_every_voicing_of_a_chord_reads_back_as_its_frets(symbol: str) -> None:
    shapes = voicings_for(symbol)
    assert shapes
    for shape in shapes:
        frets = shape.to_json()["frets"]
        assert isinstance(frets, list)
        assert diagrams(_panel(symbol, frets)) == [(symbol, frets)]


def test_open_and_muted_strings_are_marked_before_the_nut() -> None:
    lines = diagram([None, 3, 2, 0, 1, 0])  # open C major
    assert lines[0].split() == ["1", "2", "3", "4"]
    assert lines[1] == "e o ‖---|---|---|---|"
    assert lines[2] == "B   ‖-1-|---|---|---|"
    assert lines[6] == "E x ‖---|---|---|---|"


def test_a_shape_up_the_neck_starts_at_its_lowest_fret() -> None:
    assert fret_window([None, 12, 14, 13, 12, None]) == (12, 15)
    lines = diagram([8, 10, 10, 9, 8, 8])
    assert lines[0].split() == ["8", "9", "10", "11"] and "‖" not in "".join(lines)
    assert lines[4] == "D   |---|---|10-|---|"


@pytest.mark.parametrize("frets", [[0, 1, 2], [None, 3, 2, 0, 1, 25], [None, -1, 2, 0, 1, 0]])
def test_impossible_frets_are_refused(frets: list[int | None]) -> None:
    with pytest.raises(ValueError):
        diagram(frets)
