// One approval as a card: a fixed template filled with text (style.md
// practice 11). It offers exactly the decisions this approval accepts, and
// once a decision is in flight every button is disabled, so a second tap
// cannot send a second decision. The card shows the companion's own error
// text; the conversation decides when it goes away.

import { h } from "../lib/dom.js";
import { displayCommand } from "./timeline-items.js";

const LABELS = {
  approve: "Approve",
  decline: "Decline",
  allow_for_session: "Allow for this chat",
  allow_always: "Always allow",
};

const OUTCOMES = {
  approve: "Approved",
  decline: "Declined",
  allow_for_session: "Allowed for this chat",
  allow_always: "Always allowed",
};

/** The decisions to offer, in a fixed order. */
export function decisionsOf(approval) {
  const known = Object.keys(LABELS);
  if (Array.isArray(approval.availableDecisions)) {
    return known.filter((d) => approval.availableDecisions.includes(d));
  }
  return known.filter((d) => d === "approve" || d === "decline"
    || (d === "allow_for_session" && approval.supportsSessionAllow)
    || (d === "allow_always" && approval.supportsAlwaysAllow));
}

/** Commands and file lists are shown as fields; the summary would repeat them. */
function structured(approval) {
  const d = approval.details ?? {};
  return Boolean(d.command) || (Array.isArray(d.files) && d.files.length > 0);
}

function detailRows(approval) {
  const d = approval.details ?? {};
  const out = [];
  if (d.command) {
    const cmd = displayCommand(d.command);
    out.push(h("div", { class: "approval-field" }, h("span", { class: "label", text: "Command" }),
      h("code", { class: "approval-command", text: cmd })));
  }
  if (d.cwd) {
    out.push(h("div", { class: "approval-field" }, h("span", { class: "label", text: "In" }),
      h("code", { text: String(d.cwd) })));
  }
  if (Array.isArray(d.files) && d.files.length) {
    out.push(h("ul", { class: "approval-files", "aria-label": "Files" },
      ...d.files.map((f) => h("li", {},
        h("code", { text: String(f.path ?? "") }), " ",
        h("span", { class: "add", text: `+${f.additions ?? 0}` }), " ",
        h("span", { class: "del", text: `-${f.deletions ?? 0}` })))));
  }
  const server = d.server ?? approval.serverName;
  if (server) {
    out.push(h("div", { class: "approval-field" }, h("span", { class: "label", text: "MCP" }),
      h("span", { text: d.tool ? `${server} · ${d.toolTitle || d.tool}` : String(server) })));
  }
  if (d.reason && (structured(approval) || !String(approval.summary ?? "").includes(String(d.reason)))) {
    out.push(h("p", { class: "approval-reason", text: String(d.reason) }));
  }
  return out;
}

/**
 * @param {any} approval  the approval object (docs/approvals.md)
 * @param {{onDecide(decision: string): void, onDismiss(): void}} hooks
 */
export function createApprovalCard(approval, { onDecide, onDismiss }) {
  const titleId = `approval-title-${approval.id}`;
  const risk = String(approval.riskLevel ?? "");
  const statusLine = h("p", { class: "approval-status", role: "status" });
  const buttons = decisionsOf(approval).map((decision) => h("button", {
    type: "button",
    class: `approval-btn decision-${decision}`,
    text: LABELS[decision],
    dataset: { decision },
    on: { click: () => onDecide(decision) },
  }));
  const dismiss = h("button", { type: "button", class: "approval-btn approval-dismiss", text: "Dismiss", hidden: true,
    on: { click: () => onDismiss() } });
  const element = h("section", {
    class: `approval-card risk-${risk}`,
    role: "group",
    "aria-labelledby": titleId,
    dataset: { approvalId: approval.id },
  },
  h("header", { class: "approval-head" },
    h("h2", { id: titleId, class: "approval-title", text: approval.title || "Approval" }),
    risk ? h("span", { class: "approval-risk", text: `Risk ${risk}` }) : null),
  structured(approval) ? null : h("p", { class: "approval-summary", text: approval.summary ?? "" }),
  ...detailRows(approval),
  statusLine,
  h("div", { class: "approval-actions" }, ...buttons, dismiss));

  let busy = false;
  return {
    element,
    approval,
    isBusy: () => busy,
    /** Disable every button while a decision is in flight. */
    setBusy(value, text = "") {
      busy = value;
      for (const b of buttons) b.disabled = value;
      statusLine.textContent = text;
    },
    /** The decision reached the companion. */
    setOutcome(decision) {
      busy = true;
      for (const b of buttons) b.disabled = true;
      element.classList.add("is-decided");
      statusLine.textContent = OUTCOMES[decision] ?? "Answered";
    },
    /** The companion's own error text; `final` when no decision can succeed any more. */
    setError(message, final) {
      busy = final;
      for (const b of buttons) b.disabled = final;
      dismiss.hidden = !final;
      element.classList.add("is-error");
      statusLine.textContent = message;
    },
    focusFirst() {
      const first = buttons.find((b) => !b.disabled);
      if (first) first.focus({ preventScroll: true });
    },
  };
}

export { OUTCOMES };
