"""Command line: `funchost start [--script-root DIR] [--port 7071] [--data PATH] [--host ADDR]`."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

from . import console, gc_tuning
from .config import HostConfig, build_for_start
from .errors import AppLoadError, FunchostError, UnsafeBindError
from .local_settings import parse_cors
from .monitor import MONITOR_PATH
from .server import Host

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
ADMIN_COMMANDS = ("instances", "entities", "watch")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: a port is 0-65535 (0 picks a free one)")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level (one of {', '.join(LOG_LEVELS)})")
    return level


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("guitar-alchemist-functions")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (`funchost: error: ...`, exit 2), not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"funchost: error: {message} (see funchost {self.prog.split()[-1]} --help)\n"
                  if " " in self.prog else f"funchost: error: {message} (see funchost --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="funchost", description="Run an Azure Functions Python app locally.",
                     epilog="Against a running host: funchost instances|entities|watch ... (see funchost instances "
                     "--help); the web monitor is at /_funchost/.")
    parser.add_argument("--version", action="version", version=f"funchost {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    start = sub.add_parser("start", help="serve the function app in the script root")
    start.add_argument("--script-root", type=Path, default=Path.cwd(),
                       help="folder with function_app.py and host.json (default: current folder)")
    start.add_argument("--port", type=_port, default=None,
                       help="HTTP port (default: Host.LocalHttpPort of local.settings.json, else 7071; "
                       "0 picks a free one)")
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    start.add_argument("--data", type=Path, default=None,
                       help="folder for the SQLite store (default: <script-root>/.funchost)")
    start.add_argument("--activity-processes", type=_count, default=None,
                       help="run sync activities in N worker processes (default: threads)")
    start.add_argument("--cors", default=None,
                       help="comma-separated origins allowed by CORS, or * (default: Host.CORS of local.settings.json)")
    start.add_argument("--cors-credentials", action="store_true", default=None,
                       help="allow credentialed CORS requests (default: Host.CORSCredentials)")
    start.add_argument("--allowed-hosts", default=None,
                       help="comma-separated Host names to answer besides loopback names, IP addresses and the "
                       "bound address, or * for any (default: FUNCHOST_ALLOWED_HOSTS); guards against DNS rebinding")
    start.add_argument("--allow-unauthenticated", action="store_true", default=None,
                       help="allow a non-loopback --host without any key configured (logs a loud warning)")
    start.add_argument("--log-level", type=_log_level, default="WARNING",
                       help=f"log level of the host's own records: {', '.join(LOG_LEVELS)} (default WARNING)")
    start.add_argument("--verbose", action="store_true",
                       help="log at DEBUG and print a traceback with start-up errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ADMIN_COMMANDS:  # commands against a running host (funchost.admin_cli)
        from .admin_cli import main as admin_main

        return admin_main(argv)
    args = _parser().parse_args(argv)
    logging.basicConfig(level="DEBUG" if args.verbose else args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    script_root = args.script_root.resolve()
    data_dir = args.data.resolve() if args.data is not None else None  # relative to where funchost started
    try:
        config = _prepare_script_root(script_root, args, data_dir)
        console.install(config.settings.log_levels, args.log_level, args.verbose, env=config.app_settings,
                        secrets=[*config.function_keys, config.admin_key or "", config.system_key or ""],
                        host_json_path=config.settings.path)
    except FunchostError as exc:
        return _fail(args, exc, f"funchost: error: {exc}", 2)
    try:
        return asyncio.run(_serve(config, began))
    except (AppLoadError, UnsafeBindError) as exc:
        return _fail(args, exc, f"funchost: error: {exc}", 2)
    except FunchostError as exc:
        return _fail(args, exc, f"funchost: error: {exc}", 1)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(args, exc, f"funchost: error: port {config.port} on {config.host} is already in use "
                         "(pick another with --port N, or make run PORT=N)", 1)
        return _fail(args, exc, f"funchost: error: {exc}", 1)
    except KeyboardInterrupt:
        return 0


def _hosts(text: str | None) -> list[str] | None:
    """`--allowed-hosts a,b` as a list; None (not given) keeps FUNCHOST_ALLOWED_HOSTS."""
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def _prepare_script_root(script_root: Path, args: argparse.Namespace, data_dir: Path | None) -> HostConfig:
    """What Core Tools does before the worker imports the app: settings into the environment, host.json
    read and checked, the configuration built once (CLI over environment over local.settings.json over
    host.json), and the script root as the working directory (for the import, every invocation and the
    worker processes, which inherit it)."""
    if not script_root.is_dir():
        raise AppLoadError(str(script_root), "the script root is not a directory")
    config = build_for_start(
        script_root, port=args.port, host=args.host, data_dir=data_dir, activity_processes=args.activity_processes,
        cors_origins=parse_cors(args.cors) if args.cors is not None else None, cors_credentials=args.cors_credentials,
        allow_unauthenticated=args.allow_unauthenticated, allowed_hosts=_hosts(args.allowed_hosts))
    os.chdir(script_root)
    return config


def _fail(args: argparse.Namespace, exc: BaseException, line: str, code: int) -> int:
    """One line on stderr; the traceback too only with --verbose."""
    if args.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    print(line, file=sys.stderr)
    return code


async def _serve(config: HostConfig, began: float) -> int:
    host = Host(config)
    try:
        await host.start()
    except BaseException:
        await host.stop(grace_s=0)
        raise
    gc_tuning.tune_for_host()
    print("Functions:\n")
    for line in host.routes():
        print(f"        {line}")
    print(f"\nHost started on http://{config.host}:{host.port} in {time.perf_counter() - began:.2f} s "
          f"(data: {config.data_path})")
    print(f"Monitor: http://{config.host}:{host.port}{MONITOR_PATH}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("Stopping host...", flush=True)
    await host.stop()
    print("Host stopped.", flush=True)
    return 0
