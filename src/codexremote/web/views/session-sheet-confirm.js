// The session sheet's confirmation step: every write (runtime setting, checkout,
// commit) is asked once in the sheet itself, in words that name what will change,
// before it is sent. One question at a time; a newer one cancels the older.

import { h, clear } from "../lib/dom.js";

/** @returns {{element: HTMLElement, ask: (question: string, action: string) => Promise<boolean>, cancel: () => void}} */
export function createConfirm() {
  const text = h("p", { class: "sheet-confirm-text", id: "sheet-confirm-text" });
  const actions = h("div", { class: "sheet-confirm-actions" });
  const element = h("div", { class: "sheet-confirm", role: "alertdialog", "aria-labelledby": "sheet-confirm-text", hidden: true },
    text, actions);
  let settle = null;

  function finish(answer) {
    const done = settle;
    settle = null;
    element.hidden = true;
    text.textContent = "";
    clear(actions);
    if (done) done(answer);
  }

  return {
    element,
    ask(question, action) {
      finish(false);
      text.textContent = question;
      const yes = h("button", { type: "button", class: "button primary", text: action, on: { click: () => finish(true) } });
      const no = h("button", { type: "button", class: "button", text: "Cancel", on: { click: () => finish(false) } });
      actions.append(no, yes);
      element.hidden = false;
      yes.focus();
      return new Promise((resolve) => {
        settle = resolve;
      });
    },
    cancel: () => finish(false),
  };
}
