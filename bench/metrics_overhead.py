"""Cost of telemetry (issue 5): many-entity signal throughput with `FUNCHOST_TELEMETRY=1` versus `=0`.

Each round starts one funchost subprocess with telemetry on and one with it off (alternating which
goes first, so drift on the shared machine hits both), warms it up, and runs the same
many-entities plan as `bench.entity_signals`. Reported: the median applied rate of each setting,
and on/off (1.0 means telemetry is free; 0.9 means it costs 10 % of throughput), with the host
CPU microseconds per signal of each, which is less sensitive to noise from other processes.
"""

from __future__ import annotations

import statistics

from .common import Figures, bench_main, log, running_host
from .entity_signals import many_plan, measure, warm_up
from .load import SignalRun

FULL = {"rounds": 2, "signals": 20000, "keys": 1000}
QUICK = {"rounds": 1, "signals": 5000, "keys": 1000}


def one_run(telemetry: bool, signals: int, keys: int) -> SignalRun:
    with running_host(env={"FUNCHOST_TELEMETRY": "1" if telemetry else "0"}) as host:
        warm_up(host)
        return measure(host, many_plan(signals, keys))


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def run(quick: bool = False) -> Figures:
    sizes = QUICK if quick else FULL
    runs: dict[bool, list[SignalRun]] = {True: [], False: []}
    for round_index in range(sizes["rounds"]):
        order = (True, False) if round_index % 2 == 0 else (False, True)
        for telemetry in order:
            log(f"metrics_overhead: round {round_index + 1}, telemetry {'on' if telemetry else 'off'}")
            runs[telemetry].append(one_run(telemetry, sizes["signals"], sizes["keys"]))
    on = _median([r.acked / r.applied_s if r.applied_s else None for r in runs[True]])
    off = _median([r.acked / r.applied_s if r.applied_s else None for r in runs[False]])
    cpu_on = _median([r.host_cpu_s / r.acked * 1e6 if r.host_cpu_s else None for r in runs[True]])
    cpu_off = _median([r.host_cpu_s / r.acked * 1e6 if r.host_cpu_s else None for r in runs[False]])
    return {
        "telemetry_on_applied_per_s": on,
        "telemetry_off_applied_per_s": off,
        "telemetry_on_over_off": round(on / off, 3) if on and off else None,
        "telemetry_on_host_cpu_us_per_signal": cpu_on,
        "telemetry_off_host_cpu_us_per_signal": cpu_off,
        "telemetry_cpu_ratio_on_over_off": round(cpu_on / cpu_off, 3) if cpu_on and cpu_off else None,
        "telemetry_rounds": sizes["rounds"],
        "telemetry_signals_per_run": sizes["signals"],
    }


def main() -> None:
    bench_main("metrics_overhead", run, __doc__ or "")


if __name__ == "__main__":
    main()
