// One instance: its facts, input, output, custom status, failure details, timeline and actions.

import { api } from "./api.js";
import { customStatusView, fill, h, jsonBlock, localTime, pretty, statusBadge } from "./dom.js";
import { timeline } from "./timeline.js";
import { confirmAction, notify } from "./ui.js";

const ACTIVE = new Set(["Pending", "Running", "Suspended", "ContinuedAsNew"]);
const REFRESH_MS = 2000;

function failure(status) {
  if (status.runtimeStatus !== "Failed") return null;
  const failed = (status.historyEvents || []).find((event) => event.EventType === "ExecutionFailed");
  const details = failed && (failed.FailureDetails || [failed.Reason, failed.Details].filter(Boolean).join("\n"));
  return h("div", { class: "card", "data-testid": "failure" }, h("h2", {}, "Failure"),
    jsonBlock(details || status.output, "failure-details"));
}

/** The action buttons; each asks for confirmation, runs, and reloads the view. */
function actions(status, reload) {
  const id = status.instanceId;
  const active = ACTIVE.has(status.runtimeStatus);
  const reason = [{ name: "reason", label: "Reason (optional)", value: "" }];
  async function run(title, text, fields, call, after) {
    const values = await confirmAction(title, text, fields);
    if (values === null) return;
    try {
      const reply = await call(values);
      notify(`${title}: done (${reply.status})`, true);
      after ? after(reply) : reload();
    } catch (error) {
      notify(error.message);
    }
  }
  const button = (label, testId, enabled, onclick, danger = false) =>
    h("button", { class: danger ? "danger" : "secondary", "data-testid": testId, disabled: !enabled, onclick }, label);
  return h("div", { class: "actions" },
    button("Terminate", "action-terminate", active, () => run("Terminate", `Terminate ${id}? It stops at its next step and cannot be resumed.`,
      reason, (v) => api.operation(id, "terminate", { reason: v.reason })), true),
    button("Suspend", "action-suspend", status.runtimeStatus === "Running" || status.runtimeStatus === "Pending",
      () => run("Suspend", `Suspend ${id}? It keeps its state and waits until resumed.`, reason,
        (v) => api.operation(id, "suspend", { reason: v.reason }))),
    button("Resume", "action-resume", status.runtimeStatus === "Suspended", () => run("Resume", `Resume ${id}?`, reason,
      (v) => api.operation(id, "resume", { reason: v.reason }))),
    button("Restart", "action-restart", true, () => run("Restart", `Start ${status.name} again with the same input, as a new instance?`,
      [], () => api.operation(id, "restart", { restartWithNewInstanceId: "true" }),
      (reply) => { window.location.hash = `#/instance/${encodeURIComponent(reply.data.id)}`; })),
    button("Raise event", "action-raise", active, () => run("Raise event", `Send an external event to ${id}.`,
      [{ name: "event", label: "Event name", value: "" }, { name: "data", label: "Data (JSON)", value: "null", multiline: true }],
      (v) => api.raiseEvent(id, v.event, JSON.parse(v.data || "null")))),
    button("Purge", "action-purge", !active, () => run("Purge", `Delete ${id} and its history for good?`, [],
      () => api.purge(id), () => { window.location.hash = "#/instances"; }), true));
}

function facts(status) {
  const row = (name, value) => [h("dt", {}, name), h("dd", {}, value)];
  return h("dl", { class: "facts", "data-testid": "facts" },
    row("Name", status.name), row("Instance id", h("span", { class: "mono" }, status.instanceId)),
    row("Status", statusBadge(status.runtimeStatus)), row("Created", localTime(status.createdTime)),
    row("Updated", localTime(status.lastUpdatedTime)), row("Custom status", customStatusView(status.customStatus)));
}

function render(root, status, reload, view) {
  fill(root,
    h("p", {}, h("a", { href: "#/instances" }, "All instances")),
    h("h1", {}, `${status.name} `, h("span", { class: "mono muted" }, status.instanceId)),
    h("div", { class: "card" }, facts(status), actions(status, reload)),
    failure(status),
    h("div", { class: "card" }, h("h2", {}, "Timeline"), timeline(status.historyEvents || [], ACTIVE.has(status.runtimeStatus))),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, "Input"), jsonBlock(status.input, "input")),
      h("div", { class: "card" }, h("h2", {}, "Output"), jsonBlock(status.output, "output")),
      h("div", { class: "card" }, h("h2", {}, "Custom status"), jsonBlock(status.customStatus, "custom-status"))),
    h("details", { class: "card", open: view.historyOpen, ontoggle: (event) => { view.historyOpen = event.target.open; } },
      h("summary", {}, `History (${(status.historyEvents || []).length} events)`),
      (status.historyEvents || []).map((event) => h("pre", { class: "json" }, pretty(event)))));
}

/** Render one instance into `root`, refreshing while it runs; returns a function that stops the refresh. */
export function instanceView(root, instanceId) {
  let timer = null;
  let stopped = false;
  const view = { historyOpen: false };  // kept across the refreshes that redraw the view
  let latest = 0;  // only the newest read draws (an action's reload may overtake a periodic one)
  async function reload() {
    clearTimeout(timer);
    const mine = ++latest;
    try {
      const reply = await api.instance(instanceId);
      if (stopped || mine !== latest) return;
      render(root, reply.data, reload, view);
      if (ACTIVE.has(reply.data.runtimeStatus)) timer = setTimeout(reload, REFRESH_MS);
    } catch (error) {
      if (stopped || mine !== latest) return;
      fill(root, h("p", {}, h("a", { href: "#/instances" }, "All instances")), h("h1", {}, instanceId));
      notify(error.message);
    }
  }
  fill(root, h("p", { class: "muted" }, "Loading..."));
  reload();
  return () => { stopped = true; clearTimeout(timer); };
}
