// The host: functions served, mailbox depth per entity type, throughput and latency from its own
// /metrics (Prometheus text), and the size of its store.

import { api } from "./api.js";
import { fill, formatBytes, formatSeconds, h, table } from "./dom.js";
import { notify } from "./ui.js";

const REFRESH_MS = 5000;
const FIRST_REFRESH_MS = 1000;

/** Samples of Prometheus text exposition: [{name, labels, value}]. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of String(text).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[3] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

const sum = (samples, name, filter = () => true) =>
  samples.filter((s) => s.name === name && filter(s.labels)).reduce((total, s) => total + s.value, 0);

/** Totals the view shows, from one scrape. */
function totals(samples) {
  // The app's own traffic: not the monitor, the management API, the admin API or the scrape itself.
  const app = (labels) => !/^\/(_funchost|durabletask|runtime\/webhooks|admin\/|metrics)/.test(String(labels.http_route || ""));
  return {
    entityOps: sum(samples, "funchost_entity_operations_total"),
    started: sum(samples, "funchost_orchestrations_started_total"),
    completed: sum(samples, "funchost_orchestrations_completed_total"),
    httpCount: sum(samples, "http_server_request_duration_seconds_count", app),
    httpSum: sum(samples, "http_server_request_duration_seconds_sum", app),
    activityCount: sum(samples, "funchost_activity_duration_seconds_count"),
    activitySum: sum(samples, "funchost_activity_duration_seconds_sum"),
    entityOpCount: sum(samples, "funchost_entity_operation_duration_seconds_count"),
    entityOpSum: sum(samples, "funchost_entity_operation_duration_seconds_sum"),
    at: Date.now(),
  };
}

function metricCard(label, value, note, testId) {
  return h("div", { class: "card", "data-testid": testId }, h("div", { class: "muted small" }, label),
    h("div", { class: "metric" }, value), note ? h("div", { class: "muted small" }, note) : null);
}

function rate(now, before, field) {
  if (!before) return "measuring...";
  const seconds = (now.at - before.at) / 1000;
  return seconds > 0 ? `${((now[field] - before[field]) / seconds).toFixed(1)} /s` : "-";
}

const mean = (count, total) => (count > 0 ? formatSeconds(total / count) : "-");

function metricsSection(samples, now, before) {
  const depth = samples.filter((s) => s.name === "funchost_entity_mailbox_depth");
  return [
    h("div", { class: "metrics" },
      metricCard("App HTTP requests", rate(now, before, "httpCount"), `${now.httpCount} since start, mean ${mean(now.httpCount, now.httpSum)}`, "metric-http"),
      metricCard("Entity operations", rate(now, before, "entityOps"), `${now.entityOps} since start, mean ${mean(now.entityOpCount, now.entityOpSum)}`, "metric-entity-ops"),
      metricCard("Orchestrations started", rate(now, before, "started"), `${now.started} since start, ${now.completed} finished`, "metric-orchestrations"),
      metricCard("Activities", rate(now, before, "activityCount"), `${now.activityCount} since start, mean ${mean(now.activityCount, now.activitySum)}`, "metric-activities")),
    h("h2", {}, "Mailbox depth per entity type"),
    depth.length ? table(["Entity type", "Operations waiting"], depth.map((s) => h("tr", {},
      h("td", {}, s.labels.entity_type || s.labels.entity || JSON.stringify(s.labels)), h("td", {}, String(s.value)))), "mailboxes")
      : h("p", { class: "muted", "data-testid": "mailboxes" }, "No entity has waiting operations."),
  ];
}

function functionsTable(functions) {
  return table(["Function", "Trigger", "Details"], functions.map((fn) => h("tr", { "data-testid": "function-row" },
    h("td", {}, fn.name), h("td", {}, fn.trigger),
    h("td", { class: "mono small" }, fn.route !== undefined ? `route ${fn.route} [${(fn.methods || []).join(",") || "any method"}] auth ${fn.authLevel}`
      : fn.schedule || (fn.supported === false ? "not run by funchost" : "")))), "functions");
}

/** Render the host view into `root`; returns a function that stops its refresh timer. */
export function hostView(root) {
  let before = null;
  let timer = null;
  let stopped = false;
  const metrics = h("div", {}, h("p", { class: "muted" }, "Loading metrics..."));
  const store = h("div");
  const functions = h("div");

  async function reload() {
    try {
      const [scrape, size, status] = await Promise.all([api.metrics(), api.store(), api.hostStatus()]);
      const samples = parseMetrics(scrape.data);
      const now = totals(samples);
      fill(metrics, samples.length ? metricsSection(samples, now, before)
        : h("p", { class: "muted" }, "The host's telemetry is off (FUNCHOST_TELEMETRY=0): no metrics."));
      now.first = before === null;
      before = now;
      fill(store, h("div", { class: "metrics" },
        metricCard("Store size", formatBytes(size.data.totalBytes), `database ${formatBytes(size.data.databaseBytes)}, WAL ${formatBytes(size.data.walBytes)}`, "store-size"),
        metricCard("Host", status.data.state, `${status.data.functions} functions`, "host-state")));
    } catch (error) { notify(error.message); }
    // The first rates need a second scrape: take it soon, then every REFRESH_MS.
    if (!stopped) timer = setTimeout(reload, before && before.first ? FIRST_REFRESH_MS : REFRESH_MS);
  }
  api.functions().then((reply) => fill(functions, functionsTable(reply.data.functions)), (error) => notify(error.message));
  fill(root, h("h1", {}, "Host"), store, h("h2", {}, "Throughput and latency"), metrics,
    h("h2", {}, "Functions served"), functions);
  reload();
  return () => { stopped = true; clearTimeout(timer); };
}
