"""Assemble a task's result: progression, changes with explanations, sections, tips, voicings, metadata.

Pure and deterministic: `createdAt` comes from the caller (the orchestration's replay-safe clock), every
list is built in progression order, and nothing depends on wall-clock time or dict ordering of input.
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from harmony import ENGINE_VERSION
from harmony.changes import INSERTION, SUBSTITUTION, plain_explanation, relabel
from harmony.chords import parse_chord
from harmony.keys import analyse, key_regions, roman_numeral
from harmony.rules import RULES, Progression, RuleContext, Slot, explain
from harmony.search import SearchState, breakdown
from harmony.styles import STYLES, mood_keywords
from harmony.voicings import Voicing, movement

SECTION_BARS = 4
MAX_TIPS = 6
MAX_PRACTICE = 8
STYLE_TITLES = {"jazz": "Jazz", "bossa-nova": "Bossa nova", "neo-soul": "Neo-soul", "gospel": "Gospel",
                "blues": "Blues", "pop": "Pop"}
TASK_TITLES = {"spice-up": "spice-up", "reharmonize": "reharmonisation", "create": "progression"}
_RULE_TIPS = {
    "tritone-substitution": "Over {chord} keep the 3rd and 7th of the dominant it replaces; only the root "
                            "and 5th move, by a tritone.",
    "passing-diminished": "{chord} repeats every three frets: slide the same shape up a minor third to find "
                          "its other inversions.",
    "secondary-dominant": "Resolve the 3rd of {chord} up a half step into the next chord's root.",
    "related-ii": "The ii and V share a common tone: hold it and move the other voices by step.",
    "modal-interchange": "Put the borrowed note of {chord} on the top string so the colour change is heard.",
    "backdoor-dominant": "From {chord} to the tonic the 7th falls a half step: let that voice lead.",
    "pedal-point": "Keep the bass of {chord} ringing with the thumb while the upper voices change.",
    "cadence-colour": "Arpeggiate {chord} slowly at the end so its tensions ring out.",
    "style-extension": "Place the added tension of {chord} on the top string so it sings.",
}


def slots_from_plan(symbols: Sequence[str], original: Progression,
                    explanations: Mapping[int, tuple[str, str]]) -> Progression:
    """Align an LLM progression with the input (difflib) to give each chord its bar and origin."""
    old = [slot.symbol for slot in original]
    matcher = difflib.SequenceMatcher(a=old, b=list(symbols), autojunk=False)
    slots: list[Slot] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        for offset, index in enumerate(range(b0, b1)):
            rule = explanations.get(index, ("llm", ""))[0]
            if tag == "equal":
                source = original[a0 + offset]
                slots.append(Slot(symbols[index], source.bar, source.origin, ""))
            elif tag == "replace" and a0 + offset < a1:
                source = original[a0 + offset]
                slots.append(Slot(symbols[index], source.bar, source.origin, rule))
            else:
                bar = slots[-1].bar if slots else 0
                slots.append(Slot(symbols[index], bar, -1, rule))
    if not original:
        return tuple(Slot(s, i, i, "") for i, s in enumerate(symbols))
    return tuple(slots)


def assemble(request: Mapping[str, Any], state: SearchState, voicings: Sequence[Mapping[str, Any]],
             created_at: str, *, key_inferred: bool = False, template: Sequence[str] = (),
             llm: Mapping[str, Any] | None = None, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The result document of a finished task (see the module docstring)."""
    ctx = state.config.context()
    best = state.best or state.beam[0]
    # Rule names and explanations describe the final chords, not the path the search took to them.
    prog = relabel(ctx, best.slots) if state.source != "llm" else best.slots
    symbols = [slot.symbol for slot in prog]
    chords = [parse_chord(symbol) for symbol in symbols]
    analysis = [item.to_json() for item in analyse(chords, ctx.key)]
    regions = [{**region.to_json(), "bars": [prog[region.start].bar + 1, prog[region.end].bar + 1]}
               for region in key_regions(chords, ctx.key)]
    shapes = [Voicing(str(v["chord"]), str(v["type"]), tuple(v["frets"])) for v in voicings]
    llm = llm or {}
    llm_explanations = {int(k): tuple(v) for k, v in (llm.get("explanations") or {}).items()}
    changes = _changes(ctx, prog, llm_explanations)
    sections = _sections(ctx, request, prog, analysis, shapes, llm.get("techniqueTips") or [])
    all_warnings = [f"ignored unknown field {name!r}" for name in request.get("ignoredFields", [])]
    all_warnings.extend(warnings)
    engine = ENGINE_VERSION + (f" + llm:{llm['model']}" if state.source == "llm" and llm.get("model") else "")
    return {
        "title": llm.get("title") or _title(request, ctx),
        "summary": llm.get("summary") or (_summary(request, ctx, prog, changes, shapes, key_inferred, template)
                                           + _regions_sentence(regions)),
        "key": ctx.key.name,
        "progression": symbols,
        "timeline": timeline(prog),
        "analysis": analysis,
        "keyRegions": regions,
        "sections": sections,
        "changes": changes,
        "voicings": [dict(v) for v in voicings],
        "practiceIdeas": _practice(request, ctx, prog, llm.get("practiceIdeas") or []),
        "warnings": all_warnings,
        "partial": False,
        "metadata": {
            "engine": engine,
            "seed": state.config.seed,
            "createdAt": created_at,
            "source": state.source,
            "style": ctx.style.name,
            "budgetMs": request.get("budgetMs"),
            "search": {
                "iterations": state.iteration,
                "score": round(best.score, 4),
                "scoreBreakdown": breakdown(state).to_json(),
            },
        },
    }


def timeline(prog: Progression) -> list[dict[str, Any]]:
    """Where every result chord sounds: its bar (1-based), its beat in 4/4 (a bar's first chord on 1, a
    second on 3) and the index of the input chord it stands for (None for an inserted chord)."""
    entries = []
    for index, slot in enumerate(prog):
        earlier = sum(1 for other in prog[:index] if other.bar == slot.bar)
        entries.append({"chord": slot.symbol, "bar": slot.bar + 1, "beat": 1 + 2 * earlier,
                        "input": slot.origin if slot.origin >= 0 else None})
    return entries


def _regions_sentence(regions: Sequence[Mapping[str, Any]]) -> str:
    """" It moves through Bb major (bars 1-4) and G minor (bars 5-8)." when it visits more than one key."""
    if len({region["key"] for region in regions}) < 2:
        return ""
    parts = [f"{r['key']} (bar {r['bars'][0]})" if r["bars"][0] == r["bars"][1]
             else f"{r['key']} (bars {r['bars'][0]}-{r['bars'][1]})" for r in regions]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f" Key centres: {listed}."


def _title(request: Mapping[str, Any], ctx: RuleContext) -> str:
    style = STYLE_TITLES.get(ctx.style.name, ctx.style.name)
    return f"{style} {TASK_TITLES[request['type']]} in {ctx.key.name}"


def _changes(ctx: RuleContext, prog: Progression,
             llm_explanations: Mapping[int, tuple[str, ...]]) -> list[dict[str, Any]]:
    changes = []
    for index, slot in enumerate(prog):
        if not slot.rule:
            continue
        before = ctx.original[slot.origin].symbol if slot.origin >= 0 else None
        if index in llm_explanations:
            explanation = str(llm_explanations[index][1])
        elif slot.rule in RULES:
            explanation = explain(ctx, prog, index)
        elif slot.rule in (SUBSTITUTION, INSERTION):
            explanation = plain_explanation(ctx, prog, index)
        else:
            explanation = (f"{slot.symbol} suggested by the language model"
                           + (f" in place of {before}." if before else "."))
        explanation += removed_alterations(before, slot.symbol, slot.rule)
        earlier = sum(1 for other in prog[:index] if other.bar == slot.bar)
        changes.append({"index": index, "bar": slot.bar + 1, "beat": 1 + 2 * earlier, "from": before,
                        "to": slot.symbol, "rule": slot.rule, "explanation": explanation})
    return changes


_ALTERATION_NAMES = ("b5", "#5", "b9", "#9", "#11", "b13")


def removed_alterations(before: str | None, after: str, rule: str) -> str:
    """A sentence naming the altered tones of the input chord the new chord no longer sounds, and why
    (empty when none was removed): a reharmonisation may replace the user's alterations, but says so."""
    if before is None:
        return ""
    old, new = parse_chord(before), parse_chord(after)
    sounding = new.all_pitch_classes
    removed = [interval for interval, pc in zip(old.intervals, old.pitch_classes, strict=True)
               if interval in _ALTERATION_NAMES and pc not in sounding]
    if not removed:
        return ""
    names = removed[0] if len(removed) == 1 else ", ".join(removed[:-1]) + " and " + removed[-1]
    reason = {"tritone-substitution": "the substitute's own tensions take their place",
              "modal-interchange": "the borrowed chord brings its own colour",
              "backdoor-dominant": "the backdoor dominant brings its own colour"}.get(
        rule, f"{new} is coloured for the style instead")
    return f" It gives up the {names} of {old}: {reason}."


def _groups(prog: Progression) -> list[list[int]]:
    """Slot indices grouped into sections of SECTION_BARS bars."""
    groups: list[list[int]] = []
    first_bar = prog[0].bar if prog else 0
    for index, slot in enumerate(prog):
        section = (slot.bar - first_bar) // SECTION_BARS
        while len(groups) <= section:
            groups.append([])
        groups[section].append(index)
    return [group for group in groups if group]


def _sections(ctx: RuleContext, request: Mapping[str, Any], prog: Progression,
              analysis: Sequence[Mapping[str, Any]], shapes: Sequence[Voicing],
              llm_tips: Sequence[str] = ()) -> list[dict[str, Any]]:
    sections = []
    style_tips = ctx.style.technique_tips
    for number, group in enumerate(_groups(prog)):
        first, last = prog[group[0]].bar + 1, prog[group[-1]].bar + 1
        rules = [prog[i].rule for i in group if prog[i].rule]
        labels = [RULES[r].label.lower() for r, _ in Counter(rules).most_common(2) if r in RULES]
        focus = f"Bars {first}-{last}" if first != last else f"Bar {first}"
        focus += ": " + (" and ".join(labels) if labels else "the changes as written" if request["type"] != "create"
                         else "the groundwork")
        description = " - ".join(f"{analysis[i]['chord']} ({analysis[i]['roman']})" for i in group)
        if rules:
            description += f". {len(rules)} of {len(group)} chords changed."
        technique = [*(str(tip) for tip in llm_tips[:2] if number == 0), style_tips[number % len(style_tips)]]
        for rule in dict.fromkeys(rules):
            index = next(i for i in group if prog[i].rule == rule)
            template = _RULE_TIPS.get(rule)
            if template:
                technique.append(template.format(chord=prog[index].symbol))
        sections.append({
            "focus": focus,
            "chords": [prog[i].symbol for i in group],
            "description": description,
            "voicingTips": _voicing_tips(group, shapes),
            "techniqueTips": technique[:4],
        })
    return sections


def _voicing_tips(group: Sequence[int], shapes: Sequence[Voicing]) -> list[str]:
    tips: list[str] = []
    for index in group:
        if index >= len(shapes):
            break
        shape = shapes[index]
        where = f"at fret {shape.position}" if shape.position else "in open position"
        tips.append(f"{shape.chord}: {shape.kind} {shape.tab} {where}.")
    for a, b in itertools.pairwise(group):
        if b >= len(shapes):
            break
        held = sorted(set(_fretted(shapes[a])) & set(_fretted(shapes[b])))
        if held:
            strings = ", ".join(str(string) for string, _ in held)
            tips.append(f"From {shapes[a].chord} to {shapes[b].chord} keep the finger(s) on string {strings}.")
        else:
            tips.append(f"From {shapes[a].chord} to {shapes[b].chord} the voices move "
                        f"{movement(shapes[a], shapes[b]):.0f} semitones in all; move by the nearest notes.")
    return tips[:MAX_TIPS]


def _fretted(shape: Voicing) -> list[tuple[int, int]]:
    return [(string, fret) for string, fret, _ in shape.notes if fret]


def _summary(request: Mapping[str, Any], ctx: RuleContext, prog: Progression, changes: Sequence[Mapping[str, Any]],
             shapes: Sequence[Voicing], key_inferred: bool, template: Sequence[str]) -> str:
    style = STYLE_TITLES.get(ctx.style.name, ctx.style.name).lower()
    counts = Counter(change["rule"] for change in changes)
    described = ", ".join(f"{count} {RULES[rule].label.lower() if rule in RULES else rule}"
                          for rule, count in counts.most_common())
    task = request["type"]
    if task == "create":
        skill = str(request.get("skillLevel", "intermediate"))
        article = "an" if skill[:1] in "aeiou" else "a"
        text = (f"A {len(ctx.original)}-bar {style} progression in {ctx.key.name} for {article} "
                f"{skill} player, built on {' '.join(template)}")
        text += f" and coloured with {described}." if described else "."
    else:
        verb = "Spiced up" if task == "spice-up" else "Reharmonised"
        text = f"{verb} {len(ctx.original)} chords in {ctx.key.name} for {style}: "
        if changes:
            text += f"{len(changes)} changes ({described})."
        else:
            text += "the input already fits; no change scored higher."
        if key_inferred:
            text += f" The key ({ctx.key.name}) was inferred from the chords."
        if task == "reharmonize" and ctx.locked:
            text += " Locked chords were kept."
        if task == "spice-up" and ctx.preserve_cadence:
            text += " The final cadence is preserved."
    if len(shapes) > 1:
        voices = sum(len(s.notes) for s in shapes) / len(shapes)
        total = sum(movement(a, b) for a, b in itertools.pairwise(shapes))
        per_voice = total / (len(shapes) - 1) / max(1.0, voices)
        text += f" The voicings move {per_voice:.1f} semitones per voice between chords."
    moods = mood_keywords(request.get("mood"), request.get("targetFeel"))
    if moods:
        text += f" Mood words used: {', '.join(dict.fromkeys(moods))}."
    return text


def _practice(request: Mapping[str, Any], ctx: RuleContext, prog: Progression,
              llm_ideas: Sequence[str]) -> list[str]:
    ideas = [str(idea) for idea in llm_ideas]
    groups = _groups(prog)
    if groups:
        busiest = max(groups, key=lambda g: (sum(1 for i in g if prog[i].rule), -g[0]))
        chords = " ".join(prog[i].symbol for i in busiest)
        first, last = prog[busiest[0]].bar + 1, prog[busiest[-1]].bar + 1
        ideas.append(f"Loop bars {first}-{last} ({chords}) at 60 bpm until the changes are automatic, "
                     f"then raise the tempo by 10 bpm.")
    changed = [slot for slot in prog if slot.rule]
    if changed:
        slot = changed[0]
        original = ctx.original[slot.origin].symbol if slot.origin >= 0 else None
        if original:
            ideas.append(f"Alternate {original} and {slot.symbol} in bar {slot.bar + 1} and listen to what the "
                         f"new chord adds ({roman_numeral(slot.chord, ctx.key)}).")
    ideas.extend(ctx.style.practice_ideas[:2])
    if request.get("skillLevel") == "beginner":
        ideas.append("Practise each chord change slowly without strumming: lift and place all fingers together.")
    artists = request.get("referenceArtists") or list(STYLES[ctx.style.name].reference_artists)
    if artists:
        ideas.append(f"Listen to {', '.join(artists[:3])} and copy one voicing or rhythm idea into this progression.")
    return list(dict.fromkeys(ideas))[:MAX_PRACTICE]
