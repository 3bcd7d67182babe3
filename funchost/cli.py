"""Command line: `funchost start [--script-root DIR] [--port 7071] [--data PATH] [--host ADDR]`."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
import time
from pathlib import Path

from .errors import AppLoadError
from .server import Host, HostConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funchost", description="Run an Azure Functions Python app locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="serve the function app in the script root")
    start.add_argument("--script-root", type=Path, default=Path.cwd(),
                       help="folder with function_app.py and host.json (default: current folder)")
    start.add_argument("--port", type=int, default=7071, help="HTTP port (default 7071; 0 picks a free one)")
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    start.add_argument("--data", type=Path, default=None,
                       help="folder for the SQLite store (default: <script-root>/.funchost)")
    start.add_argument("--activity-processes", type=int, default=None,
                       help="run sync activities in N worker processes (default: threads)")
    start.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    script_root = args.script_root.resolve()
    config = HostConfig.from_env(script_root, port=args.port, host=args.host, data_dir=args.data,
                                 activity_processes=args.activity_processes)
    try:
        return asyncio.run(_serve(config, began))
    except AppLoadError as exc:
        print(f"funchost: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"funchost: error: port {config.port} on {config.host} is already in use", file=sys.stderr)
        else:
            print(f"funchost: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


async def _serve(config: HostConfig, began: float) -> int:
    host = Host(config)
    try:
        await host.start()
    except BaseException:
        await host.stop(grace_s=0)
        raise
    print("Functions:\n")
    for line in host.routes():
        print(f"        {line}")
    print(f"\nHost started on http://{config.host}:{host.port} in {time.perf_counter() - began:.2f} s "
          f"(data: {config.data_path})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("Stopping host...", flush=True)
    await host.stop()
    print("Host stopped.", flush=True)
    return 0
