"""The guitar app's terminal client: start agent tasks, watch them, record practice, read stats.

A client of the app's HTTP API only (it imports nothing of the app), not deployed with it (.funcignore).
"""

from practice_cli.cli import cli, main
from practice_cli.client import ApiClient
from practice_cli.errors import ApiError, CliError, HostUnreachable

__all__ = ["ApiClient", "ApiError", "CliError", "HostUnreachable", "cli", "main"]
