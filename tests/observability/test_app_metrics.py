"""The app's attempts counter, observed from an in-process tally, exports what the synchronous counter did.

Both run on the real OpenTelemetry SDK with the host's Prometheus reader setup (no exemplars), each on
its own MeterProvider and registry, and the exposition texts are compared line for line.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

from telemetry.attempts import AttemptCounts
from telemetry.metrics import FAILURE, QUEUE, SUCCESS, TASKS, BreakerReport, _Instruments

NAME, UNIT, DESCRIPTION = "ga_player_attempts", "{attempt}", "Practice attempts recorded, by result"


def _provider() -> tuple[MeterProvider, CollectorRegistry]:
    registry = CollectorRegistry()
    return MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)]), registry


def _exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if NAME in line]


def _both() -> tuple[Callable[[bool], None], Callable[[bool], None], Callable[[], tuple[list[str], list[str]]]]:
    """(record on the app's instruments, record on a synchronous counter, both expositions)."""
    app_provider, app_registry = _provider()
    counts = AttemptCounts()
    _Instruments(app_provider.get_meter("guitar_alchemist"), TASKS, QUEUE, BreakerReport(), counts)
    sync_provider, sync_registry = _provider()
    counter = sync_provider.get_meter("guitar_alchemist").create_counter(NAME, unit=UNIT, description=DESCRIPTION)

    def app(success: bool) -> None:
        counts.add(SUCCESS if success else FAILURE)

    def sync(success: bool) -> None:
        counter.add(1, {"result": SUCCESS if success else FAILURE})

    return app, sync, lambda: (_exposition(app_registry), _exposition(sync_registry))


def test_the_observed_counter_exports_exactly_what_the_synchronous_one_did() -> None:
    app, sync, expositions = _both()
    before_app, before_sync = expositions()
    assert not any("result=" in line for line in before_app)  # no series before the first attempt
    assert before_app == before_sync
    rng = random.Random(14)
    for round_size in (1, 5, 200):  # collected between rounds: cumulative values, series in first-seen order
        for _ in range(round_size):
            success = rng.random() < 0.4
            app(success)
            sync(success)
        found, expected = expositions()
        assert found == expected
    assert any('result="failure"' in line for line in found) and any('result="success"' in line for line in found)


def test_counts_from_many_threads_are_exact() -> None:
    counts = AttemptCounts()

    def work(result: str) -> None:
        for _ in range(2000):
            counts.add(result)

    threads = [threading.Thread(target=work, args=(r,)) for r in (SUCCESS, FAILURE, SUCCESS, FAILURE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    observed: dict[str, Any] = {o.attributes["result"]: o.value for o in counts.observe()}
    assert observed == {SUCCESS: 4000, FAILURE: 4000}
