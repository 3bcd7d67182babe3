"""Host metrics under load, and replay safety, on the conformance app in a fresh funchost process.

The conformance app's `Slow` entity sleeps a few milliseconds per `work` operation, so a burst of
signals fills its mailbox faster than it drains; `metered_steps` is an orchestration of N activity
steps that counts a metric after each step only when `context.is_replaying` is false (and, as the
wrong way, once more unguarded).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE_APP
from tests.hostproc import HostProcess
from tests.observability.exposition import Exposition

SIGNALS = 200
OP_SLEEP_MS = 3
KEY = f"burst-{uuid.uuid4().hex}"
_DEPTH = re.compile(r'^funchost_entity_mailbox_depth\{entity="slow"[^}]*\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    process = HostProcess(CONFORMANCE_APP, Path(tmp_path_factory.mktemp("host-metrics")),
                          env={"FUNCHOST_TELEMETRY": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    process.start()
    yield process
    process.stop()


@pytest.mark.parametrize("steps", [5])
def test_orchestrator_metric_counts_each_step_once_not_once_per_replay(host: HostProcess, steps: int) -> None:
    reply = host.request("POST", "/api/client/start", {"name": "metered_steps", "input": steps})
    assert host.wait_status(reply.json()["result"])["runtimeStatus"] == "Completed"
    metrics = Exposition.scrape(host)
    assert metrics.value("conformance_metered_steps_total") == steps
    # The same increment without the guard runs again in every later episode's replay: N(N+1)/2.
    assert metrics.value("conformance_unguarded_steps_total") == steps * (steps + 1) // 2


def _mailbox_depth(host: HostProcess) -> float:
    match = _DEPTH.search(host.request("GET", "/metrics").body.decode())
    assert match, "funchost_entity_mailbox_depth has no series for the Slow entity"
    return float(match.group(1))


def test_mailbox_depth_rises_under_a_burst_and_drains_to_zero(host: HostProcess) -> None:
    before = Exposition.scrape(host)
    assert _mailbox_depth(host) == 0
    depths: list[float] = []
    done = threading.Event()

    def scrape_fast() -> None:
        while not done.is_set():
            depths.append(_mailbox_depth(host))

    scraper = threading.Thread(target=scrape_fast)
    scraper.start()
    path = f"/runtime/webhooks/durabletask/entities/Slow/{KEY}?op=work"
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: host.request("POST", path, OP_SLEEP_MS).status, range(SIGNALS)))
        assert statuses == [202] * SIGNALS
        host.wait_entity(f"Slow/{KEY}", SIGNALS, timeout=30)  # the burst was applied
    finally:
        done.set()
        scraper.join()
    assert max(depths) > 0, f"no scrape saw a waiting operation in {len(depths)} scrapes"
    assert _mailbox_depth(host) == 0

    after = Exposition.scrape(host)

    def added(metric: str, **labels: str) -> float:
        return after.value(metric, **labels) - before.value(metric, **labels)

    assert added("funchost_entity_operations_total", entity="slow", operation="work", outcome="completed") == SIGNALS
    assert added("funchost_entity_operation_duration_seconds_count", entity="slow") == SIGNALS
    assert added("funchost_entity_queue_wait_seconds_count", entity="slow") == SIGNALS
    assert added("funchost_entity_batch_size_sum", entity="slow") == SIGNALS
    batches = added("funchost_entity_batch_size_count", entity="slow")
    assert 1 <= batches < SIGNALS, "a mailbox that filled up is drained in batches of more than one"
    assert added("funchost_entity_operation_duration_seconds_sum", entity="slow") >= SIGNALS * OP_SLEEP_MS / 1000 * 0.9
    assert after.value("funchost_entities_active", entity="slow") == 0
    assert after.value("funchost_work_items_pending", kind="entity") == 0


def test_no_label_value_carries_the_entity_key_or_an_instance_id(host: HostProcess) -> None:
    reply = host.request("POST", "/api/client/start", {"name": "counter_orchestration", "input": KEY})
    instance_id = reply.json()["result"]
    host.wait_status(instance_id)
    offenders = [(name, label, value) for name, label, value in Exposition.scrape(host).label_values()
                 if KEY in value or instance_id in value or re.search(r"[0-9a-f]{12,}", value)]
    assert not offenders


def _file_sizes(host: HostProcess) -> dict[str, int]:
    database = host.data_dir / "durable.sqlite3"
    wal = database.with_name(database.name + "-wal")
    return {"database": database.stat().st_size, "wal": wal.stat().st_size if wal.exists() else 0}


def test_store_size_is_the_database_and_its_wal_on_disk(host: HostProcess) -> None:
    reply = host.request("POST", "/api/client/start", {"name": "metered_steps", "input": 2})
    assert host.wait_status(reply.json()["result"])["runtimeStatus"] == "Completed"
    before = _file_sizes(host)
    scraped = Exposition.scrape(host)
    after = _file_sizes(host)
    sizes = {s.labels["file"]: s.value for s in scraped.find("funchost_store_size_bytes")}
    assert set(sizes) == {"database", "wal"}
    assert sizes["database"] >= 4096 and sizes["wal"] > 0  # a written store in WAL mode has both
    for file, size in sizes.items():  # the host may commit between the stat calls and the scrape
        assert min(before[file], after[file]) <= size <= max(before[file], after[file]), file
