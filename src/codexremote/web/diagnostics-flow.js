// "Send diagnostics to the computer" in Settings (issue 11 §4): the page's own log
// (lib/client-log.js) goes to POST /v1/debug/ios-log, which saves it in the
// companion's state directory. Loaded lazily when Settings opens.

import { h } from "./lib/dom.js";

/** @param {{ api: any, log: { ndjson: () => string, size: number, record: Function } }} deps */
export function createDiagnosticsFlow({ api, log }) {
  const note = h("p", { class: "hint", role: "status" });
  const send = h("button", {
    class: "button",
    type: "button",
    text: "Send diagnostics to the computer",
    on: { click: () => sendLog() },
  });
  const element = h(
    "div",
    { class: "settings-group" },
    h("h2", { class: "settings-heading", text: "Diagnostics" }),
    h("p", { class: "settings-sub", text: "Connection events and errors of this app, without tokens, chat text or device names." }),
    send,
    note,
  );

  async function sendLog() {
    send.disabled = true;
    log.record("diagnostics", { entries: log.size });
    try {
      const saved = await api.post("/v1/debug/ios-log", { contents: log.ndjson() });
      note.textContent = `Saved on your computer as ${saved.path} (${saved.bytes} bytes).`;
    } catch (error) {
      note.textContent = error.message;
    } finally {
      send.disabled = false;
    }
  }

  return { element };
}
