// The instances table: filters, paging through the continuation token, auto-refresh.

import { api } from "./api.js";
import { customStatusView, fill, h, localTime, statusBadge, table } from "./dom.js";
import { notify } from "./ui.js";

const STATUSES = ["Pending", "Running", "Completed", "Failed", "Terminated", "Suspended", "ContinuedAsNew", "Canceled"];
const REFRESH_MS = 3000;

function isoOrEmpty(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function filtersForm(state, reload) {
  const status = h("select", { name: "status", "data-testid": "filter-status" },
    h("option", { value: "" }, "any"), STATUSES.map((s) => h("option", { value: s }, s)));
  status.value = state.status;
  const prefix = h("input", { name: "prefix", placeholder: "instance id prefix", value: state.prefix, "data-testid": "filter-prefix" });
  const name = h("input", { name: "name", placeholder: "orchestrator name", value: state.name, "data-testid": "filter-name" });
  const from = h("input", { type: "datetime-local", name: "from", value: state.from });
  const to = h("input", { type: "datetime-local", name: "to", value: state.to });
  const top = h("select", { name: "top", "data-testid": "filter-top" }, ["5", "20", "50", "100"].map((n) => h("option", { value: n }, n)));
  top.value = state.top;
  const auto = h("input", { type: "checkbox", name: "auto", "data-testid": "auto-refresh" });
  auto.checked = state.auto;
  const form = h("form", { class: "filters card", "data-testid": "instance-filters", onsubmit: (event) => {
    event.preventDefault();
    Object.assign(state, { status: status.value, prefix: prefix.value.trim(), name: name.value.trim(),
      from: from.value, to: to.value, top: top.value, tokens: [], token: "" });
    reload();
  } },
  h("label", {}, "Status", status), h("label", {}, "Id prefix", prefix),
  h("label", {}, "Name starts with (this page)", name), h("label", {}, "Created from", from),
  h("label", {}, "Created to", to), h("label", {}, "Per page", top),
  h("button", { type: "submit" }, "Apply"),
  h("label", { class: "inline" }, h("span", {}, "Auto-refresh"), auto));
  auto.addEventListener("change", () => { state.auto = auto.checked; });
  return form;
}

function instanceRow(item) {
  const href = `#/instance/${encodeURIComponent(item.instanceId)}`;
  return h("tr", { "data-testid": "instance-row", dataset: { instanceId: item.instanceId } },
    h("td", {}, item.name), h("td", { class: "id mono" }, h("a", { href }, item.instanceId)),
    h("td", {}, statusBadge(item.runtimeStatus)), h("td", {}, localTime(item.createdTime)),
    h("td", {}, localTime(item.lastUpdatedTime)), h("td", {}, customStatusView(item.customStatus)));
}

/** Render the instances view into `root`; returns a function that stops its refresh timer. */
export function instancesView(root) {
  const state = { status: "", prefix: "", name: "", from: "", to: "", top: "20", auto: true, token: "", tokens: [] };
  const body = h("div", { "data-testid": "instances" });
  const pager = h("div", { class: "pager" });
  let timer = null;
  let stopped = false;
  let latest = 0;  // only the newest request draws: a slow refresh must not overwrite a newer filter

  async function reload() {
    const mine = ++latest;
    try {
      const reply = await api.listInstances({ runtimeStatus: state.status, instanceIdPrefix: state.prefix,
        createdTimeFrom: isoOrEmpty(state.from), createdTimeTo: isoOrEmpty(state.to), top: state.top,
        showInput: "false" }, state.token);
      if (mine !== latest || stopped) return;
      const items = (reply.data || []).filter((item) => !state.name || String(item.name).startsWith(state.name));
      const next = reply.headers.get("x-ms-continuation-token");
      fill(body, items.length ? table(["Name", "Instance id", "Status", "Created", "Updated", "Custom status"],
        items.map(instanceRow), "instances-table") : h("p", { class: "muted" }, "No instances match."));
      fill(pager,
        h("button", { class: "secondary", disabled: !state.tokens.length, onclick: () => {
          state.token = state.tokens.pop() || ""; reload(); } }, "Previous"),
        h("span", {}, `page ${state.tokens.length + 1}, ${items.length} shown`),
        h("button", { class: "secondary", disabled: !next, "data-testid": "next-page", onclick: () => {
          state.tokens.push(state.token); state.token = next; reload(); } }, "Next"));
    } catch (error) {
      notify(error.message);
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => (state.auto ? reload() : schedule()), REFRESH_MS);
  }

  fill(root, h("h1", {}, "Orchestration instances"), filtersForm(state, reload), body, pager);
  reload();
  return () => { stopped = true; clearTimeout(timer); };
}
