"""`funchost instances|entities|watch ...`: operate a running host from the terminal (click + rich).

Every command takes `--url` (default `$FUNCHOST_URL`, else http://127.0.0.1:7071), `--key` (default
`$FUNCHOST_ADMIN_KEY`) and `--json` (print the host's answer as JSON instead of tables). Exit codes:
0 done, 1 the host refused (its message on stderr), 2 usage error, 3 host unreachable; `watch` exits 4
when the instance ends in any state but Completed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.json import JSON
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .admin_client import TERMINAL_STATUSES, AdminApiError, AdminClient, HostUnreachable

DEFAULT_URL = "http://127.0.0.1:7071"
EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_NOT_COMPLETED = 1, 3, 4
STATUS_STYLES = {"Completed": "green", "Failed": "red", "Running": "blue", "Pending": "cyan", "Terminated": "magenta",
                 "Suspended": "yellow", "Canceled": "magenta", "ContinuedAsNew": "cyan"}
F = TypeVar("F", bound=Callable[..., Any])

# Piped output (no terminal, no COLUMNS) is laid out 160 wide rather than rich's 80, so ids stay whole.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
out = Console(highlight=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)
MAX_PRINTED_OUTPUT = 4000  # `watch` prints an output up to this many characters of JSON


class Context:
    """What every command gets: the client and whether to print JSON."""

    def __init__(self, url: str, key: str | None, as_json: bool) -> None:
        self.client = AdminClient(url, key)
        self.as_json = as_json


def common(command: F) -> F:
    """Add --url, --key and --json to a command and hand it a `Context`; turn client errors into exit codes."""

    @click.option("--url", envvar="FUNCHOST_URL", default=DEFAULT_URL, show_default=True,
                  help="the host's base URL (or $FUNCHOST_URL)")
    @click.option("--key", "admin_key", envvar="FUNCHOST_ADMIN_KEY", default=None,
                  help="the host's admin key, sent as x-functions-key (or $FUNCHOST_ADMIN_KEY)")
    @click.option("--json", "as_json", is_flag=True, help="print the host's answer as JSON")
    @functools.wraps(command)
    def wrapper(url: str, admin_key: str | None, as_json: bool, **kwargs: Any) -> Any:
        try:
            return command(Context(url, admin_key, as_json), **kwargs)
        except AdminApiError as exc:
            err.print(f"funchost: error: {exc}", markup=False)
            sys.exit(EXIT_REFUSED)
        except HostUnreachable as exc:
            err.print(f"funchost: error: {exc}", markup=False)
            sys.exit(EXIT_UNREACHABLE)

    return wrapper  # type: ignore[return-value]


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _parse_json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{what} must be JSON ({exc}); quote a string as '\"text\"'") from None


def progress_of(custom_status: Any) -> tuple[float | None, str]:
    """(fraction 0..1 or None, label) from a custom status carrying `progress` (as the agent tasks' does)."""
    value = custom_status
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, value
    if isinstance(value, dict) and isinstance(value.get("progress"), int | float):
        label = ": ".join(str(value[k]) for k in ("stage", "message") if isinstance(value.get(k), str) and value[k])
        return max(0.0, min(1.0, float(value["progress"]))), label
    return None, "" if value is None else json.dumps(value)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text(value: Any) -> Text:
    """A value from the store as plain text: no rich markup, and control characters (a terminal escape
    sequence in an entity's state, say) shown escaped instead of reaching the terminal."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if value is None else str(value)))


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, "white"))


def _custom_cell(custom_status: Any) -> Any:
    fraction, label = progress_of(custom_status)
    if fraction is None:
        return text(label[:60])
    grid = Table.grid(padding=(0, 1))
    grid.add_row(ProgressBar(total=100, completed=fraction * 100, width=16), f"{round(fraction * 100)} %",
                 text(label[:40]))
    return grid


@click.group(name="funchost", context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate a running funchost: its orchestration instances and entities."""


# -- instances ------------------------------------------------------------------------------------------
@cli.group()
def instances() -> None:
    """List, inspect and act on orchestration instances."""


@instances.command("list")
@click.option("--status", "statuses", multiple=True, help="runtime status to show (repeatable), e.g. Running")
@click.option("--prefix", default=None, help="instance id prefix")
@click.option("--created-from", default=None, help="ISO-8601 time: created at or after")
@click.option("--created-to", default=None, help="ISO-8601 time: created at or before")
@click.option("--top", type=click.IntRange(1, 10000), default=50, show_default=True, help="instances per page")
@click.option("--token", default=None, help="continuation token of the page to show (printed under the table)")
@click.option("--all", "follow", is_flag=True, help="follow continuation tokens to the last page")
@common
def instances_list(ctx: Context, statuses: tuple[str, ...], prefix: str | None, created_from: str | None,
                   created_to: str | None, top: int, token: str | None, follow: bool) -> None:
    """Orchestration instances, newest last, one page at a time."""
    items, next_token = ctx.client.list_instances(statuses, prefix, created_from, created_to, top, token)
    while follow and next_token:
        more, next_token = ctx.client.list_instances(statuses, prefix, created_from, created_to, top, next_token)
        items.extend(more)
    if ctx.as_json:
        print_json({"instances": items, "continuationToken": next_token})
        return
    table = Table(title=f"{len(items)} instance(s)", title_justify="left")
    for column in ("Name", "Instance id", "Status", "Created", "Updated", "Custom status"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(text(item["name"]), text(item["instanceId"]), _status(item["runtimeStatus"]),
                      item["createdTime"], item["lastUpdatedTime"], _custom_cell(item.get("customStatus")))
    out.print(table)
    if next_token:
        out.print(f"next page: --token {next_token}", markup=False)


def _facts(status: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("Name", text(status["name"]))
    grid.add_row("Instance id", text(status["instanceId"]))
    grid.add_row("Status", _status(status["runtimeStatus"]))
    grid.add_row("Created", status["createdTime"])
    grid.add_row("Updated", status["lastUpdatedTime"])
    grid.add_row("Custom status", _custom_cell(status.get("customStatus")))
    return grid


def _json_renderable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return text(value)
    return JSON.from_data(value, ensure_ascii=False)


@instances.command("show")
@click.argument("instance_id")
@common
def instances_show(ctx: Context, instance_id: str) -> None:
    """One instance: status, custom status, input and output."""
    status = ctx.client.instance(instance_id)
    if ctx.as_json:
        print_json(status)
        return
    out.print(_facts(status))
    for title in ("input", "output"):
        out.rule(title.capitalize(), align="left")
        out.print(_json_renderable(status.get(title)))


def _seconds_between(start: str | None, end: str | None) -> str:
    from .history import parse_iso

    if not start or not end:
        return ""
    try:
        seconds = (parse_iso(end) - parse_iso(start)).total_seconds()
    except ValueError:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _event_details(event: dict[str, Any]) -> str:
    """The short text of one history event: what failed and why, or what was sent or raised."""
    failure = event.get("FailureDetails")
    if isinstance(failure, dict):
        return str(failure.get("ErrorMessage") or failure)
    if event.get("Reason") or event.get("Details"):
        return " ".join(str(event[k]) for k in ("Reason", "Details") if event.get(k))
    if event["EventType"] in ("TimerCreated", "TimerFired"):
        return f"fires at {event.get('FireAt')}"
    if event["EventType"] in ("EventSent", "SubOrchestrationInstanceCreated"):
        return f"to {event.get('InstanceId')}"
    return ""


@instances.command("history")
@click.argument("instance_id")
@common
def instances_history(ctx: Context, instance_id: str) -> None:
    """An instance's history events with durations (scheduled -> completed) and failures."""
    status = ctx.client.instance(instance_id, history=True)
    events = status.get("historyEvents") or []
    if ctx.as_json:
        print_json(events)
        return
    table = Table(title=text(f"{status['name']} {instance_id}: {len(events)} event(s)"), title_justify="left")
    for column in ("Time", "Event", "Name", "Duration", "Details"):
        table.add_column(column, overflow="fold")
    for event in events:
        kind = event["EventType"]
        name = event.get("FunctionName") or event.get("Name") or ""
        style = "red" if "Failed" in kind else ("green" if kind.endswith("Completed") else "")
        table.add_row(text(event.get("Timestamp")), Text(kind, style=style), text(name),
                      _seconds_between(event.get("ScheduledTime"), event.get("Timestamp")), text(_event_details(event)))
    out.print(table)


def _operation(ctx: Context, instance_id: str, operation: str, reason: str | None, done: str) -> None:
    reply = ctx.client.operation(instance_id, operation, reason)
    if ctx.as_json:
        print_json({"instanceId": instance_id, "operation": operation, "status": reply.status})
    else:
        out.print(f"{instance_id}: {done}", markup=False)


@instances.command("terminate")
@click.argument("instance_id")
@click.option("--reason", default=None, help="why (kept in the history)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@common
def instances_terminate(ctx: Context, instance_id: str, reason: str | None, yes: bool) -> None:
    """End a running instance (it cannot be resumed)."""
    if not yes:
        click.confirm(f"Terminate {instance_id}?", abort=True)
    _operation(ctx, instance_id, "terminate", reason, "termination requested")


@instances.command("suspend")
@click.argument("instance_id")
@click.option("--reason", default=None)
@common
def instances_suspend(ctx: Context, instance_id: str, reason: str | None) -> None:
    """Pause an instance until it is resumed."""
    _operation(ctx, instance_id, "suspend", reason, "suspension requested")


@instances.command("resume")
@click.argument("instance_id")
@click.option("--reason", default=None)
@common
def instances_resume(ctx: Context, instance_id: str, reason: str | None) -> None:
    """Resume a suspended instance."""
    _operation(ctx, instance_id, "resume", reason, "resume requested")


@instances.command("restart")
@click.argument("instance_id")
@click.option("--same-id", is_flag=True, help="restart under the same instance id (default: a new id)")
@common
def instances_restart(ctx: Context, instance_id: str, same_id: bool) -> None:
    """Start the instance's orchestrator again with its original input."""
    links = ctx.client.restart(instance_id, new_instance_id=not same_id)
    if ctx.as_json:
        print_json(links)
    else:
        out.print(f"{instance_id}: restarted as {links['id']}", markup=False)


@instances.command("purge")
@click.argument("instance_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@common
def instances_purge(ctx: Context, instance_id: str, yes: bool) -> None:
    """Delete a finished instance and its history."""
    if not yes:
        click.confirm(f"Purge {instance_id} and its history?", abort=True)
    result = ctx.client.purge(instance_id)
    if ctx.as_json:
        print_json(result)
    else:
        out.print(f"{instance_id}: purged ({result.get('instancesDeleted')} instance(s) deleted)", markup=False)


@instances.command("raise")
@click.argument("instance_id")
@click.argument("event")
@click.argument("data", required=False)
@common
def instances_raise(ctx: Context, instance_id: str, event: str, data: str | None) -> None:
    """Send the external event EVENT with DATA (JSON, default null) to an instance."""
    reply = ctx.client.raise_event(instance_id, event, _parse_json(data, "DATA"))
    if ctx.as_json:
        print_json({"instanceId": instance_id, "event": event, "status": reply.status})
    else:
        out.print(f"{instance_id}: event {event!r} sent", markup=False)


# -- entities -------------------------------------------------------------------------------------------
@cli.group()
def entities() -> None:
    """List, read, signal and delete durable entities."""


@entities.command("list")
@click.option("--name", default=None, help="only entities of this entity name, e.g. PlayerSession")
@click.option("--top", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--token", default=None, help="continuation token of the page to show")
@click.option("--state", "with_state", is_flag=True, help="include each entity's state")
@common
def entities_list(ctx: Context, name: str | None, top: int, token: str | None, with_state: bool) -> None:
    """Entities with their last operation time."""
    items, next_token = ctx.client.list_entities(name, top, token, fetch_state=with_state)
    if ctx.as_json:
        print_json({"entities": items, "continuationToken": next_token})
        return
    table = Table(title=f"{len(items)} entit{'y' if len(items) == 1 else 'ies'}", title_justify="left")
    for column in ("Entity", "Key", "Last operation", *(["State"] if with_state else [])):
        table.add_column(column, overflow="fold")
    for item in items:
        cells = [text(item["entityId"]["name"]), text(item["entityId"]["key"]), text(item["lastOperationTime"])]
        if with_state:
            cells.append(text(json.dumps(item.get("state"), ensure_ascii=False)[:120]))
        table.add_row(*cells)
    out.print(table)
    if next_token:
        out.print(f"next page: --token {next_token}", markup=False)


@entities.command("show")
@click.argument("name")
@click.argument("key")
@common
def entities_show(ctx: Context, name: str, key: str) -> None:
    """One entity's state, as readable JSON."""
    state = ctx.client.entity_state(name, key)
    if ctx.as_json:
        print_json({"entityId": {"name": name.lower(), "key": key}, "state": state})
        return
    out.rule(text(f"{name.lower()} {key}"), align="left", style="bold")
    out.print(_json_renderable(state))


@entities.command("signal")
@click.argument("name")
@click.argument("key")
@click.argument("operation")
@click.argument("data", required=False)
@common
def entities_signal(ctx: Context, name: str, key: str, operation: str, data: str | None) -> None:
    """Send OPERATION with DATA (JSON, optional) to an entity, without waiting for it to run."""
    reply = ctx.client.signal(name, key, operation, _parse_json(data, "DATA"), has_input=data is not None)
    if ctx.as_json:
        print_json({"entityId": {"name": name.lower(), "key": key}, "operation": operation, "status": reply.status})
    else:
        out.print(f"{name.lower()} {key}: {operation} signalled", markup=False)


@entities.command("delete")
@click.argument("name")
@click.argument("key")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@common
def entities_delete(ctx: Context, name: str, key: str, yes: bool) -> None:
    """Delete an entity's state."""
    if not yes:
        click.confirm(f"Delete {name} {key}?", abort=True)
    reply = ctx.client.delete_entity(name, key)
    if ctx.as_json:
        print_json({"entityId": {"name": name.lower(), "key": key}, "deleted": True, "status": reply.status})
    else:
        out.print(f"{name.lower()} {key}: deletion requested", markup=False)


# -- watch ----------------------------------------------------------------------------------------------
def _watch_columns() -> list[Any]:
    # markup=False: the description and label come from the store (see `text`).
    return [TextColumn("{task.description}", markup=False), BarColumn(bar_width=40), TaskProgressColumn(),
            TextColumn("{task.fields[label]}", markup=False), TimeElapsedColumn()]


def _follow(ctx: Context, instance_id: str, interval: float, progress: Progress) -> dict[str, Any]:
    """Poll the instance until it reaches a final state, moving the bar with its custom status."""
    status = ctx.client.instance(instance_id)
    bar = progress.add_task(text(status["name"]).plain, total=None, label="")
    while True:
        fraction, label = progress_of(status.get("customStatus"))
        state = status["runtimeStatus"]
        if fraction is not None:
            progress.update(bar, total=1.0, completed=fraction, label=text(f"{state} {label}".strip()).plain)
        elif state in TERMINAL_STATUSES:  # no progress reported: the end is the only measure
            progress.update(bar, total=1.0, completed=1.0 if state == "Completed" else 0.0, label=state)
        else:
            progress.update(bar, label=state)
        if state in TERMINAL_STATUSES:
            return status
        time.sleep(interval)
        status = ctx.client.instance(instance_id)


@cli.command("watch")
@click.argument("instance_id")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=0.5, show_default=True,
              help="seconds between status reads")
@common
def watch(ctx: Context, instance_id: str, interval: float) -> None:
    """A live progress bar from the instance's custom status until it ends; then its output."""
    console = err if ctx.as_json else out
    with Progress(*_watch_columns(), console=console, transient=False) as progress:
        status = _follow(ctx, instance_id, interval, progress)
    if not console.is_terminal:  # rich ends the final bar with a newline only on a terminal
        console.line()
    if ctx.as_json:
        print_json(status)
    else:
        out.print(Text.assemble(text(instance_id), " ", _status(status["runtimeStatus"])))
        output = status.get("output")
        size = len(json.dumps(output))
        if output is not None and size <= MAX_PRINTED_OUTPUT:
            out.print(_json_renderable(output))
        elif output is not None:
            out.print(f"output: {size} characters of JSON (funchost instances show {instance_id})", markup=False)
    if status["runtimeStatus"] != "Completed":
        sys.exit(EXIT_NOT_COMPLETED)


COMMANDS = frozenset({"instances", "entities", "watch"})


def main(argv: list[str]) -> int:
    """Run one admin command (argv without the program name); returns the exit code."""
    try:
        cli.main(args=argv, prog_name="funchost", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
