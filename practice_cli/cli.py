"""`practice`: the app's API from the terminal (click commands; output drawn with rich).

Global options come before the command: `practice --url URL --key KEY --json spice-up "Dm7 G7 Cmaj7"`.
Exit codes: 0 done; 1 the API refused the request (its message on one line) or the task ended Failed or
Cancelled; 2 the host could not be reached, or a usage error; 130 interrupted (a started task goes on).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click
from rich.console import Console

from practice_cli import render
from practice_cli.client import DEFAULT_URL, ApiClient
from practice_cli.errors import EXIT_REFUSED, CliError, TaskEnded
from practice_cli.watch import player_updates, watch_task

EXIT_INTERRUPTED = 130


@dataclass
class Settings:
    """The global options, and the consoles output goes to."""

    url: str
    key: str | None
    as_json: bool
    out: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    def client(self) -> ApiClient:
        return ApiClient(self.url, self.key)

    def emit_json(self, document: Any) -> None:
        """One JSON document on stdout (plain, not through rich, so it stays parsable)."""
        click.echo(json.dumps(document, ensure_ascii=False))


class _Commands(click.Group):
    """Turns the client's errors into one line on stderr and the error's exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            _fail(ctx, exc)
        except KeyboardInterrupt:
            click.echo("practice: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`practice --json follow ana | head -1`): stop quietly, and point stdout
            # at /dev/null so the interpreter's final flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_REFUSED)


def _fail(ctx: click.Context, exc: CliError) -> NoReturn:
    settings = ctx.find_object(Settings)
    if settings is not None and settings.as_json:
        settings.emit_json(exc.document())
    click.echo(f"practice: error: {exc.message}", err=True)
    ctx.exit(exc.exit_code)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", default=DEFAULT_URL, show_default=True, envvar="PRACTICE_URL",
              help="The app's host (without /api). Env: PRACTICE_URL.")
@click.option("--key", default=None, envvar="PRACTICE_KEY",
              help="Function key, sent as x-functions-key. Env: PRACTICE_KEY.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer instead of tables.")
@click.pass_context
def cli(ctx: click.Context, url: str, key: str | None, as_json: bool) -> None:
    """Practise with the guitar app: agent tasks, attempts, stats and recommendations."""
    ctx.obj = Settings(url, key, as_json)


pass_settings = click.make_pass_decorator(Settings)


# -- agent tasks ----------------------------------------------------------------------------------------
def _task_options(func: Any) -> Any:
    """The options every task type takes."""
    for option in reversed([
        click.option("--style", help="blues, bossa-nova, gospel, jazz, neo-soul or pop."),
        click.option("--notes", help="Free text for the agent (at most 2,000 characters)."),
        click.option("--budget-ms", type=int, help="Search budget in ms, 50..60000 (default 1500)."),
        click.option("--seed", type=int, help="Seed: the same request and seed give the same result."),
        click.option("--close-voicings/--any-voicings", "favor_close", default=None,
                     help="Prefer close voicings (favorCloseVoicings)."),
        click.option("--no-wait", is_flag=True, help="Print the accepted task and return at once."),
        click.option("--poll", is_flag=True, help="Read progress from the status route, not the event stream."),
    ]):
        func = option(func)
    return func


def _body(**fields: Any) -> dict[str, Any]:
    """The request body: the fields given, in the API's names (absent ones left out)."""
    return {name: value for name, value in fields.items() if value is not None and value != ()}


def _run_task(settings: Settings, kind: str, body: dict[str, Any], no_wait: bool, poll: bool) -> None:
    with settings.client() as client:
        accepted = client.start_task(kind, body)
        task_id = str(accepted["taskId"])
        if no_wait:
            if settings.as_json:
                settings.emit_json(accepted)
            else:
                settings.out.print(render.text(f"{kind} task {task_id} accepted: practice watch {task_id}"))
            return
        if not settings.as_json:
            settings.out.print(render.text(f"{kind} task {task_id} accepted"))
        _watch(settings, client, task_id, poll)


def _watch(settings: Settings, client: ApiClient, task_id: str, poll: bool) -> None:
    """Watch to the end and print the result (or the final view as JSON); a task without result fails."""
    if settings.as_json:
        view = watch_task(client, task_id, settings.err, stream=not poll, show=settings.err.is_terminal)
        settings.emit_json(view)
    else:
        view = watch_task(client, task_id, settings.out, stream=not poll)
    if view.get("state") != "Completed":
        raise TaskEnded(task_id, str(view.get("state")), view.get("errorMessage"))
    if not settings.as_json:
        settings.out.print(render.task_result(view))


@cli.command("spice-up")
@click.argument("progression", nargs=-1, required=True)
@click.option("--in", "in_key", help="The key, e.g. 'C major' (inferred when absent).")
@click.option("--mood", help="The mood to aim for.")
@click.option("--preserve-cadence/--free-cadence", default=None, help="Keep the final cadence (default: keep).")
@_task_options
@pass_settings
def spice_up(settings: Settings, progression: tuple[str, ...], in_key: str | None, mood: str | None,
             preserve_cadence: bool | None, style: str | None, notes: str | None, budget_ms: int | None,
             seed: int | None, favor_close: bool | None, no_wait: bool, poll: bool) -> None:
    """Spice up PROGRESSION (chord symbols; `|` separates bars), watch it, print the result."""
    body = _body(progression=" ".join(progression), key=in_key, style=style, mood=mood,
                 preserveCadence=preserve_cadence, favorCloseVoicings=favor_close, notes=notes,
                 budgetMs=budget_ms, seed=seed)
    _run_task(settings, "spice-up", body, no_wait, poll)


@cli.command()
@click.argument("progression", nargs=-1, required=True)
@click.option("--in", "in_key", help="The key, e.g. 'A minor' (inferred when absent).")
@click.option("--feel", help="The target feel (targetFeel), e.g. 'warm'.")
@click.option("--lock-first/--free-first", default=None, help="Keep the first chord.")
@click.option("--lock-last/--free-last", default=None, help="Keep the last chord.")
@click.option("--modal-interchange/--no-modal-interchange", default=None, help="Allow borrowed chords.")
@_task_options
@pass_settings
def reharmonize(settings: Settings, progression: tuple[str, ...], in_key: str | None, feel: str | None,
                lock_first: bool | None, lock_last: bool | None, modal_interchange: bool | None,
                style: str | None, notes: str | None, budget_ms: int | None, seed: int | None,
                favor_close: bool | None, no_wait: bool, poll: bool) -> None:
    """Reharmonize PROGRESSION, watch it, print the result."""
    body = _body(progression=" ".join(progression), key=in_key, style=style, targetFeel=feel,
                 lockFirstChord=lock_first, lockLastChord=lock_last, allowModalInterchange=modal_interchange,
                 favorCloseVoicings=favor_close, notes=notes, budgetMs=budget_ms, seed=seed)
    _run_task(settings, "reharmonize", body, no_wait, poll)


@cli.command()
@click.argument("key")
@click.option("--mode", help="major, minor, dorian, ... (or an alias).")
@click.option("--mood", help="The mood to aim for.")
@click.option("--skill", help="beginner, intermediate (default) or advanced.")
@click.option("--bars", type=int, help="Bars to write, 4..32 (default 8).")
@click.option("--artist", "artists", multiple=True, help="A reference artist (repeatable, at most 8).")
@_task_options
@pass_settings
def create(settings: Settings, key: str, mode: str | None, mood: str | None, skill: str | None, bars: int | None,
           artists: tuple[str, ...], style: str | None, notes: str | None, budget_ms: int | None,
           seed: int | None, favor_close: bool | None, no_wait: bool, poll: bool) -> None:
    """Create a progression in KEY, watch it, print the result."""
    body = _body(key=key, mode=mode, style=style, mood=mood, skillLevel=skill, bars=bars,
                 referenceArtists=list(artists) or None, favorCloseVoicings=favor_close, notes=notes,
                 budgetMs=budget_ms, seed=seed)
    _run_task(settings, "create", body, no_wait, poll)


@cli.command()
@click.argument("task_id")
@click.option("--poll", is_flag=True, help="Read progress from the status route, not the event stream.")
@pass_settings
def watch(settings: Settings, task_id: str, poll: bool) -> None:
    """Watch TASK_ID to its end with a progress bar, then print its result."""
    with settings.client() as client:
        _watch(settings, client, task_id, poll)


@cli.command()
@click.argument("task_id")
@pass_settings
def status(settings: Settings, task_id: str) -> None:
    """Print TASK_ID's state once (and its result when it has one)."""
    with settings.client() as client:
        view = client.task_status(task_id)
    if settings.as_json:
        settings.emit_json(view)
        return
    settings.out.print(render.task_line(view))
    if view.get("state") == "Completed":
        settings.out.print(render.task_result(view))


@cli.command()
@click.argument("task_id")
@pass_settings
def cancel(settings: Settings, task_id: str) -> None:
    """Cancel TASK_ID (a task that already finished is refused)."""
    with settings.client() as client:
        answer = client.cancel_task(task_id)
    if settings.as_json:
        settings.emit_json(answer)
    else:
        settings.out.print(render.text(f"task {answer.get('taskId')}: {answer.get('state')}"))


# -- player sessions ------------------------------------------------------------------------------------
@cli.command()
@click.argument("player_id")
@click.argument("shape_id")
@click.option("--success/--failure", "success", required=True, help="Whether the attempt succeeded.")
@click.option("--time-ms", type=float, required=True, help="How long the attempt took, in ms.")
@click.option("--attempts", type=int, default=1, show_default=True, help="Tries it took.")
@pass_settings
def record(settings: Settings, player_id: str, shape_id: str, success: bool, time_ms: float, attempts: int) -> None:
    """Record one practice attempt of SHAPE_ID (a chord shape such as Cmaj7-drop2) by PLAYER_ID."""
    body = {"playerId": player_id, "shapeId": shape_id, "success": success, "timeMs": time_ms,
            "attempts": attempts}
    with settings.client() as client:
        answer = client.record_performance(body)
    if settings.as_json:
        settings.emit_json(answer)
    else:
        settings.out.print(render.record_answer(answer))


@cli.command()
@click.argument("player_id")
@pass_settings
def stats(settings: Settings, player_id: str) -> None:
    """Show PLAYER_ID's session stats and the recommended exercise."""
    with settings.client() as client:
        figures = client.player_stats(player_id)
        advice = client.recommended_exercise(player_id)
    if settings.as_json:
        settings.emit_json({"stats": figures, "recommendation": advice})
        return
    settings.out.print(render.player_stats(figures))
    settings.out.print(render.recommendation(advice))


@cli.command()
@click.argument("player_id")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many events (default: until Ctrl-C).")
@pass_settings
def follow(settings: Settings, player_id: str, count: int | None) -> None:
    """Follow PLAYER_ID's difficulty live, one line per recorded attempt or performance report."""
    seen = 0
    with settings.client() as client:
        for event in player_updates(client, player_id):
            if settings.as_json:
                settings.emit_json({"event": event.event, "id": event.id, "data": event.data})
            else:
                settings.out.print(render.difficulty_event(event.event, event.data))
            seen += 1
            if count is not None and seen >= count:
                return


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="practice")


if __name__ == "__main__":
    main()
