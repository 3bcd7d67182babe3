// The monitor's shell: hash routes to views, the admin-key dialog, confirmations and notices.

import { adminKey, onUnauthorized, setAdminKey } from "./api.js";
import { entitiesView } from "./entities.js";
import { hostView } from "./hostview.js";
import { instanceView } from "./instance.js";
import { instancesView } from "./instances.js";
import { notify } from "./ui.js";

const view = document.getElementById("view");
let stopCurrent = () => {};

function openKeyDialog() {
  const dialog = document.getElementById("key-dialog");
  if (!dialog.open) {
    document.getElementById("key-input").value = adminKey();
    dialog.showModal();
  }
}

function route() {
  stopCurrent();
  notify("");
  const hash = window.location.hash || "#/instances";
  const [, tab = "instances", ...rest] = hash.split("/");
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.tab === (tab === "instance" ? "instances" : tab));
  }
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
  const views = { instances: instancesView, instance: instanceView, entities: entitiesView, host: hostView };
  const render = views[tab] || instancesView;
  stopCurrent = render(view, arg) || (() => {});
}

document.getElementById("key-button").addEventListener("click", openKeyDialog);
document.getElementById("key-dialog").addEventListener("close", (event) => {
  const dialog = event.target;
  if (dialog.returnValue === "ok") {
    setAdminKey(document.getElementById("key-input").value.trim());
    route();
  }
});
onUnauthorized(openKeyDialog);
window.addEventListener("hashchange", route);
route();
