"""Rich renderables for the API's answers: task results, player stats, recommendations, difficulty updates.

Every value from the server goes into a `Text` (never parsed as rich markup), so a chord name, a reason or
a shape id is shown exactly as sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from practice_cli.fretboard import diagram


def text(value: Any, style: str = "") -> Text:
    """A server value as plain text (None as an empty cell)."""
    return Text("" if value is None else str(value), style=style)


def figure(value: Any) -> str:
    """A number as the API rounds it (4 decimals, no trailing zeros)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def percent(value: Any) -> str:
    return f"{value * 100:.1f} %" if isinstance(value, int | float) else str(value)


# -- agent tasks ------------------------------------------------------------------------------------------
def bar_labels(result: dict[str, Any]) -> list[str]:
    """Per chord of the result, the bars of its section ("1-4") on the section's first chord, else ""."""
    progression = list(result.get("progression") or [])
    labels = [""] * len(progression)
    position = 0
    for section in result.get("sections") or []:
        chords = list(section.get("chords") or [])
        if progression[position:position + len(chords)] != chords:
            return [""] * len(progression)  # sections that do not tile the progression: no bar column to trust
        if chords:
            focus = str(section.get("focus", "")).split(":", 1)[0]
            labels[position] = focus.removeprefix("Bars ").removeprefix("Bar ")
        position += len(chords)
    return labels


def _change_cell(changes: Sequence[dict[str, Any]]) -> Text:
    cell = Text()
    for number, change in enumerate(changes):
        if number:
            cell.append("\n")
        source = change.get("from")
        cell.append(f"was {source}" if source is not None else "added", style="bold")
        cell.append(f" · {change.get('rule', '')}", style="cyan")
        cell.append(f"\n{change.get('explanation', '')}")
    return cell


def chord_table(result: dict[str, Any]) -> Table:
    """The result's bars and chords, one row per chord, with each change and why it was made."""
    table = Table(title="Bars and chords", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("Bars", justify="right")
    table.add_column("#", justify="right")
    table.add_column("Chord", style="bold")
    table.add_column("Roman")
    table.add_column("Function", max_width=16)
    table.add_column("Change", ratio=1)
    progression = list(result.get("progression") or [])
    analysis = list(result.get("analysis") or [])
    by_index: dict[int, list[dict[str, Any]]] = {}
    for change in result.get("changes") or []:
        by_index.setdefault(int(change.get("index", -1)), []).append(change)
    labels = bar_labels(result)
    for index, chord in enumerate(progression):
        info = analysis[index] if index < len(analysis) else {}
        section_ends = index + 1 < len(labels) and labels[index + 1] != ""
        table.add_row(text(labels[index]), text(index + 1), text(chord), text(info.get("roman")),
                      text(info.get("function")), _change_cell(by_index.get(index, [])), end_section=section_ends)
    return table


def voicing_panel(voicing: dict[str, Any]) -> Panel:
    """One voicing as a fretboard diagram titled with its chord; the subtitle gives its family and tab."""
    body = Text("\n".join(diagram(voicing.get("frets") or [])))
    subtitle = Text(f"{voicing.get('type', '')} {voicing.get('tab', '')}".strip())
    return Panel(body, title=text(voicing.get("chord"), "bold"), subtitle=subtitle, expand=False,
                 box=box.ROUNDED)


def _bullets(title: str, items: Iterable[Any], style: str = "") -> RenderableType | None:
    lines = [text(f"• {item}", style) for item in items]
    return Group(Text(title, style="bold"), *lines) if lines else None


def task_result(view: dict[str, Any]) -> Group:
    """A completed task: title, summary, the table of bars and chords, the voicings, practice ideas, warnings."""
    result = view.get("result") or {}
    parts: list[RenderableType] = [
        text(result.get("title"), "bold underline"),
        text(result.get("summary")),
        text(f"key {result.get('key', '?')} · task {view.get('taskId')}", "dim"),
        chord_table(result),
        Text("Voicings (x muted, o open, numbers are frets)", style="bold"),
        Columns([voicing_panel(v) for v in result.get("voicings") or []], padding=(0, 1)),
    ]
    for extra in (_bullets("Practice ideas", result.get("practiceIdeas") or []),
                  _bullets("Warnings", result.get("warnings") or [], "yellow")):
        if extra is not None:
            parts.append(extra)
    return Group(*parts)


def task_line(view: dict[str, Any]) -> Text:
    """One line about a task's state and progress."""
    line = Text(f"task {view.get('taskId')} ({view.get('type')}): {view.get('state')}, ")
    line.append(f"{round(float(view.get('progress') or 0) * 100)} %, {view.get('stage')}: {view.get('statusMessage')}")
    if view.get("errorMessage"):
        line.append(f" - {view['errorMessage']}", style="red")
    return line


# -- player sessions --------------------------------------------------------------------------------------
def _pairs(title: Text, rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(name, text(value))
    return table


def record_answer(answer: dict[str, Any]) -> Group:
    """What recording an attempt answered: the session totals after it, and why the difficulty moved."""
    line = Text(f"{answer.get('playerId')}: attempt {answer.get('totalAttempts')} recorded, ")
    line.append(f"{answer.get('totalSuccesses')} successes ({percent(answer.get('successRate'))}), ")
    line.append(f"difficulty {figure(answer.get('currentDifficulty'))}")
    return Group(line, text(answer.get("reason"), "italic"))


def player_stats(stats: dict[str, Any]) -> Group:
    """A player's session figures and per-shape statistics as two tables."""
    overview = _pairs(Text(f"Player {stats.get('playerId')}"), [
        ("attempts", stats.get("totalAttempts")), ("successes", stats.get("totalSuccesses")),
        ("success rate", percent(stats.get("successRate"))),
        ("average time", f"{figure(stats.get('averageTimeMs'))} ms"),
        ("difficulty", figure(stats.get("currentDifficulty"))), ("target", figure(stats.get("targetDifficulty"))),
        ("learning rate", figure(stats.get("learningRate"))),
        ("recent success rate", percent(stats.get("recentSuccessRate"))),
        ("in flow zone", "yes" if stats.get("inFlowZone") else "no"),
    ])
    shapes = Table(title="Shapes (most recently played first)", box=box.SIMPLE_HEAD)
    for name in ("Shape", "Attempts", "Successes", "Mastery", "Avg ms", "Best ms"):
        shapes.add_column(name, justify="left" if name == "Shape" else "right")
    for shape_id, shape in (stats.get("shapes") or {}).items():
        shapes.add_row(text(shape_id, "bold"), text(shape.get("attempts")), text(shape.get("successes")),
                       text(figure(shape.get("mastery"))), text(figure(shape.get("averageTimeMs"))),
                       text(shape.get("bestTimeMs") if shape.get("bestTimeMs") is not None else "-"))
    return Group(overview, shapes)


def recommendation(answer: dict[str, Any]) -> Panel:
    """The recommended exercise: family, challenge, strategy, the rationale and each suggested shape's reason."""
    params = answer.get("parameters") or {}
    focus = Table(box=box.SIMPLE_HEAD)
    for name in ("Suggested shape", "Successes", "Why"):
        focus.add_column(name)
    for item in params.get("focus") or []:
        focus.add_row(text(item.get("shapeId"), "bold"), text(f"{item.get('successes')}/{item.get('attempts')}"),
                      text(item.get("reason")))
    head = Text(f"{answer.get('exercise')}", style="bold")
    head.append(f"  challenge of {params.get('challengeLength')} shapes ({params.get('newShapes')} new), "
                f"strategy {params.get('strategy')}", style="")
    parts: list[RenderableType] = [head, text(answer.get("rationale"), "italic")]
    if params.get("focus"):
        parts.append(focus)
    return Panel(Group(*parts), title="Recommended exercise", expand=False)


def _clock(ms: Any) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S") if isinstance(ms, int | float) else "--:--:--"


def difficulty_event(event: str, data: dict[str, Any]) -> Text:
    """One line per event of the player's difficulty stream (difficulty, gap, reset)."""
    if event == "gap":
        return Text(f"missed updates {data.get('fromSeq')}..{data.get('toSeq')} ({data.get('missed')})",
                    style="yellow")
    if event == "reset":
        return text(f"session reset: {data.get('message')}", "yellow")
    band = data.get("band") or {}
    advice = data.get("recommendation") or {}
    line = Text(f"{_clock(data.get('atMs'))} #{data.get('seq')} {data.get('kind')}: difficulty ")
    line.append(f"{figure(data.get('previousDifficulty'))} -> {figure(data.get('currentDifficulty'))}", style="bold")
    line.append(f" (target {figure(data.get('targetDifficulty'))}), {band.get('exercise')}")
    if advice.get("changed"):
        line.append(f"; recommendation now {advice.get('exercise')}, {advice.get('challengeLength')} shapes, "
                    f"{advice.get('strategy')}", style="green")
    line.append(f"\n    {data.get('reason')}", style="dim")
    return line
