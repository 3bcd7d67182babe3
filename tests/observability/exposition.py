"""Read the host's `/metrics` (Prometheus text format) with prometheus_client's own parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.hostproc import HostProcess

# Labels the OpenTelemetry exporter adds to every series (the instrumentation scope).
SCOPE_LABELS = frozenset({"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"})

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
DASHBOARD_FILES = ("overview.json", "actors-and-mailboxes.json", "agent-tasks.json", "host-and-http.json")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class Exposition:
    """One scrape of `/metrics`, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [Sample(s.name, {k: v for k, v in s.labels.items() if k not in SCOPE_LABELS}, s.value)
                        for family in text_string_to_metric_families(text) for s in family.samples]
        self.types = {family.name: family.type for family in text_string_to_metric_families(text)}

    @classmethod
    def scrape(cls, host: HostProcess) -> Exposition:
        reply = host.request("GET", "/metrics")
        if reply.status != 200:
            raise AssertionError(f"/metrics answered {reply.status}: {reply.body[:300]!r}")
        return cls(reply.body.decode())

    def find(self, metric: str, /, **labels: str) -> list[Sample]:
        return [s for s in self.samples
                if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, metric: str, /, **labels: str) -> float:
        """The sum over every series of `metric` matching `labels` (0 when there is none)."""
        return sum(s.value for s in self.find(metric, **labels))

    def names(self) -> set[str]:
        return {s.name for s in self.samples}

    def label_values(self) -> Iterator[tuple[str, str, str]]:
        """(sample name, label, value) for every label of every sample, the scope labels excluded."""
        for sample in self.samples:
            for label, value in sample.labels.items():
                yield sample.name, label, value


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) for every target of every panel of the four dashboards."""
    found: list[tuple[str, str, str]] = []

    def walk(file: str, panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                found.append((file, str(panel.get("title")), str(target["expr"])))
            walk(file, panel.get("panels", []))

    for file in DASHBOARD_FILES:
        walk(file, json.loads((DASHBOARDS / file).read_text())["panels"])
    return found


def resolve_grafana_variables(expr: str, job: str = "funchost", instance: str = ".+") -> str:
    """The expression as Grafana sends it, for the intervals the dashboards use and the chosen job and
    instance (the default instance is the dashboards' "All")."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
            .replace("$job", job).replace("$instance", instance))
