// The "Notifications" group of Settings: one line of state, "Notify me" or
// "Turn off", and a note that carries the companion's own error text or how to
// get notifications at all (iOS: from the home screen only). Emits callbacks;
// push-flow.js acts.

import { h } from "../lib/dom.js";

const WHY = {
  insecure: "Notifications need the secure address of your computer (https, e.g. through your tailnet).",
  "ios-home-screen": "On iPhone, notifications work only from the home screen: tap Share, then \u201cAdd to Home Screen\u201d, open Codex Remote from there and come back here.",
  unsupported: "This browser cannot show notifications from a web app.",
  denied: "Notifications are blocked for this app. Allow them in the browser's or the phone's settings, then come back.",
};

/** @param {{ onEnable: () => void, onDisable: () => void }} options */
export function createPushSettings({ onEnable, onDisable }) {
  const state = h("p", { class: "settings-value", text: "…" });
  const enable = h("button", { class: "button primary", type: "button", text: "Notify me", hidden: true, on: { click: () => onEnable() } });
  const disable = h("button", { class: "button", type: "button", text: "Turn off", hidden: true, on: { click: () => onDisable() } });
  const note = h("p", { class: "hint", hidden: true });
  const element = h(
    "div",
    { class: "settings-group", "aria-label": "Notifications", role: "group" },
    h("h2", { class: "settings-heading", text: "Notifications" }),
    state,
    enable,
    disable,
    note,
  );

  function setNote(text, tone = "") {
    note.hidden = !text;
    note.textContent = text;
    note.classList.toggle("error", tone === "error");
  }

  return {
    element,
    /**
     * @param {{ support: string, subscribed: boolean, busy?: boolean, note?: string, tone?: string }} view
     */
    set({ support, subscribed, busy = false, note: text = "", tone = "" }) {
      const possible = support === "ok";
      state.textContent = subscribed ? "On: your computer tells this phone when Codex needs you." : possible ? "Off" : "Not available here";
      enable.hidden = subscribed || !possible;
      disable.hidden = !subscribed;
      enable.disabled = busy;
      disable.disabled = busy;
      if (busy) enable.textContent = subscribed ? "Notify me" : "Turning on…";
      else enable.textContent = "Notify me";
      disable.textContent = busy && subscribed ? "Turning off…" : "Turn off";
      setNote(text || (possible ? "" : WHY[support] ?? ""), text ? tone : "");
    },
  };
}
