"""A scan of the agent over random requests, every finding of the theory auditor collected by kind.

    .venv/bin/python -m tests.harmony.scan_generated --runs 500 --seed 1

Each run draws one request: spice-up or reharmonize of a random progression (any root spelling, many
qualities incl. altered dominants, sus, 6/9, diminished, half-diminished and slash chords) with or
without a key (any tonic in all seven modes, sharp and flat keys), or a create in any key, style, skill
level and bar length. The same vocabulary feeds the generated audit in test_audit_corpus.py. The scan
prints each kind of finding with its count and one example request, so a fix can target the class.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import music21

ROOTS = ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B")
QUALITIES = (
    "", "m", "7", "maj7", "m7", "6", "m6", "9", "13", "m9", "maj9",  # the everyday ones, drawn more often
    "", "m", "7", "maj7", "m7",
    "m7b5", "dim", "dim7", "aug", "11", "m11", "m13", "maj13", "6/9", "m6/9", "add9", "madd9", "5",
    "7b9", "7#9", "7#11", "7b13", "7alt", "7b9b13", "7#5#9", "13b9", "13#11", "9#11", "7b5", "7#5", "9b5",
    "7b9#11", "maj7#11", "maj9#11", "m(maj7)", "m(maj9)", "sus4", "sus2", "7sus4", "9sus4", "13sus4",
)
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
TASKS = ("spice-up", "reharmonize", "create")
STYLES = ("jazz", "bossa-nova", "neo-soul", "gospel", "blues", "pop")
SKILLS = ("beginner", "intermediate", "advanced")
BARS = (4, 8, 12, 16, 24, 32)


def real_keys() -> list[str]:
    """Every tonic spelling in every mode whose key signature has at most seven accidentals."""
    keys = []
    for tonic in ROOTS:
        for mode in MODES:
            if abs(music21.key.Key(tonic.replace("b", "-"), mode).sharps) <= 7:
                keys.append(f"{tonic} {mode}")
    return keys


KEYS = tuple(real_keys())


def random_chord(rng: random.Random) -> str:
    """One chord symbol; about one in eight over a bass note (a chord tone or a step below the root)."""
    symbol = rng.choice(ROOTS) + rng.choice(QUALITIES)
    if rng.random() < 0.125 and "/" not in symbol:
        symbol += "/" + rng.choice(ROOTS)
    return symbol


def random_request(rng: random.Random) -> tuple[dict[str, Any], list[str]]:
    """(request, input chords) for one run."""
    task = rng.choice(TASKS)
    seed = rng.randrange(10_000)
    budget = rng.choice((150, 300, 450))
    if task == "create":
        body: dict[str, Any] = {"key": rng.choice(KEYS), "style": rng.choice(STYLES),
                                "skillLevel": rng.choice(SKILLS), "bars": rng.choice(BARS)}
        return {"type": "create", **body, "seed": seed, "budgetMs": budget}, []
    symbols = [random_chord(rng) for _ in range(rng.randint(3, 10))]
    request = {"type": task, "progression": symbols, "style": rng.choice(STYLES), "seed": seed, "budgetMs": budget}
    if rng.random() < 0.6:
        request["key"] = rng.choice(KEYS)
    return request, symbols


_CHORDISH = re.compile(r"(?<![A-Za-z])[A-G](?:##|bb|#|b)?(?:[^\s,;:)'(]*)")


def kind_of(finding: str) -> str:
    """A finding with its chords, notes and numbers blanked: findings of one class share a kind."""
    text = re.sub(r"^(chord|voicing|analysis|change|timeline) \d+( \([^)]*\))?", r"\1", finding)
    text = _CHORDISH.sub("X", text)
    text = re.sub(r"\d+", "N", text)
    return re.sub(r"\b(major|minor|dorian|phrygian|lydian|mixolydian|locrian)\b", "MODE", text)


def scan(runs: int, seed: int) -> tuple[Counter[str], dict[str, tuple[dict[str, Any], str]], int]:
    """(count per kind, an example per kind, runs with at least one finding)."""
    from tests.harmony.test_audit_corpus import run_and_audit  # the test module imports this vocabulary

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    examples: dict[str, tuple[dict[str, Any], str]] = {}
    failing = 0
    for _ in range(runs):
        request, inputs = random_request(rng)
        try:
            findings = run_and_audit(request, inputs)
        except Exception as exc:  # an engine crash is a finding too, with the request that caused it
            findings = [f"crash: {type(exc).__name__}: {exc}"]
        failing += bool(findings)
        for finding in findings:
            kind = kind_of(finding)
            counts[kind] += 1
            examples.setdefault(kind, (request, finding))
    return counts, examples, failing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the kinds as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts, examples, failing = scan(args.runs, args.seed)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"runs": args.runs, "failingRuns": failing, "findings": sum(counts.values()),
                          "kinds": [{"kind": k, "count": n, "example": examples[k][1],
                                     "request": examples[k][0]} for k, n in counts.most_common()]}, indent=1))
    else:
        print(f"{args.runs} runs (seed {args.seed}, {elapsed:.0f} s): {failing} with findings, "
              f"{sum(counts.values())} findings in {len(counts)} kinds")
        for kind, count in counts.most_common():
            request, finding = examples[kind]
            print(f"\n{count:4d}  {kind}\n      e.g. {finding}\n      {json.dumps(request)}")
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
