// The connection pill: what the stream's own socket says (connected,
// reconnecting, offline), never navigator.onLine (style.md, web client 12).

import { h } from "../lib/dom.js";

const LABELS = {
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

export function createConnectionPill() {
  const label = h("span", { class: "pill-label", text: LABELS.reconnecting });
  const element = h("span", { class: "pill", dataset: { state: "reconnecting" } }, h("span", { class: "pill-dot", "aria-hidden": "true" }), label);
  return {
    element,
    /** @param {"connected" | "reconnecting" | "offline"} state */
    set(state) {
      element.dataset.state = state;
      label.textContent = LABELS[state] ?? LABELS.offline;
    },
  };
}
