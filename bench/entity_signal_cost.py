"""CPU cost of one entity signal through the dispatcher, without HTTP (issue 14): enqueue, batch, commits.

`python -m bench.entity_signal_cost [--signals N] [--keys K] [--before REV]` starts a dispatcher in
this process on a fresh SQLite store with the bench app (bench/app, its `Counter` entity), sends
N `add 1` signals over K entities from 48 concurrent tasks (as the HTTP benchmark's client does),
waits until every one is applied, checks the entities' sum, and prints the process CPU
microseconds per signal. That is the durable engine's share of a signal through the management
API (each signal's enqueue commit, the entity batches through the SDK, the state commits), on
one core (metrics on, and the collector settings of a started host where the code has them),
without the HTTP server and load client that make the HTTP figures noisy. With `--before REV`
it also runs, alternately, on the code of commit REV (see bench.entity_op_cost) and prints the
after/before ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONCURRENCY = 48
APP = Path(__file__).resolve().parent / "app"


async def _signals(signals: int, keys: int, data: Path) -> float:
    from funchost import sdk_patches
    from funchost.activities import ActivityRunner
    from funchost.discovery import load_app
    from funchost.dispatcher import Dispatcher
    from funchost.store import Store
    from funchost.telemetry.providers import Observability

    sdk_patches.apply_from(os.environ)
    functions = load_app(APP)
    store = Store(data / "bench.sqlite3")
    observability = Observability(enabled=True)  # metrics on, as the host's default
    dispatcher = Dispatcher(store, functions, ActivityRunner(functions), observability.host_telemetry)
    dispatcher.start()
    try:  # the host's collector settings once started (funchost.cli), where this tree has them
        from funchost.gc_tuning import settle_heap
    except ImportError:
        pass
    else:
        settle_heap()
    queue = list(range(signals))

    async def sender() -> None:
        while queue:
            index = queue.pop()
            await dispatcher.signal_entity(f"@counter@k{index % keys}", "add", "1")

    try:
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))  # warm-up round: imports, pages
        queue.extend(range(signals))
        while not dispatcher.idle():
            await asyncio.sleep(0.001)
        began = time.process_time()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        while not dispatcher.idle():
            await asyncio.sleep(0.001)
        spent = time.process_time() - began
        total = sum(int(dispatcher.read_entity(f"@counter@k{k}")[1] or 0) for k in range(keys))
        if total != 2 * signals:
            raise SystemExit(f"entities sum to {total}, expected {2 * signals}")
    finally:
        await dispatcher.stop(grace_s=0)
        store.close()
        observability.shutdown()
    return spent / signals * 1e6


def measure(signals: int, keys: int) -> float:
    """Process CPU microseconds per signal (enqueue, batch, commits) over `keys` entities."""
    with tempfile.TemporaryDirectory(prefix="funchost-signal-cost-") as tmp:
        return asyncio.run(_signals(signals, keys, Path(tmp)))


def _run_in(tree: Path, signals: int, keys: int) -> float:
    """`measure` in a fresh interpreter importing the packages of `tree`."""
    code = (f"import sys, importlib.util; sys.path.insert(0, {str(tree)!r}); "
            f"spec = importlib.util.spec_from_file_location('entity_signal_cost', {str(Path(__file__).resolve())!r}); "
            f"module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
            f"print(module.measure({signals}, {keys}))")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                          check=True, timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.entity_signal_cost", description=__doc__)
    parser.add_argument("--signals", type=int, default=10000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--before", default=None, help="also measure this commit, alternately, and compare")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    if args.before is None:
        print(f"{measure(args.signals, args.keys):.1f} us per signal over {args.keys} entities")
        return
    from .ab_compare import exported

    with exported(args.before) as tree:
        results: dict[str, list[float]] = {"before": [], "after": []}
        for round_index in range(args.rounds):
            for side in ("before", "after") if round_index % 2 == 0 else ("after", "before"):
                results[side].append(_run_in(tree if side == "before" else here, args.signals, args.keys))
    for side, values in results.items():
        print(f"{side:>6}: {statistics.median(values):7.1f} us per signal (median of {len(values)}: "
              f"{', '.join(f'{v:.0f}' for v in values)})")
    print(f"after/before: x{statistics.median(results['after']) / statistics.median(results['before']):.3f}")


if __name__ == "__main__":
    main()
