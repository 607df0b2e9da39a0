// The bar at the top of every paired screen: back (when there is somewhere to
// go back to), the screen's title, the connection pill and settings. It only
// emits callbacks; the controller decides what they do.

import { h } from "../lib/dom.js";

/**
 * @param {{ pill: {element: HTMLElement}, onBack: () => void, onSettings: () => void }} options
 */
export function createAppBar({ pill, onBack, onSettings }) {
  const back = h("button", { class: "icon-button bar-back", type: "button", "aria-label": "Back", hidden: true, on: { click: () => onBack() } }, h("span", { class: "chevron", "aria-hidden": "true" }));
  const title = h("h1", { class: "bar-title", text: "Codex Remote" });
  const settings = h(
    "button",
    { class: "icon-button bar-settings", type: "button", "aria-label": "Settings", on: { click: () => onSettings() } },
    h("span", { class: "gear", "aria-hidden": "true" }),
  );
  const element = h("header", { class: "appbar" }, back, title, pill.element, settings);
  return {
    element,
    /** @param {{ title: string, canGoBack: boolean, showSettings?: boolean }} view */
    show({ title: text, canGoBack, showSettings = true }) {
      title.textContent = text;
      back.hidden = !canGoBack;
      settings.hidden = !showSettings;
    },
  };
}
