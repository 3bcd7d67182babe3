"""Anytime, steppable, deterministic search for the best reharmonisation.

The search is a beam of the `BEAM_WIDTH` best distinct progressions found so far (the input is the
first). Each iteration picks a parent from the beam, applies one rule chosen in proportion to the
style's weight for it (or undoes one change), rejects results that break a constraint, scores the rest
and keeps them if they beat the beam's worst (one per chord sequence). The best progression ever seen
is kept apart, so its score never decreases: stop after any step and you hold the best answer so far.

Determinism. Iteration `i` draws from `random.Random(f"{seed}:{i}")`, so an iteration does not depend
on how the iterations were split into steps, and a step carries nothing forward but the serialised
state (no per-step memory of seen candidates, which once made a starved step change the answer).
`step(state, max_ms)` runs at most
`iterations_per_step` iterations; `max_ms` is only a safety valve (if a step is starved of CPU it
returns early and the next step carries on from the same iteration). The result therefore depends on
the input and the seed only, never on wall-clock timing, as long as the caller keeps stepping until
`done`.

Budget. `budgetMs` buys `ceil(budgetMs / STEP_NOMINAL_MS)` steps (at most `MAX_STEPS`) of
`iterations_per_step` iterations, which is sized by progression length so a step costs roughly
10-100 ms of CPU. The search also finishes early once the best has not improved for
`STAGNATION_LIMIT` iterations (again a count, not a time).
"""

from __future__ import annotations

import itertools
import math
import random
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harmony.chords import DIMINISHED, DOMINANT, parse_chord
from harmony.errors import SearchStateError
from harmony.keys import Key, is_diatonic
from harmony.rules import (
    RULES,
    Progression,
    RuleContext,
    Slot,
    colour_context,
    violations,
    weighted_choice,
)
from harmony.styles import RULE_NAMES, STYLES, with_mood
from harmony.voicings import pc_distance

STATE_VERSION = 1
STEP_NOMINAL_MS = 150
MAX_STEPS = 100
BEAM_WIDTH = 6
WORK_PER_STEP = 1600
MIN_ITERATIONS_PER_STEP = 16
MAX_ITERATIONS_PER_STEP = 200
STAGNATION_LIMIT = 1200
REVERT_PROBABILITY = 0.12


def steps_for_budget(budget_ms: int) -> int:
    """How many search steps a time budget buys: one per STEP_NOMINAL_MS, between 1 and MAX_STEPS."""
    return max(1, min(MAX_STEPS, math.ceil(budget_ms / STEP_NOMINAL_MS)))


def iterations_per_step(length: int) -> int:
    """Iterations per step for a progression of `length` chords (each costs about O(length))."""
    return max(MIN_ITERATIONS_PER_STEP, min(MAX_ITERATIONS_PER_STEP, WORK_PER_STEP // max(4, length)))


@dataclass(frozen=True)
class SearchConfig:
    """What the search needs to know, serialisable: the input, the key, the style and constraints."""

    original: tuple[Slot, ...]
    key: Key
    style: str
    mood: str = ""
    locked: tuple[int, ...] = ()
    preserve_cadence: bool = True
    allow_modal_interchange: bool = True
    favor_close_voicings: bool = True
    max_complexity: int = 3
    rules: tuple[str, ...] = RULE_NAMES
    seed: int = 0
    keep_alterations: bool = False
    keep_arrivals: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "original": [slot.to_json() for slot in self.original],
            "key": {"tonic": self.key.tonic, "mode": self.key.mode},
            "style": self.style,
            "mood": self.mood,
            "locked": list(self.locked),
            "preserveCadence": self.preserve_cadence,
            "allowModalInterchange": self.allow_modal_interchange,
            "favorCloseVoicings": self.favor_close_voicings,
            "maxComplexity": self.max_complexity,
            "rules": list(self.rules),
            "seed": self.seed,
            "keepAlterations": self.keep_alterations,
            "keepArrivals": self.keep_arrivals,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchConfig:
        return cls(
            original=tuple(Slot.from_json(item) for item in data["original"]),
            key=Key(str(data["key"]["tonic"]), str(data["key"]["mode"])),
            style=str(data["style"]),
            mood=str(data.get("mood", "")),
            locked=tuple(int(i) for i in data.get("locked", ())),
            preserve_cadence=bool(data.get("preserveCadence", True)),
            allow_modal_interchange=bool(data.get("allowModalInterchange", True)),
            favor_close_voicings=bool(data.get("favorCloseVoicings", True)),
            max_complexity=int(data.get("maxComplexity", 3)),
            rules=tuple(str(r) for r in data.get("rules", RULE_NAMES)),
            seed=int(data.get("seed", 0)),
            keep_alterations=bool(data.get("keepAlterations", False)),
            keep_arrivals=bool(data.get("keepArrivals", False)),
        )

    def context(self) -> RuleContext:
        """The rule context for this configuration (style adjusted by the mood words)."""
        style = with_mood(STYLES[self.style], self.mood)
        return RuleContext(
            key=self.key, style=style, original=self.original, locked=frozenset(self.locked),
            preserve_cadence=self.preserve_cadence, allow_modal_interchange=self.allow_modal_interchange,
            max_complexity=self.max_complexity, enabled_rules=frozenset(self.rules),
            blue_sevenths=self.style == "blues", keep_alterations=self.keep_alterations,
            keep_arrivals=self.keep_arrivals, seed=self.seed,
        )


@dataclass(frozen=True)
class Candidate:
    """A scored progression."""

    slots: Progression
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"slots": [slot.to_json() for slot in self.slots], "score": self.score}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(tuple(Slot.from_json(item) for item in data["slots"]), float(data["score"]))

    @property
    def signature(self) -> tuple[tuple[str, int], ...]:
        return tuple((slot.symbol, slot.bar) for slot in self.slots)

    @property
    def symbols(self) -> list[str]:
        return [slot.symbol for slot in self.slots]


@dataclass
class SearchState:
    """The whole search between steps: configuration, progress, beam and best. JSON round-trips exactly."""

    config: SearchConfig
    total_iterations: int
    per_step: int
    iteration: int = 0
    beam: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    best_iteration: int = 0
    done: bool = False
    source: str = "engine"

    @property
    def progress(self) -> float:
        """0..1: the share of the iteration budget used (1.0 once done)."""
        if self.done or self.total_iterations == 0:
            return 1.0
        return min(1.0, self.iteration / self.total_iterations)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "config": self.config.to_json(),
            "totalIterations": self.total_iterations,
            "perStep": self.per_step,
            "iteration": self.iteration,
            "beam": [candidate.to_json() for candidate in self.beam],
            "best": self.best.to_json() if self.best else None,
            "bestIteration": self.best_iteration,
            "done": self.done,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchState:
        if not isinstance(data, Mapping) or data.get("version") != STATE_VERSION:
            raise SearchStateError("search state is missing or from another engine version")
        try:
            return cls(
                config=SearchConfig.from_json(data["config"]),
                total_iterations=int(data["totalIterations"]),
                per_step=int(data["perStep"]),
                iteration=int(data["iteration"]),
                beam=[Candidate.from_json(item) for item in data["beam"]],
                best=Candidate.from_json(data["best"]) if data.get("best") else None,
                best_iteration=int(data.get("bestIteration", 0)),
                done=bool(data["done"]),
                source=str(data.get("source", "engine")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SearchStateError(f"malformed search state: {exc}") from None


# ---------------------------------------------------------------------------------------------------
# Scoring.


@dataclass(frozen=True)
class ScoreBreakdown:
    """The parts of a progression's score (higher is better); `total` is their sum."""

    rules: float
    texture: float
    palette: float
    voice_leading: float
    resolution: float
    chromatic: float
    density: float
    length: float
    fidelity: float
    taste: float = 0.0

    @property
    def total(self) -> float:
        return (self.rules + self.texture + self.palette + self.voice_leading + self.resolution
                + self.chromatic + self.density + self.length + self.fidelity + self.taste)

    def to_json(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 4) for name in (
            "rules", "texture", "palette", "voice_leading", "resolution", "chromatic", "density", "length",
            "fidelity", "taste")}


def score(ctx: RuleContext, prog: Progression, favor_close: bool = True) -> ScoreBreakdown:
    """Score a progression for the style and constraints in `ctx`.

    - rules: the style's weight of every applied rule, per input chord;
    - texture (x0.6): the style's affinity for each chord's complexity (triad .. altered);
    - palette (x0.8): the weight of each chord's quality in the style's palette for its context;
    - voice_leading: minus the mean pitch-class voice-leading distance per voice between consecutive
      chords (x0.5, or x0.15 when close voicings are not requested);
    - resolution (x0.6): dominants the rules created must resolve (down a fifth or half step, or the
      backdoor bVII7 to I); each unresolved one costs as much as a resolved one earns;
    - chromatic: the style's penalty per chord outside the key, and a full point per chromatic chord
      with no function (neither resolving dominant, passing diminished, borrowed nor blues chord);
    - density: minus 1.2 x the distance between the share of changed chords and the style's target;
    - length: 0.05 per inserted chord, and 0.5 per repeated neighbour the rules introduced;
    - fidelity (x0.8): the share of each input chord's root, third, fifth and seventh its replacement
      keeps (common tones keep the reharmonisation under the original melody);
    - taste (x0.3): a seeded preference in 0..1 for each changed chord at its position, so that two
      seeds settle on different answers among near-equal ones (same seed, same answer).
    """
    n_in = max(1, len(ctx.original))
    n = max(1, len(prog))
    style = ctx.style
    chords = [slot.chord for slot in prog]
    changed = sum(1 for slot in prog if slot.rule)
    inserted = sum(1 for slot in prog if slot.origin < 0)
    rule_sum = sum(style.weight(slot.rule) for slot in prog if slot.rule)
    texture = sum(style.texture[min(c.complexity, ctx.max_complexity)] for c in chords) / n
    palette = 0.0
    for index, slot in enumerate(prog):
        context = colour_context(ctx, prog, index)
        if context is not None:
            palette += style.colour_weight(context, slot.chord.quality)
    distance = 0.0
    for first, second in itertools.pairwise(prog):
        distance += pc_distance(first.symbol, second.symbol)
    mean_per_voice = distance / max(1, len(prog) - 1) / 4
    resolution, chromatic = _function_terms(ctx, prog)
    repeats = sum(1 for a, b in itertools.pairwise(prog)
                  if a.symbol == b.symbol and (a.rule or b.rule))
    return ScoreBreakdown(
        rules=rule_sum / n_in,
        texture=0.6 * texture,
        palette=0.8 * palette / n,
        voice_leading=-(0.5 if favor_close else 0.15) * mean_per_voice,
        resolution=0.6 * resolution / n,
        chromatic=chromatic / n,
        density=-1.2 * abs(min(1.5, changed / n_in) - style.density),
        length=-0.05 * inserted / n_in - 0.5 * repeats / n,
        fidelity=0.8 * _fidelity(ctx, prog),
        taste=0.3 * sum(_taste(ctx.seed, index, slot.symbol) for index, slot in enumerate(prog) if slot.rule) / n_in,
    )


def _taste(seed: int, index: int, symbol: str) -> float:
    """A deterministic pseudo-random preference in [0, 1) for `symbol` at `index` under `seed`."""
    return zlib.crc32(f"{seed}:{index}:{symbol}".encode()) / 2**32


def _fidelity(ctx: RuleContext, prog: Progression) -> float:
    total = 0.0
    for slot in prog:
        if slot.origin < 0 or not slot.rule:
            total += 1.0 if slot.origin >= 0 else 0.0
            continue
        old = _core_pcs(ctx.original[slot.origin].symbol)
        new = frozenset(slot.chord.all_pitch_classes)
        total += len(old & new) / max(1, len(old))
    return total / max(1, len(ctx.original))


def _core_pcs(symbol: str) -> frozenset[int]:
    chord = parse_chord(symbol)
    members = {"1", "3", "b3", "2", "4", "5", "b5", "#5", "6", "b7", "7", "bb7"}
    return frozenset(pc for i, pc in zip(chord.intervals, chord.pitch_classes, strict=True) if i in members)


def _function_terms(ctx: RuleContext, prog: Progression) -> tuple[float, float]:
    key = ctx.key
    resolution = 0.0
    chromatic = 0.0
    parallel = Key(key.tonic, "major" if key.is_minor else "minor")
    for index, slot in enumerate(prog):
        chord = slot.chord
        following = prog[index + 1].chord if index + 1 < len(prog) else None
        diatonic = is_diatonic(chord.without_bass() if chord.bass else chord, key)
        degree = (chord.root_pc - key.tonic_pc) % 12
        blues = chord.family == DOMINANT and degree in (0, 5) and not key.is_minor
        resolves = following is not None and (
            (chord.bass_pc - following.root_pc) % 12 in (7, 1)
            or (degree == 10 and following.root_pc == key.tonic_pc)
            or (chord.root_pc == following.root_pc and following.family == DOMINANT))
        if chord.family == DOMINANT and slot.rule and not blues:
            if resolves or (following is None and degree == 7):
                resolution += 1.0
            else:
                resolution -= 1.0
        if diatonic:
            continue
        chromatic -= ctx.style.chromatic_penalty
        previous = prog[index - 1].chord if index > 0 else None
        passing = (chord.family == DIMINISHED and following is not None and previous is not None
                   and (following.root_pc - chord.root_pc) % 12 == (chord.bass_pc - previous.bass_pc) % 12
                   and (following.root_pc - chord.root_pc) % 12 in (1, 11))
        borrowed = is_diatonic(chord.without_bass() if chord.bass else chord, parallel)
        functional = (chord.family == DOMINANT and (resolves or blues)) or passing or borrowed
        if not functional and slot.rule:
            chromatic -= 1.0
    return resolution, chromatic


# ---------------------------------------------------------------------------------------------------
# Search.


def new_search(config: SearchConfig, budget_ms: int) -> SearchState:
    """A fresh search state whose beam holds the input progression."""
    ctx = config.context()
    original = config.original
    initial = Candidate(original, score(ctx, original, config.favor_close_voicings).total)
    per_step = iterations_per_step(len(original))
    return SearchState(config=config, total_iterations=steps_for_budget(budget_ms) * per_step,
                       per_step=per_step, beam=[initial], best=initial)


def fixed_result(state: SearchState, slots: Progression, source: str) -> SearchState:
    """A finished state holding `slots` as the answer (used for a validated LLM plan)."""
    ctx = state.config.context()
    candidate = Candidate(slots, score(ctx, slots, state.config.favor_close_voicings).total)
    return SearchState(config=state.config, total_iterations=state.total_iterations, per_step=state.per_step,
                       iteration=state.iteration, beam=[candidate], best=candidate,
                       best_iteration=state.iteration, done=True, source=source)


def step(state: SearchState, max_ms: float = STEP_NOMINAL_MS,
         should_stop: Callable[[], bool] | None = None) -> SearchState:
    """Run up to `state.per_step` iterations and return the improved state.

    Returns early, at an iteration boundary, when `should_stop()` turns true (cancellation) or when
    `max_ms` x 4 of wall time has passed (a starved step); the next call resumes from the same
    iteration, so neither affects the final result.
    """
    if state.done:
        return state
    ctx = state.config.context()
    favor_close = state.config.favor_close_voicings
    beam = list(state.beam)
    best = state.best or beam[0]
    best_iteration = state.best_iteration
    scores: dict[Progression, float] = {}  # a memo of a pure function: how steps split cannot matter
    deadline = time.perf_counter() + 4 * max_ms / 1000
    target = min(state.total_iterations, state.iteration + state.per_step)
    iteration = state.iteration
    weights = _rule_weights(ctx)
    while iteration < target:
        if iteration - best_iteration >= STAGNATION_LIMIT:
            break  # checked per iteration, so where steps begin and end cannot matter
        if should_stop is not None and should_stop():
            break
        if iteration > state.iteration and time.perf_counter() > deadline:
            break
        child = _propose(ctx, beam, weights, random.Random(f"{state.config.seed}:{iteration}"))
        iteration += 1
        if child is None:
            continue
        if child.slots not in scores:
            scores[child.slots] = score(ctx, child.slots, favor_close).total
        scored = Candidate(child.slots, scores[child.slots])
        beam = _admit(beam, scored)
        if scored.score > best.score:
            best, best_iteration = scored, iteration
    done = iteration >= state.total_iterations or iteration - best_iteration >= STAGNATION_LIMIT
    return SearchState(config=state.config, total_iterations=state.total_iterations, per_step=state.per_step,
                       iteration=iteration, beam=beam, best=best, best_iteration=best_iteration, done=done,
                       source=state.source)


def run(state: SearchState, should_stop: Callable[[], bool] | None = None) -> SearchState:
    """Step until done (what the orchestration does one activity at a time)."""
    while not state.done:
        before = state.iteration
        state = step(state, should_stop=should_stop)
        if should_stop is not None and should_stop() and state.iteration == before:
            break
    return state


def _rule_weights(ctx: RuleContext) -> list[tuple[str, float]]:
    return [(name, ctx.style.weight(name) + 0.05) for name in RULE_NAMES
            if name in ctx.enabled_rules and name in RULES]


def _propose(ctx: RuleContext, beam: Sequence[Candidate], weights: Sequence[tuple[str, float]],
             rng: random.Random) -> Candidate | None:
    # Favour the better half of the beam: the minimum of two uniform draws.
    parent = beam[min(rng.randrange(len(beam)), rng.randrange(len(beam)))]
    prog = parent.slots
    if rng.random() < REVERT_PROBABILITY:
        reverted = _revert(ctx, prog, rng)
        return None if reverted is None else Candidate(reverted, 0.0)
    for _ in range(3):
        name = weighted_choice(rng, weights)
        if name is None:
            return None
        rule = RULES[name]
        sites = rule.sites(ctx, prog)
        if not sites:
            continue
        child = rule.apply(ctx, prog, rng.choice(sites), rng)
        if child is None or violations(ctx, child):
            return None
        return Candidate(child, 0.0)
    return None


def _revert(ctx: RuleContext, prog: Progression, rng: random.Random) -> Progression | None:
    """Undo one change: drop an inserted chord or restore an input chord."""
    changed = [i for i, slot in enumerate(prog) if slot.rule]
    if not changed:
        return None
    index = rng.choice(changed)
    slot = prog[index]
    if slot.origin < 0:
        result = (*prog[:index], *prog[index + 1:])
    else:
        original = ctx.original[slot.origin]
        result = (*prog[:index], Slot(original.symbol, slot.bar, slot.origin, ""), *prog[index + 1:])
    return None if violations(ctx, result) else result


def _admit(beam: list[Candidate], candidate: Candidate) -> list[Candidate]:
    """The beam with `candidate` added if it ranks among the best BEAM_WIDTH (ties by symbols).

    The beam holds one candidate per signature (chords and bars), the better scored: the same chords
    reached by another rule score differently. The answer is a function of the beam and the candidate
    only (nothing remembered from earlier in the step), so a search split into steps differently (a
    starved step returning early) ends on the same result.
    """
    ranked = sorted([*beam, candidate], key=lambda c: (-c.score, c.signature, _rules_of(c)))
    kept: list[Candidate] = []
    for item in ranked:
        if all(item.signature != other.signature for other in kept):
            kept.append(item)
    return kept[:BEAM_WIDTH]


def _rules_of(candidate: Candidate) -> tuple[tuple[int, str], ...]:
    return tuple((slot.origin, slot.rule) for slot in candidate.slots)


def breakdown(state: SearchState) -> ScoreBreakdown:
    """The score parts of the best progression, for the result's metadata."""
    ctx = state.config.context()
    best = state.best or state.beam[0]
    return score(ctx, best.slots, state.config.favor_close_voicings)


def parse_slots(symbols: Sequence[str], bars: Sequence[int] | None = None) -> Progression:
    """Slots for an input progression: one per chord, in its bar (its own bar when `bars` is None)."""
    return tuple(Slot(parse_chord(symbol).symbol, bars[i] if bars else i, i, "")
                 for i, symbol in enumerate(symbols))
