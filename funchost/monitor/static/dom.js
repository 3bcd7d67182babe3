// Building the page from data without HTML: every value becomes a text node (never innerHTML).

/** An element with properties (class, href, on* handlers, dataset) and children (nodes or text). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "href") el.setAttribute("href", safeHref(value));
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Only fragment links of this page: a value from the store can never become a javascript: URL. */
function safeHref(value) {
  const text = String(value);
  return text.startsWith("#") ? text : "#";
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** JSON text shown as readable, indented JSON (a string holding JSON is parsed first). */
export function pretty(value) {
  if (value === undefined) return "";
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

export function jsonBlock(value, testId) {
  return h("pre", { class: "json", "data-testid": testId }, value === null || value === undefined ? "null" : pretty(value));
}

export function statusBadge(status) {
  return h("span", { class: `status ${/^[A-Za-z]+$/.test(status) ? status : ""}`, "data-testid": "status" }, status);
}

/** A progress bar for a fraction 0..1; `label` is shown beside it. */
export function progressBar(fraction, label) {
  const pct = Math.max(0, Math.min(1, Number(fraction) || 0));
  const fill = h("div", { class: pct >= 1 ? "fill done" : "fill" });
  fill.style.width = `${(pct * 100).toFixed(1)}%`;
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": String(Math.round(pct * 100)) },
    h("div", { class: "track" }, fill), h("span", { class: "pct" }, `${Math.round(pct * 100)} %`),
    label ? h("span", { class: "muted small" }, label) : null);
}

/** Custom status as a progress bar when it carries a numeric `progress`, else as JSON text. */
export function customStatusView(custom) {
  let value = custom;
  if (typeof value === "string") { try { value = JSON.parse(value); } catch { /* plain text */ } }
  if (value && typeof value === "object" && typeof value.progress === "number") {
    const label = [value.stage, value.message].filter((x) => typeof x === "string" && x).join(": ");
    return progressBar(value.progress, label);
  }
  if (value === null || value === undefined || value === "") return h("span", { class: "muted" }, "-");
  return h("code", {}, typeof value === "string" ? value : JSON.stringify(value));
}

export function localTime(iso) {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function table(headers, rows, testId) {
  return h("table", { "data-testid": testId },
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, rows));
}

export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return "-";
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(2)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}
