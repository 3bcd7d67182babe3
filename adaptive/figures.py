"""The figures the player routes report, and the one rounding both their JSON and their text use.

A rate, difficulty or probability is reported to 4 decimals (`figure`), and every sentence that
quotes one (a `reason`, a `rationale`) quotes that same figure, with `:g`-free fixed formatting
(`text`). Comparisons a sentence states (is a difficulty in a band, is a rate inside the flow zone,
did the difficulty move) are made on the reported figures, so a reader who checks the sentence
against the JSON fields beside it always finds them agreeing; the model itself keeps full precision.
"""

from __future__ import annotations

DECIMALS = 4


def figure(value: float) -> float:
    """`value` as reported: rounded to 4 decimals."""
    return round(value, DECIMALS)


def text(value: float) -> str:
    """The reported figure of `value` as it appears in a sentence (`0.4`, `0.6123`; no trailing zeros)."""
    rounded = figure(value)
    formatted = f"{rounded:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if formatted in ("-0", "") else formatted
