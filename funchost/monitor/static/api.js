// The management API and the host's admin endpoints, with the admin key and the CSRF header on every call.

export const DURABLE = "/runtime/webhooks/durabletask";
const KEY_STORE = "funchost.monitor.key";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function adminKey() { return sessionStorage.getItem(KEY_STORE) || ""; }
export function setAdminKey(key) {
  if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
}

let askForKey = () => {};
/** What to do when the host answers 401 (the app opens the key dialog). */
export function onUnauthorized(callback) { askForKey = callback; }

/** One request; resolves to {status, headers, data} for 2xx, throws ApiError (with the host's message) otherwise. */
export async function request(method, path, { body, headers = {}, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const sent = { "X-Funchost-Monitor": "1", ...headers };
  const key = adminKey();
  if (key) sent["x-functions-key"] = key;
  const init = { method, headers: sent, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) { init.body = JSON.stringify(body); sent["Content-Type"] = "application/json"; }
  const reply = await fetch(url, init);
  const text = await reply.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = text; } }
  if (reply.status === 401) askForKey();
  if (!reply.ok) {
    const message = data && typeof data === "object" ? (data.details || data.Message || data.error) : text;
    throw new ApiError(reply.status, `${method} ${url.pathname} answered ${reply.status}: ${message || reply.statusText}`);
  }
  return { status: reply.status, headers: reply.headers, data };
}

const enc = encodeURIComponent;

export const api = {
  listInstances: (query, token) => request("GET", `${DURABLE}/instances`, {
    query, headers: token ? { "x-ms-continuation-token": token } : {} }),
  instance: (id) => request("GET", `${DURABLE}/instances/${enc(id)}`, {
    query: { showHistory: "true", showHistoryOutput: "true", showInput: "true" } }),
  operation: (id, op, query) => request("POST", `${DURABLE}/instances/${enc(id)}/${op}`, { query }),
  raiseEvent: (id, name, data) => request("POST", `${DURABLE}/instances/${enc(id)}/raiseEvent/${enc(name)}`, { body: data }),
  purge: (id) => request("DELETE", `${DURABLE}/instances/${enc(id)}`),
  listEntities: (name, token, top) => request("GET", `${DURABLE}/entities${name ? `/${enc(name)}` : ""}`, {
    query: { fetchState: "true", top }, headers: token ? { "x-ms-continuation-token": token } : {} }),
  entity: (name, key) => request("GET", `${DURABLE}/entities/${enc(name)}/${enc(key === "" ? "$" : key)}`),
  signal: (name, key, op, input) => request("POST", `${DURABLE}/entities/${enc(name)}/${enc(key === "" ? "$" : key)}`, {
    query: { op }, body: input }),
  deleteEntity: (name, key) => request("DELETE", `${DURABLE}/entities/${enc(name)}/${enc(key === "" ? "$" : key)}`),
  functions: () => request("GET", "/admin/functions"),
  store: () => request("GET", "/admin/store"),
  hostStatus: () => request("GET", "/admin/host/status"),
  metrics: () => request("GET", "/metrics"),
};
