// The conversation header's entry to the session sheet: a "Session" button that
// loads views/session-sheet.js (and its stylesheet) with import() on the first tap,
// so neither is part of the first screen.

import { h } from "../lib/dom.js";

/**
 * @param {{api: any, announce: (text: string, tone?: string) => void,
 *          currentChat: () => ({projectId: string} | null)}} services
 * @returns {{element: HTMLElement, close: () => void}}
 */
export function createSessionEntry({ api, announce, currentChat }) {
  let sheet = null;

  async function open() {
    const chat = currentChat();
    if (!chat) return;
    try {
      sheet ??= import("./session-sheet.js").then(({ createSessionSheet }) => createSessionSheet({ api, announce }));
      await (await sheet).open(chat);
    } catch (error) {
      sheet = null; // try again on the next tap
      announce(error?.message || "Could not open the session sheet", "error");
    }
  }

  const element = h("button", { type: "button", class: "button small quiet conv-session", text: "Session",
    "aria-haspopup": "dialog", on: { click: () => open() } });
  return {
    element,
    close() {
      sheet?.then((s) => s.close(), () => {});
    },
  };
}
