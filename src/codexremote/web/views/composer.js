// The composer: a growing multi-line field and the actions that fit the run
// state: Send while idle; Steer and Stop while a turn runs. On touch devices
// Enter is a new line (the phone keyboard has no Shift), so sending is a tap on
// the button; with a physical keyboard Enter sends and Shift+Enter breaks the
// line. The microphone (dictation.js) sits in its own slot; its transcripts
// come in through append(), after the draft, for review: never sent on their own.

import { h } from "../lib/dom.js";

const MAX_ROWS_PX = 192; // the field grows up to here, then scrolls

function touchInput() {
  return typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches;
}

/**
 * @param {{onSend(text: string): void, onSteer(text: string): void, onStop(): void}} hooks
 */
export function createComposer({ onSend, onSteer, onStop }) {
  const input = h("textarea", {
    class: "composer-input",
    rows: 1,
    placeholder: "Message Codex",
    "aria-label": "Message",
    autocomplete: "off",
    enterKeyHint: "enter",
  });
  const micSlot = h("div", { class: "composer-slot composer-mic-slot", dataset: { slot: "mic" } });
  const send = h("button", { type: "submit", class: "composer-btn composer-send", text: "Send" });
  const stop = h("button", { type: "button", class: "composer-btn composer-stop", text: "Stop", hidden: true,
    on: { click: () => onStop() } });
  const element = h("form", { class: "composer", "aria-label": "Composer" },
    micSlot, input, h("div", { class: "composer-actions" }, stop, send));

  let running = false;

  function grow() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, MAX_ROWS_PX)}px`;
  }

  function refresh() {
    const empty = !input.value.trim();
    send.textContent = running ? "Steer" : "Send";
    send.setAttribute("aria-label", running ? "Steer the running turn" : "Send message");
    send.disabled = empty;
    stop.hidden = !running;
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    grow();
    refresh();
    if (running) onSteer(text);
    else onSend(text);
  }

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("input", () => {
    grow();
    refresh();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing || event.shiftKey) return;
    if (touchInput()) return; // new line
    event.preventDefault();
    submit();
  });
  refresh();

  return {
    element,
    input,
    micSlot,
    setRunning(value) {
      running = Boolean(value);
      refresh();
    },
    /** Put text back (e.g. a send the companion refused) unless the person typed again. */
    restore(text) {
      if (input.value.trim()) return;
      input.value = text;
      grow();
      refresh();
    },
    focus() {
      input.focus({ preventScroll: true });
    },
    /** Add a dictated transcript after the draft (a space between), for review. */
    append(text) {
      const draft = input.value;
      input.value = draft && !/\s$/.test(draft) ? `${draft} ${text}` : draft + text;
      grow();
      refresh();
    },
    clear() {
      input.value = "";
      grow();
      refresh();
    },
  };
}
