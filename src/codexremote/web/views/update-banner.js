// "New version · Reload": shown when the service worker has a newer shell
// waiting. It never reloads by itself (style.md, web client 10): the person
// taps Reload when nothing they are doing would be lost.

import { h } from "../lib/dom.js";

/** @param {{ onReload: () => void }} options */
export function createUpdateBanner({ onReload }) {
  const button = h("button", { class: "button small", type: "button", text: "Reload", on: { click: () => onReload() } });
  const element = h("div", { class: "update-banner", hidden: true }, h("span", { text: "A new version is available." }), button);
  return {
    element,
    show() {
      element.hidden = false;
    },
    busy() {
      button.disabled = true;
      button.textContent = "Reloading…";
    },
  };
}
