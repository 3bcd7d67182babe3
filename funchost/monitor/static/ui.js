// Notices and confirmation dialogs shared by the views.

/** Show a message above the view (an error unless `ok`); an empty message hides it. */
export function notify(message, ok = false) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = ok ? "notice ok" : "notice";
  box.hidden = !message;
}

/**
 * Ask before an action. `fields` are [{name, label, value, multiline}] inputs shown in the dialog;
 * resolves to their values, or null when cancelled.
 */
export function confirmAction(title, text, fields = []) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const box = document.getElementById("confirm-fields");
  box.replaceChildren();
  const inputs = fields.map((field) => {
    const input = document.createElement(field.multiline ? "textarea" : "input");
    input.name = field.name;
    input.value = field.value || "";
    input.dataset.testid = `confirm-${field.name}`;
    const label = document.createElement("label");
    label.append(document.createTextNode(field.label), input);
    box.append(label);
    return input;
  });
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") { resolve(null); return; }
      resolve(Object.fromEntries(inputs.map((input) => [input.name, input.value])));
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}
