// The dictation controls: the microphone button in the composer's slot, and a
// panel above the composer with the elapsed time, a level meter, Stop and
// Cancel while recording, then one line per recording that waits for its
// transcript (uploading, waiting for the connection, or the companion's error
// with Retry and Discard). Emits callbacks only; lib/../dictation.js acts.

import { clear, h } from "../lib/dom.js";

/**
 * @param {{ onStart(): void, onStop(): void, onCancel(): void,
 *           onRetry(id: string): void, onDiscard(id: string): void, onCheckAgain(): void }} hooks
 */
export function createRecorder({ onStart, onStop, onCancel, onRetry, onDiscard, onCheckAgain }) {
  let recording = false;
  let unavailable = ""; // the reason dictation cannot work now ("" when it can)
  let hintOpen = false;
  let unavailableLabel = "";

  const button = h("button", {
    type: "button",
    class: "composer-btn composer-mic",
    "aria-label": "Dictate",
    on: { click: () => (unavailable ? toggleHint() : recording ? onStop() : onStart()) },
  }, h("span", { class: "mic-icon", "aria-hidden": "true" }));
  const elapsed = h("span", { class: "recorder-time", role: "timer", "aria-label": "Recording time", text: "0:00" });
  const meter = h("meter", { class: "recorder-meter", min: 0, max: 1, value: 0, "aria-label": "Microphone level" });
  const live = h("div", { class: "recorder-live", hidden: true },
    h("span", { class: "recorder-dot", "aria-hidden": "true" }),
    elapsed, meter,
    h("button", { type: "button", class: "button recorder-cancel", text: "Cancel", "aria-label": "Cancel recording",
      on: { click: () => onCancel() } }),
    h("button", { type: "button", class: "button primary recorder-stop", text: "Done", "aria-label": "Stop recording",
      on: { click: () => onStop() } }));
  const hintText = h("p", { class: "recorder-hint-text" });
  const checkAgain = h("button", { type: "button", class: "button", text: "Check again", on: { click: () => onCheckAgain() } });
  const hint = h("div", { class: "recorder-hint", hidden: true }, hintText, checkAgain);
  const items = h("ul", { class: "recorder-items", "aria-label": "Recordings waiting" });
  const panel = h("section", { class: "recorder", "aria-label": "Dictation", hidden: true }, live, hint, items);

  function toggleHint() {
    hintOpen = !hintOpen;
    refresh();
  }

  function refresh() {
    live.hidden = !recording;
    hint.hidden = !(unavailable && hintOpen) || recording;
    hintText.textContent = unavailable;
    button.setAttribute("aria-label", recording ? "Stop recording" : unavailable ? unavailableLabel : "Dictate");
    button.setAttribute("aria-pressed", String(recording));
    button.classList.toggle("is-recording", recording);
    button.classList.toggle("is-unavailable", Boolean(unavailable));
    panel.hidden = live.hidden && hint.hidden && !items.childElementCount;
  }

  function itemRow(record) {
    if (record.state === "failed") {
      // "Not set up" is explained once, by the hint; the row says what happened to the words.
      const text = record.error?.code === "dictation_not_configured"
        ? "Recording kept: dictation is not set up on your computer."
        : record.error?.message || "Transcription failed.";
      return h("li", { class: "recorder-item failed" },
        h("span", { class: "recorder-item-text", text }),
        h("span", { class: "recorder-item-actions" },
          h("button", { type: "button", class: "button", text: "Retry", "aria-label": "Retry transcription",
            on: { click: () => onRetry(record.id) } }),
          h("button", { type: "button", class: "button", text: "Discard", "aria-label": "Discard recording",
            on: { click: () => onDiscard(record.id) } })));
    }
    const text = record.waiting ? "Recording saved: waiting for your computer…" : "Transcribing…";
    return h("li", { class: "recorder-item" }, h("span", { class: "recorder-item-text", text }));
  }

  refresh();
  return {
    button,
    panel,
    /** @param {boolean} value */
    setRecording(value) {
      recording = Boolean(value);
      if (!recording) {
        elapsed.textContent = "0:00";
        meter.value = 0;
      }
      refresh();
    },
    /** @param {number} ms @param {number} level 0..1 */
    tick(ms, level) {
      const s = Math.floor(ms / 1000);
      elapsed.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
      meter.value = level;
    },
    /** Recordings not yet in the composer (the one being made is shown by the live row). */
    setItems(records) {
      clear(items);
      for (const record of records) if (record.state !== "recording") items.append(itemRow(record));
      refresh();
    },
    /** @param {string} reason "" when dictation can be used; `recheck`: offer "Check again" */
    setUnavailable(reason, { open = false, recheck = true } = {}) {
      unavailable = reason;
      checkAgain.hidden = !recheck;
      // "Not set up" is fixed on the computer (Check again); anything else is this browser.
      unavailableLabel = recheck ? "Dictation is not set up" : "Dictation is not available";
      hintOpen = Boolean(reason) && (open || hintOpen);
      refresh();
    },
  };
}
