// The approvals dock of the open chat: one card per open approval, kept above
// the composer so it stays visible above the keyboard. Decisions go through the
// outbox (an offline decision is sent once, later). A card leaves when the
// companion says the approval was cleared: with our outcome when we decided,
// as "answered elsewhere" otherwise (desktop, another phone, the CLI).

import { h, clear } from "../lib/dom.js";
import { createApprovalCard, OUTCOMES } from "./approval-card.js";
import * as rows from "./timeline-items.js";

const FINAL_STATUSES = new Set([404, 409, 410]);
const WAITING = "Waiting for approval";

function shortSummary(approval) {
  const command = approval.details?.command;
  if (command) return rows.displayCommand(command);
  return String(approval.summary || approval.title || "").split("\n")[0];
}

/**
 * @param {{outbox: any, announce: (text: string) => void, timeline: any,
 *          isOnline: () => boolean, focusComposer: () => void}} deps
 */
export function createApprovalDock({ outbox, announce, timeline, isOnline, focusComposer }) {
  const element = h("section", {
    class: "approval-dock", "aria-label": "Approvals", "aria-live": "polite", "aria-relevant": "additions", hidden: true,
  });
  /** @type {Map<string, {card: any, decided: string|null, cleared: boolean}>} */
  const open = new Map();
  let chatId = null;

  function sync() {
    element.hidden = open.size === 0;
  }

  /** The outcome joins the row of the item it was about (the command, the edit), else its own row. */
  function note(approval, text) {
    const target = typeof approval.itemId === "string" ? timeline.get(approval.itemId) : null;
    if (target) {
      const state = target.row.element.querySelector(".activity-state");
      if (state && state.textContent === WAITING) {
        // Until the item's own completion says how it went.
        timeline.live(approval.itemId, null, { stateText: text === "Declined" ? "Declined" : "Running…" });
      }
      const host = target.row.element.querySelector("summary") ?? target.row.element;
      host.querySelector(".tl-approval")?.remove();
      host.append(h("span", { class: "tl-approval", text }));
      return;
    }
    timeline.live(`approval:${approval.id}`, () => rows.divider({}), { text: `${text}: ${shortSummary(approval)}` });
  }

  function drop(id, text) {
    const slot = open.get(id);
    if (!slot) return;
    const hadFocus = slot.card.element.contains(document.activeElement);
    slot.card.element.remove();
    open.delete(id);
    if (text) note(slot.card.approval, text);
    sync();
    if (hadFocus) focusComposer();
  }

  function decide(id, decision) {
    const slot = open.get(id);
    if (!slot || slot.card.isBusy() || !chatId) return;
    slot.card.setBusy(true, isOnline() ? "Sending…" : "Queued: sent when the connection is back");
    outbox.send({
      kind: "decision",
      chatId,
      path: `/v1/approvals/${encodeURIComponent(id)}`,
      body: { decision },
    }).then(() => {
      slot.decided = decision;
      slot.card.setOutcome(decision);
      announce(OUTCOMES[decision] ?? "Answered", "ok");
      if (slot.cleared) drop(id, OUTCOMES[decision]);
    }, (error) => {
      const status = error?.status ?? 0;
      const message = error?.message || "Request failed";
      if (slot.cleared) {
        drop(id, "Answered elsewhere");
        return;
      }
      slot.card.setError(message, FINAL_STATUSES.has(status));
      announce(message, "error");
    });
  }

  function add(approval) {
    if (!approval || typeof approval.id !== "string" || open.has(approval.id)) return;
    if (approval.status && approval.status !== "open") return;
    const card = createApprovalCard(approval, {
      onDecide: (decision) => decide(approval.id, decision),
      onDismiss: () => drop(approval.id, ""),
    });
    open.set(approval.id, { card, decided: null, cleared: false });
    // The row of the item it is about (command, edit, tool call) waits, not "runs".
    if (typeof approval.itemId === "string" && timeline.has(approval.itemId)) {
      timeline.live(approval.itemId, null, { stateText: WAITING, running: false });
    }
    element.append(card.element);
    sync();
  }

  /** `approval_cleared`: ids empty or missing means every approval of the chat. */
  function cleared(ids) {
    const which = Array.isArray(ids) && ids.length ? ids : [...open.keys()];
    for (const id of which) {
      const slot = open.get(id);
      if (!slot) continue;
      slot.cleared = true;
      if (slot.decided) drop(id, OUTCOMES[slot.decided]);
      else if (!slot.card.isBusy()) {
        drop(id, "Answered elsewhere");
        announce("Approval answered elsewhere");
      }
      // in flight: the answer to our own POST settles it
    }
  }

  /** Replace the set with what the companion says is open (after open/resync). */
  function replaceAll(list) {
    const ids = new Set((list ?? []).map((a) => a.id));
    for (const [id, slot] of open) if (!ids.has(id) && !slot.card.isBusy()) drop(id, "");
    for (const a of list ?? []) add(a);
  }

  function autoAccepted(payload) {
    if (payload && typeof payload.id === "string") {
      drop(payload.id, "");
      const scope = payload.matchedAllow?.scope === "always" ? "always allowed" : "allowed for this chat";
      timeline.live(`auto:${payload.id}`, () => rows.divider({}), {
        text: `Auto-approved (${scope}): ${shortSummary(payload)}`,
      });
    }
  }

  return {
    element,
    add,
    cleared,
    replaceAll,
    autoAccepted,
    /** How many approvals the open chat is waiting on (the shell may show it). */
    count: () => open.size,
    setChat(id) {
      chatId = id;
      open.clear();
      clear(element);
      sync();
    },
  };
}
