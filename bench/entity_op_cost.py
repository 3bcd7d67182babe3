"""CPU cost of one PlayerSession operation through the host's entity path, without HTTP (issue 14).

`python -m bench.entity_op_cost [--ops N] [--before REV] [--metrics] [--cold]` runs `record_attempt` operations, one per
batch, through `funchost.entity_batch.run_batch` and the SDK's entity handle exactly as the host
does (state as JSON text, the SDK patches applied as the host applies them), for a player whose
stored window is full, and prints the mean microseconds per operation. It runs in one process on
one core, so it is far steadier than the HTTP benchmarks on a shared machine. With `--before REV`
the same measurement also runs, alternately, on the code of commit REV (exported with `git
archive`; this file is run from the working tree against that commit's packages), and the
after/before ratio is printed: the side-by-side before/after of a change to the entity path.
`--metrics` first sets up the host's metrics (its MeterProvider with the Prometheus reader, as
`funchost start` does by default), so the app's `ga_*` measurements cost what they cost on the host;
without it they go to the OpenTelemetry API's no-op provider. `--cold` forgets the entity's cached
session before every operation, so each one decodes its state, as a worker that has just loaded the
entity does (on Azure an entity may be unloaded between any two operations).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WARM_OPS = 200
NOW_MS = 1_780_000_000_000


def _operation(index: int) -> object:
    from funchost.entity_batch import Operation

    body = {"success": index % 3 != 0, "timeMs": 800 + (index * 37) % 2400, "attempts": 1 + index % 3,
            "shapeId": f"shape-{index % 24}", "now": NOW_MS + index * 1000}
    return Operation(seq=index, name="record_attempt", input=json.dumps(body), signal=False, request_id="r")


def measure(ops: int, metrics: bool = False, cold: bool = False) -> float:
    """Mean microseconds per `record_attempt` operation, after WARM_OPS operations filled the window."""
    import azure.durable_functions as df

    if metrics:
        from funchost.telemetry.providers import Observability

        Observability(enabled=True)

    from entities import player_session
    from entities.player_session import run_operation
    from funchost import sdk_patches
    from funchost.entity_batch import run_batch

    sdk_patches.apply_from(os.environ)
    handle = df.Entity.create(run_operation)
    cache = getattr(player_session, "_sessions", None) if cold else None
    state, exists = None, False
    for index in range(WARM_OPS + ops):
        if index == WARM_OPS:
            began = time.process_time()
        if cache is not None:
            cache.forget("bench")
        outcome = run_batch(handle, "@playersession@bench", state, exists, [_operation(index)])  # type: ignore[list-item]
        state, exists = outcome.state, outcome.exists
    return (time.process_time() - began) / ops * 1e6


def _run_in(tree: Path, ops: int, metrics: bool, cold: bool) -> float:
    """`measure` in a fresh interpreter importing the packages of `tree`."""
    code = (f"import sys, importlib.util; sys.path.insert(0, {str(tree)!r}); "
            f"spec = importlib.util.spec_from_file_location('entity_op_cost', {str(Path(__file__).resolve())!r}); "
            f"module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
            f"print(module.measure({ops}, {metrics!r}, {cold!r}))")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                          check=True, timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.entity_op_cost", description=__doc__)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--before", default=None, help="also measure this commit, alternately, and compare")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--metrics", action="store_true", help="record the app's metrics as the host does")
    parser.add_argument("--cold", action="store_true", help="no cached session: every operation decodes its state")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    if args.before is None:
        print(f"{measure(args.ops, args.metrics, args.cold):.1f} us per record_attempt operation (full window)")
        return
    from .ab_compare import exported

    with exported(args.before) as tree:
        results: dict[str, list[float]] = {"before": [], "after": []}
        for round_index in range(args.rounds):
            for side in ("before", "after") if round_index % 2 == 0 else ("after", "before"):
                results[side].append(_run_in(tree if side == "before" else here, args.ops, args.metrics,
                                                    args.cold))
    for side, values in results.items():
        print(f"{side:>6}: {statistics.median(values):7.1f} us per operation (median of {len(values)}: "
              f"{', '.join(f'{v:.0f}' for v in values)})")
    print(f"after/before: x{statistics.median(results['after']) / statistics.median(results['before']):.3f}")


if __name__ == "__main__":
    main()
