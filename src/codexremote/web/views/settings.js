// Settings: which device this is ("paired as …"), the companion and its Codex
// child (from /health) with a restart button, Unpair, and the reload offer
// when a new shell version waits. Emits callbacks; the controller acts.

import { h } from "../lib/dom.js";

const STATES = {
  ready: "Running",
  starting: "Starting…",
  restarting: "Restarting…",
  dead: "Stopped",
  stopped: "Stopped",
};

/**
 * @param {{ onUnpair: () => void, onRestart: () => void, onReload: () => void }} options
 */
export function createSettings({ onUnpair, onRestart, onReload }) {
  const pairedAs = h("p", { class: "settings-value" });
  const origin = h("p", { class: "settings-sub" });
  const companion = h("p", { class: "settings-value", text: "…" });
  const codexState = h("p", { class: "settings-value", text: "…" });
  const codexDetail = h("p", { class: "settings-sub", hidden: true });
  const restart = h("button", { class: "button", type: "button", text: "Restart Codex", on: { click: () => onRestart() } });
  const restartNote = h("p", { class: "hint", hidden: true });
  // Unpairing cannot be undone from the phone: the first tap arms, the second unpairs.
  let armed = 0;
  const unpair = h("button", {
    class: "button danger",
    type: "button",
    text: "Unpair this device",
    on: {
      click: () => {
        if (armed) {
          clearTimeout(armed);
          armed = 0;
          onUnpair();
          return;
        }
        unpair.textContent = "Tap again to unpair";
        unpair.classList.add("armed");
        armed = setTimeout(disarm, 5000);
      },
    },
  });
  function disarm() {
    armed = 0;
    unpair.classList.remove("armed");
    if (!unpair.disabled) unpair.textContent = "Unpair this device";
  }
  const updateRow = h(
    "div",
    { class: "settings-group", hidden: true },
    h("h2", { class: "settings-heading", text: "Update" }),
    h("p", { class: "settings-value", text: "A new version of this app is ready." }),
    h("button", { class: "button primary", type: "button", text: "Reload now", on: { click: () => onReload() } }),
  );

  const element = h(
    "section",
    { class: "settings", "aria-label": "Settings" },
    h("div", { class: "settings-group" }, h("h2", { class: "settings-heading", text: "This device" }), pairedAs, origin, unpair),
    h("div", { class: "settings-group" }, h("h2", { class: "settings-heading", text: "Computer" }), companion),
    h("div", { class: "settings-group" }, h("h2", { class: "settings-heading", text: "Codex" }), codexState, codexDetail, restart, restartNote),
    updateRow,
  );

  return {
    element,
    /** @param {{ deviceName: string, origin: string }} info */
    setDevice({ deviceName, origin: where }) {
      pairedAs.textContent = `Paired as ${deviceName}`;
      origin.textContent = where;
    },
    /** @param {any} health the /health answer, or null when it failed */
    setHealth(health, errorText = "") {
      if (!health) {
        companion.textContent = errorText || "Cannot reach your computer";
        codexState.textContent = "Unknown";
        codexDetail.hidden = true;
        return;
      }
      companion.textContent = `Codex Remote ${health.version ?? ""}`.trim();
      const state = String(health.appServerState ?? health.appServer?.state ?? "unknown");
      const version = health.appServer?.codexVersion;
      codexState.textContent = `${STATES[state] ?? state}${version ? ` · codex ${version}` : ""}`;
      const detail = health.appServer?.lastError ?? health.appServer?.error ?? "";
      codexDetail.hidden = !detail;
      codexDetail.textContent = detail ? String(detail) : "";
    },
    /** @param {boolean} busy @param {string} [note] */
    setRestarting(busy, note = "") {
      restart.disabled = busy;
      restart.textContent = busy ? "Restarting…" : "Restart Codex";
      restartNote.hidden = !note;
      restartNote.textContent = note;
    },
    setUnpairing(busy) {
      unpair.disabled = busy;
      unpair.classList.remove("armed");
      unpair.textContent = busy ? "Unpairing…" : "Unpair this device";
    },
    /** A group another module owns (e.g. Notifications), placed once above Update. */
    addGroup(group) {
      if (!group.isConnected) element.insertBefore(group, updateRow);
    },
    showUpdate() {
      updateRow.hidden = false;
    },
  };
}
