"""Run every benchmark (funchost and the durabletask peer) in one go, print one table, save JSON.

`python -m bench.run_all [--quick]` (what `make bench` runs). Modules run one after the other, each
in a try block so one failure is recorded and the rest still run. The table compares funchost with
the peer measured in the same invocation; ratio = funchost / peer (for rates higher is better, for
milliseconds lower is better). Targets are issue 2's; "met?" is informational: benchmarks on a
shared 2-core machine print and save figures, they never fail on timing. Results, the machine and
the load average around each module go to bench/results/latest.json, the table as Markdown to latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import (
    agent_tasks,
    call_entity,
    ceiling,
    console_overhead,
    entity_rss,
    entity_signals,
    load_test,
    metrics_overhead,
    orchestrations,
    peer,
    record_performance,
    startup,
)
from .common import RESULTS_DIR, Figure, Figures, log, machine, print_figures

MODULES: list[tuple[str, Callable[[bool], Figures]]] = [
    ("ceiling", ceiling.run),
    ("startup", startup.run),
    ("entity_signals", entity_signals.run),
    ("orchestrations", orchestrations.run),
    ("call_entity", call_entity.run),
    ("peer", peer.run),
    ("entity_rss", entity_rss.run),
    ("metrics_overhead", metrics_overhead.run),
    ("console_overhead", console_overhead.run),
    ("record_performance", record_performance.run),
    ("agent_tasks", agent_tasks.run),
    ("load_test", load_test.run),
]


@dataclass(frozen=True)
class Target:
    op: str
    value: float

    def met(self, value: Figure) -> str | None:
        if value is None:
            return None  # not measured in this run (`--only`, or the ratio has no peer figure)
        if not isinstance(value, int | float):
            return "no"
        return "yes" if (value >= self.value if self.op == ">=" else value <= self.value) else "no"

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Row:
    label: str
    module: str
    key: str
    peer_key: str | None = None
    target: Target | None = None
    ceiling_key: str | None = None  # the `ceiling` module's figure for the same load client
    ratio_target: bool = False  # the target applies to the ratio to the peer, not to the figure


RECORD_CEILING = "ceiling_record_per_s"
SIGNAL_CEILING = "ceiling_signals_acked_per_s"
ROWS = [
    Row("trivial aiohttp handler req/s (record client)", "ceiling", "ceiling_record_per_s"),
    Row("trivial aiohttp handler p99 ms (record client)", "ceiling", "ceiling_record_p99_ms"),
    Row("trivial aiohttp handler req/s (signal client)", "ceiling", "ceiling_signals_acked_per_s"),
    Row("trivial handler CPU us per request (record client)", "ceiling", "ceiling_record_server_cpu_us_per_request"),
    Row("entity signals applied/s, 1000 entities", "entity_signals", "signals_many_applied_per_s",
        "signals_many_applied_per_s", Target(">=", 10000), SIGNAL_CEILING),
    Row("entity signals acked/s, 1000 entities", "entity_signals", "signals_many_acked_per_s",
        "signals_many_acked_per_s", None, SIGNAL_CEILING),
    Row("entity signals applied/s, one hot entity", "entity_signals", "signals_hot_applied_per_s",
        "signals_hot_applied_per_s", Target(">=", 10000), SIGNAL_CEILING),
    Row("entity signals acked/s, one hot entity", "entity_signals", "signals_hot_acked_per_s",
        "signals_hot_acked_per_s", None, SIGNAL_CEILING),
    Row("signals applied / trivial handler, side by side", "entity_signals", "signals_many_applied_of_ceiling",
        None, Target(">=", 0.8)),
    Row("host CPU us per signal, 1000 entities", "entity_signals", "signals_many_host_cpu_us_per_signal"),
    Row("host CPU us per signal, one hot entity", "entity_signals", "signals_hot_host_cpu_us_per_signal"),
    Row("five-activity orchestrations completed/s", "orchestrations", "orch_completed_per_s",
        "orch_completed_per_s", Target(">=", 8), SIGNAL_CEILING, ratio_target=True),
    Row("call-entity round trip p50 ms (20-call orch.)", "call_entity", "call_entity_p50_ms",
        "call_entity_p50_ms", Target("<=", 2)),
    Row("call-entity round trip p99 ms (20-call orch.)", "call_entity", "call_entity_p99_ms",
        "call_entity_p99_ms"),
    Row("call-entity round trip p50 ms (long orch.)", "call_entity", "call_entity_long_p50_ms",
        "call_entity_long_p50_ms"),
    Row("host start-to-ready median s", "startup", "startup_median_s", None, Target("<=", 1.5)),
    Row("host start, self-reported s", "startup", "startup_self_reported_median_s"),
    Row("host RSS MB with N entities stored", "entity_rss", "rss_mb", None, Target("<=", 300)),
    Row("console on/off applied-rate ratio", "console_overhead", "console_on_over_off", None, Target(">=", 0.95)),
    Row("console on/off host CPU per signal", "console_overhead", "console_cpu_ratio_on_over_off"),
    Row("metrics on/off applied-rate ratio", "metrics_overhead", "metrics_over_off", None, Target(">=", 0.9)),
    Row("metrics on/off host CPU per signal", "metrics_overhead", "metrics_cpu_ratio_over_off", None,
        Target("<=", 1.1)),
    Row("metrics + every request traced (OTLP) on/off rate", "metrics_overhead", "traced_over_off", None,
        Target(">=", 0.9)),
    Row("every request traced / metrics only, rate", "metrics_overhead", "traced_over_metrics", None,
        Target(">=", 0.7)),
    Row("metrics + 1% of requests traced (OTLP) on/off rate", "metrics_overhead", "traced_1pct_over_off", None,
        Target(">=", 0.9)),
    Row("record-performance req/s, 32 clients", "record_performance", "alone_per_s", None, Target(">=", 1000),
        RECORD_CEILING),
    Row("record-performance / trivial handler, side by side", "record_performance", "alone_of_ceiling", None,
        Target(">=", 0.35)),
    Row("record-performance p99 ms", "record_performance", "alone_p99_ms", None, Target("<=", 50)),
    Row("record-performance p99 / trivial handler p99", "record_performance", "alone_p99_over_ceiling_p99", None,
        Target("<=", 3)),
    Row("record-performance host CPU us per request", "record_performance", "alone_host_cpu_us_per_request"),
    Row("record-performance p99 ms beside 4 agent tasks", "record_performance", "with_agents_p99_ms", None,
        Target("<=", 100)),
    Row("record p99 beside 4 agent tasks / alone p99", "record_performance", "with_agents_p99_over_alone_p99",
        None, Target("<=", 2)),
    Row("host RSS MB with N player sessions", "record_performance", "rss_mb_with_sessions", None,
        Target("<=", 300)),
    Row("agent cancel -> Cancelled p99 ms (worker processes)", "agent_tasks", "processes_cancel_to_cancelled_p99_ms",
        None, Target("<=", 100)),
    Row("agent search stops after cancel p99 ms (processes)", "agent_tasks", "processes_search_stop_p99_ms", None,
        Target("<=", 100)),
    Row("20 agent tasks, slowest s past budget (processes)", "agent_tasks", "processes_concurrent_max_over_budget_s",
        None, Target("<=", 3)),
    Row("default 8-chord spice-up median s (processes)", "agent_tasks", "processes_spice_up_median_s", None,
        Target("<=", 2)),
    Row("load test 60 s at 1000 req/s: error rate", "load_test", "error_rate", None, Target("<=", 0)),
    Row("load test 60 s at 1000 req/s: p99 ms", "load_test", "p99_ms"),
    Row("agent cancel -> Cancelled p99 ms (threads)", "agent_tasks", "threads_cancel_to_cancelled_p99_ms"),
    Row("20 agent tasks, slowest s past budget (threads)", "agent_tasks", "threads_concurrent_max_over_budget_s"),
]


def run_module(name: str, run: Callable[[bool], Figures], quick: bool) -> dict[str, Any]:
    """Run one module; its figures, elapsed time, load average around it, or the error it raised."""
    log(f"--- {name}")
    before = os.getloadavg()[0]
    began = time.monotonic()
    record: dict[str, Any] = {"figures": {}, "error": None}
    try:
        record["figures"] = run(quick)
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    record["elapsed_s"] = round(time.monotonic() - began, 1)
    record["loadavg_1m_before_after"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    print_figures(name, record["figures"] or {"error": record["error"]})
    return record


def _fmt(value: Figure, ratio: bool = False) -> str:
    if value is None:
        return "-"
    if ratio and isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value) if len(str(value)) <= 24 else str(value)[:21] + "..."


def _peer_value(peer_figures: Figures, key: str) -> Figure:
    """The peer's figure, or its workload's "did not finish ..." status when it has none."""
    if key in peer_figures:
        return peer_figures[key]
    workload = next((w for w in ("signals_many", "signals_hot", "call_entity") if key.startswith(w)), "orchestrations")
    return peer_figures.get(f"{workload}_status")


def table_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    peer_figures = results.get("peer", {}).get("figures", {})
    ceiling_figures = results.get("ceiling", {}).get("figures", {})
    for row in ROWS:
        figures = results.get(row.module, {}).get("figures", {})
        value = figures.get(row.key)
        peer_value = _peer_value(peer_figures, row.peer_key) if row.peer_key else None
        ratio = None
        if isinstance(value, int | float) and isinstance(peer_value, int | float) and peer_value:
            ratio = round(value / peer_value, 2)
        label = row.label.replace("N entities", f"{figures.get('rss_entities', 'N'):,} entities") \
            if row.key == "rss_mb" and isinstance(figures.get("rss_entities"), int) else row.label
        ceiling_value = ceiling_figures.get(row.ceiling_key) if row.ceiling_key else None
        of_ceiling = None
        if isinstance(value, int | float) and isinstance(ceiling_value, int | float) and ceiling_value:
            of_ceiling = round(value / ceiling_value, 3)
        target = None if row.target is None else ("ratio " if row.ratio_target else "") + str(row.target)
        met = None if row.target is None else row.target.met(ratio if row.ratio_target else value)
        rows.append({"figure": label, "funchost": value, "peer": peer_value if row.peer_key else None,
                     "ratio": ratio, "of_ceiling": of_ceiling, "target": target, "met": met})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ["figure", "funchost", "peer", "ratio", "of ceiling", "target", "met?"]
    cells = [[r["figure"], _fmt(r["funchost"]), _fmt(r["peer"]), _fmt(r["ratio"], ratio=True),
              _fmt(r["of_ceiling"], ratio=True), r["target"] or "-", r["met"] or "-"] for r in rows]
    widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(len(header))]
    print("\n" + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for cell in cells:
        print("  ".join([cell[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cell[1:], widths[1:], strict=True)]))
    print("ratio = funchost / peer (durabletask 1.12 in-memory backend, same machine, same run)")
    print("of ceiling = the figure / a trivial aiohttp JSON handler's rate under the same load client, same run"
          " (bench.ceiling); the '/ trivial handler, side by side' rows measure it right beside the host's run")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The table as Markdown, the form the README's performance section shows (`bench/results/latest.md`)."""
    lines = ["| figure | funchost | peer | ratio | of ceiling | target | met? |", "|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        cells = [r["figure"], _fmt(r["funchost"]), _fmt(r["peer"]), _fmt(r["ratio"], ratio=True),
                 _fmt(r["of_ceiling"], ratio=True), r["target"] or "", r["met"] or ""]
        lines.append("| " + " | ".join(cell if cell != "-" else "" for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (about 2-3 minutes)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these modules")
    args = parser.parse_args()
    began = time.monotonic()
    info = machine()
    results = {name: run_module(name, run, args.quick) for name, run in MODULES
               if args.only is None or name in args.only}
    rows = table_rows(results)
    print_table(rows)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "latest.json"
    document = {"command": "python -m bench.run_all" + (" --quick" if args.quick else ""), "quick": args.quick,
                "machine": info, "total_elapsed_s": round(time.monotonic() - began, 1), "table": rows,
                "modules": results}
    out.write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS_DIR / "latest.md").write_text(markdown_table(rows))
    print(f"\nwrote {out} in {document['total_elapsed_s']} s")


if __name__ == "__main__":
    main()
