"""Dashboards and alert rules as code: PromQL in `promql`, Grafana dashboards in `boards` (built with
Grafana's `grafana-foundation-sdk`), alert rules in `alert_rules`; `python -m dashboards.build` writes
the JSON and YAML files this directory and `alerts/` hold."""
