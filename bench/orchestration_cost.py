"""CPU cost of one five-activity orchestration through the host's durable engine, without HTTP (issue 14).

`python -m bench.orchestration_cost [--count N] [--rounds R] [--before REV] [--profile FILE]` wires a
host's store, dispatcher, activity runner, telemetry (metrics) and console (to /dev/null) in one
process as `funchost.server.Host` does (with the collector settings of `funchost start`), starts N
`five_activities` orchestrations of bench/app from 32 concurrent starters through
`Dispatcher.start_orchestration`, waits for each to complete, and prints the process CPU
microseconds per orchestration (all threads: the loop, the activity threads, the store's writer).
No HTTP and no load client share the process, so this is steadier than the HTTP benchmark on a
shared machine. With `--before REV` the same measurement also runs, alternately, on the code of
commit REV (exported with `git archive`) and the after/before ratio is printed; `--profile FILE`
writes a cProfile of one round of the working tree.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONCURRENCY = 32
WARM = 50


async def _run(count: int, data: Path) -> float:
    """CPU microseconds per orchestration for `count` orchestrations on a fresh host in `data`."""
    from funchost import console, sdk_patches
    from funchost.activities import ActivityRunner
    from funchost.config import HostConfig
    from funchost.discovery import load_app
    from funchost.dispatcher import Dispatcher
    from funchost.store import Store
    from funchost.telemetry import Observability

    app = Path(__file__).resolve().parent / "app"
    config = HostConfig(script_root=app, data_dir=data)
    sdk_patches.apply_from(os.environ)
    console.install({}, "WARNING", False, stream=open(os.devnull, "w"))
    observability = Observability(enabled=True)
    functions = load_app(app, config)
    store = Store(data / "durable.sqlite3")
    runner = ActivityRunner(functions, config.max_concurrent_activities, config.activity_threads)
    dispatcher = Dispatcher(store, functions, runner, observability.host_telemetry)
    observability.observe(dispatcher)
    dispatcher.start()
    try:  # as `funchost start` does once the host runs (trees from before it have no such module)
        from funchost import gc_tuning
    except ImportError:
        pass
    else:
        gc_tuning.settle_heap()

    async def batch(prefix: str, n: int) -> None:
        next_index = 0

        async def lane() -> None:
            nonlocal next_index
            while next_index < n:
                index = next_index
                next_index += 1
                instance_id = await dispatcher.start_orchestration("five_activities", f"{prefix}{index}", "0")
                row = await dispatcher.wait_for_completion(instance_id, 60.0)
                if row is None or row.instance.status != "Completed":
                    raise RuntimeError(f"{instance_id} did not complete: {row}")

        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))

    await batch("warm-", WARM)
    began = time.process_time()
    await batch("run-", count)
    spent = time.process_time() - began
    await dispatcher.stop(1.0)
    store.close()
    return spent / count * 1e6


def measure(count: int, profile: str | None = None) -> float:
    """`_run` in a temporary data folder; optionally under cProfile, written to `profile`."""
    with tempfile.TemporaryDirectory(prefix="funchost-orch-cost-") as tmp:
        if profile is None:
            return asyncio.run(_run(count, Path(tmp)))
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, _run(count, Path(tmp)))
        profiler.dump_stats(profile)
        return float(result)


def _run_in(tree: Path, count: int) -> float:
    """`measure` in a fresh interpreter importing the funchost package of `tree`."""
    code = (f"import sys, importlib.util; sys.path.insert(0, {str(tree)!r}); "
            f"spec = importlib.util.spec_from_file_location('orchestration_cost', {str(Path(__file__).resolve())!r}); "
            f"module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
            f"print(module.measure({count}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tree)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orchestration_cost", description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default=None, help="a commit to compare the working tree with")
    parser.add_argument("--profile", default=None, help="write a cProfile of one round here")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    if args.profile:
        print(f"profiled round: {measure(args.count, args.profile):.0f} us per orchestration")
        return
    after: list[float] = []
    before: list[float] = []
    with tempfile.TemporaryDirectory(prefix="funchost-orch-before-") as tmp:
        tree = Path(tmp)
        if args.before:
            archive = subprocess.run(["git", "archive", "--format=tar", args.before], cwd=here, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-xf", "-", "-C", str(tree)], input=archive, check=True)
        for index in range(args.rounds):
            order = [("after", here), ("before", tree)] if index % 2 == 0 else [("before", tree), ("after", here)]
            for side, root in order:
                if side == "before" and not args.before:
                    continue
                (after if side == "after" else before).append(_run_in(root, args.count))
    text = io.StringIO()
    text.write(f"after:  {statistics.median(after):7.0f} us CPU per orchestration  "
               f"(rounds {[round(a) for a in after]})\n")
    if before:
        text.write(f"before: {statistics.median(before):7.0f} us CPU per orchestration  "
                   f"(rounds {[round(b) for b in before]})\n")
        ratios = [a / b for a, b in zip(after, before, strict=True)]
        text.write(f"after/before: x{statistics.median(ratios):.3f} (median of paired rounds)\n")
    print(text.getvalue(), end="")


if __name__ == "__main__":
    main()
