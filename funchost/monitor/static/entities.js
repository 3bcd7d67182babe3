// Entities: the list by entity name with the last operation time, one entity's state, signal and delete.

import { api } from "./api.js";
import { fill, h, jsonBlock, localTime, table } from "./dom.js";
import { confirmAction, notify } from "./ui.js";

const PAGE = "50";

function detail(panel, item, reload) {
  const { name, key } = item.entityId;
  async function signal() {
    const values = await confirmAction("Signal entity", `Send an operation to ${name} '${key}'.`,
      [{ name: "op", label: "Operation", value: "" }, { name: "input", label: "Input (JSON, optional)", value: "", multiline: true }]);
    if (values === null) return;
    try {
      const input = values.input.trim() ? JSON.parse(values.input) : undefined;
      await api.signal(name, key, values.op.trim(), input);
      notify(`signalled ${values.op} to ${name} '${key}'`, true);
      setTimeout(reload, 500);
    } catch (error) { notify(error.message); }
  }
  async function remove() {
    if (await confirmAction("Delete entity", `Delete the state of ${name} '${key}'?`) === null) return;
    try {
      await api.deleteEntity(name, key);
      notify(`deleted ${name} '${key}'`, true);
      fill(panel);
      setTimeout(reload, 500);
    } catch (error) { notify(error.message); }
  }
  fill(panel, h("div", { class: "card", "data-testid": "entity-detail" },
    h("h2", {}, `${name} `, h("span", { class: "mono", "data-testid": "entity-detail-key" }, key)),
    h("p", { class: "muted small" }, `last operation ${localTime(item.lastOperationTime)}`),
    jsonBlock(item.state, "entity-state"),
    h("div", { class: "actions" },
      h("button", { class: "secondary", "data-testid": "entity-signal", onclick: signal }, "Signal"),
      h("button", { class: "danger", "data-testid": "entity-delete", onclick: remove }, "Delete"))));
}

/** Render the entities view into `root`. */
export function entitiesView(root, initialName) {
  const state = { name: initialName || "", token: "", tokens: [] };
  const body = h("div");
  const pager = h("div", { class: "pager" });
  const panel = h("div");
  const nameInput = h("input", { placeholder: "entity name, e.g. PlayerSession", value: state.name, "data-testid": "entity-name" });

  async function reload() {
    try {
      const reply = await api.listEntities(state.name, state.token, PAGE);
      const items = reply.data || [];
      const next = reply.headers.get("x-ms-continuation-token");
      const rows = items.map((item) => h("tr", { "data-testid": "entity-row" },
        h("td", {}, item.entityId.name), h("td", { class: "id mono", "data-testid": "entity-key" }, item.entityId.key),
        h("td", {}, localTime(item.lastOperationTime)),
        h("td", {}, h("button", { class: "secondary", "data-testid": "entity-show", onclick: () => detail(panel, item, reload) }, "Show"))));
      fill(body, items.length ? table(["Entity", "Key", "Last operation", ""], rows, "entities-table")
        : h("p", { class: "muted" }, "No entities."));
      fill(pager,
        h("button", { class: "secondary", disabled: !state.tokens.length, onclick: () => { state.token = state.tokens.pop() || ""; reload(); } }, "Previous"),
        h("span", {}, `page ${state.tokens.length + 1}`),
        h("button", { class: "secondary", disabled: !next, onclick: () => { state.tokens.push(state.token); state.token = next; reload(); } }, "Next"));
    } catch (error) { notify(error.message); }
  }

  const form = h("form", { class: "filters card", onsubmit: (event) => {
    event.preventDefault();
    Object.assign(state, { name: nameInput.value.trim(), token: "", tokens: [] });
    fill(panel);
    reload();
  } }, h("label", {}, "Entity name (empty: all)", nameInput), h("button", { type: "submit" }, "List"));
  fill(root, h("h1", {}, "Entities"), form, h("div", { class: "grid" }, h("div", {}, body, pager), panel));
  reload();
  return () => {};
}
