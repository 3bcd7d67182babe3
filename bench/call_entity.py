"""Call-entity round trip from an orchestration on funchost: p50/p99 per call.

Setup: one funchost subprocess (bench/app, fresh store), idle apart from this run. The
orchestrator `call_entity_loop` calls `Counter.add(1)` N times in sequence; it is started with
`POST /orchestrators/call_entity_loop/{id}?timeout=...&pollingInterval=...` and the client waits for the
result.
Headline: LOOPS orchestrations of SHORT_N calls each, run one after the other, all calls pooled
(short histories, like most real orchestrations). Beside it, one loop of LONG_N calls shows how
the round trip grows with the history every episode replays.

An orchestrator cannot time itself, so the round trips are read from the history
(`GET /instances/{id}?showHistory=true&showHistoryOutput=true`), whose timestamps are taken by
the host with microsecond resolution:
- cycle (the headline): from one `EventSent` (the episode that issued call i) to the next
  `EventSent` (the episode that received the response of call i and issued call i+1), and to
  `ExecutionCompleted` for the last call. That is the full round trip the orchestration sees:
  commit of the call, the entity batch and its commit, and the orchestrator's wake-up and replay.
- entity leg: `EventSent` -> the matching `EventRaised` (stamped when the entity produced the
  response), i.e. the cycle without the response's commit and the orchestrator's next episode.
- client mean: (client-observed total time) / calls, which also includes the HTTP start and reply.
The cycle is the most accurate per-call figure; it is what the target applies to.
Target (issue 2): p50 <= 2 ms.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from tests.hostproc import HostProcess

from .common import DURABLE, Figures, bench_main, log, ms, parse_iso, percentile, running_host

SHORT_N = 20
FULL_LOOPS = 50
QUICK_LOOPS = 10
FULL_LONG_N = 200
QUICK_LONG_N = 100
WARM_N = 20


def run_loop(host: HostProcess, calls: int) -> tuple[list[dict[str, Any]], float]:
    """Run one loop of `calls` calls to completion; returns (history events, client-side seconds)."""
    instance_id = f"ce-{uuid.uuid4().hex[:12]}"
    began = time.perf_counter()
    reply = host.request("POST", f"{DURABLE}/orchestrators/call_entity_loop/{instance_id}"
                                 "?timeout=300&pollingInterval=1", calls, timeout=320)
    elapsed = time.perf_counter() - began
    if reply.status != 200 or reply.json() != calls:
        raise RuntimeError(f"call_entity_loop {instance_id} did not complete: {reply.status} {reply.body[:300]!r}")
    status = host.request("GET", f"{DURABLE}/instances/{instance_id}?showHistory=true&showHistoryOutput=true")
    return list(status.json()["historyEvents"]), elapsed


def cycles(history: list[dict[str, Any]]) -> list[float]:
    """Seconds between consecutive EventSent events, and from the last one to ExecutionCompleted."""
    marks = [parse_iso(e["Timestamp"]) for e in history if e["EventType"] in ("EventSent", "ExecutionCompleted")]
    return [later - earlier for earlier, later in itertools.pairwise(marks)]


def entity_legs(history: list[dict[str, Any]]) -> list[float]:
    """Seconds from each EventSent to the EventRaised answering it (matched by request id)."""
    sent: dict[str, float] = {}
    legs: list[float] = []
    for ev in history:
        if ev["EventType"] == "EventSent":
            request_id = json.loads(ev["Input"]).get("id")
            sent[request_id] = parse_iso(ev["Timestamp"])
        elif ev["EventType"] == "EventRaised" and ev.get("Name") in sent:
            legs.append(parse_iso(ev["Timestamp"]) - sent.pop(ev["Name"]))
    return legs


def figures(histories: list[list[dict[str, Any]]], client_s: float, long_history: list[dict[str, Any]]) -> Figures:
    cycle = [c for history in histories for c in cycles(history)]
    legs = [leg for history in histories for leg in entity_legs(history)]
    long_cycle = cycles(long_history)
    tail = long_cycle[-max(1, len(long_cycle) // 10):]
    return {
        "call_entity_p50_ms": ms(percentile(cycle, 50)),
        "call_entity_p99_ms": ms(percentile(cycle, 99)),
        "call_entity_mean_ms": ms(sum(cycle) / len(cycle)) if cycle else None,
        "call_entity_entity_leg_p50_ms": ms(percentile(legs, 50)),
        "call_entity_client_mean_ms": ms(client_s / len(cycle)) if cycle else None,
        "call_entity_calls": len(cycle),
        "call_entity_shape": f"{len(histories)} orchestrations x {SHORT_N} sequential calls",
        "call_entity_long_calls": len(long_cycle),
        "call_entity_long_p50_ms": ms(percentile(long_cycle, 50)),
        "call_entity_long_last10pct_mean_ms": ms(sum(tail) / len(tail)) if tail else None,
        "call_entity_method": "history EventSent->EventSent cycle (headline); client total/calls beside it",
    }


def run(quick: bool = False) -> Figures:
    loops = QUICK_LOOPS if quick else FULL_LOOPS
    long_n = QUICK_LONG_N if quick else FULL_LONG_N
    with running_host() as host:
        run_loop(host, WARM_N)
        log(f"call_entity: {loops} orchestrations x {SHORT_N} sequential calls, then one of {long_n} calls")
        histories: list[list[dict[str, Any]]] = []
        client_s = 0.0
        for _ in range(loops):
            history, elapsed = run_loop(host, SHORT_N)
            histories.append(history)
            client_s += elapsed
        long_history, _ = run_loop(host, long_n)
    return figures(histories, client_s, long_history)


def main() -> None:
    bench_main("call_entity", run, __doc__ or "")


if __name__ == "__main__":
    main()
