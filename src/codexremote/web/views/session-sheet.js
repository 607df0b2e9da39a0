// The session sheet: one project's settings and git state, opened from the
// conversation's header. Approval policy and sandbox mode (PATCH /v1/runtime/config),
// the branch and checkout of an existing branch, the changed files with a per-file
// diff, and commit of what is staged. Every write is confirmed in the sheet first,
// refused writes show the companion's (or git's) own words, and the sheet reloads
// the project context after every write, so it only ever shows what is in effect.
// Loaded with import() on the first tap, together with its own stylesheet.

import { h, clear } from "../lib/dom.js";
import { createConfirm } from "./session-sheet-confirm.js";
import { createGitSection } from "./session-sheet-git.js";
import { renderDiff } from "./session-sheet-diff.js";

const APPROVAL_POLICIES = ["untrusted", "on-failure", "on-request", "never"];
const SANDBOX_MODES = ["read-only", "workspace-write", "danger-full-access"];
const APPLIES = "A change applies from the next turn of every chat; a turn that is already running keeps its settings.";

let styles = null;

/** The sheet's stylesheet, added once; resolves when it loaded (or failed: still usable). */
function loadStyles() {
  styles ??= new Promise((resolve) => {
    const link = h("link", { rel: "stylesheet", href: new URL("../session-sheet.css", import.meta.url).href,
      on: { load: () => resolve(), error: () => resolve() } });
    document.head.append(link);
  });
  return styles;
}

function projectPath(projectId, tail) {
  return `/v1/projects/${encodeURIComponent(projectId)}/${tail}`;
}

function selectFor(id, values) {
  return h("select", { class: "sheet-select", id },
    h("option", { value: "", text: "Not set (Codex default)", disabled: true }),
    ...values.map((v) => h("option", { value: v, text: v })));
}

/**
 * @param {{api: any, announce: (text: string, tone?: string) => void}} services
 * @returns {{element: HTMLElement, open: (chat: {projectId: string}) => Promise<void>, close: () => void}}
 */
export function createSessionSheet({ api, announce }) {
  let projectId = null;
  let context = null;
  let generation = 0;
  let busy = false;

  const confirm = createConfirm();
  const error = h("p", { class: "sheet-error", role: "alert" });
  const cwd = h("p", { class: "sheet-muted sheet-cwd" });
  const approval = selectFor("sheet-approval", APPROVAL_POLICIES);
  const sandbox = selectFor("sheet-sandbox", SANDBOX_MODES);
  const modelLine = h("p", { class: "sheet-muted" });
  approval.addEventListener("change", () => changeRuntime("approvalPolicy", "approval policy", approval));
  sandbox.addEventListener("change", () => changeRuntime("sandboxMode", "sandbox mode", sandbox));
  const runtime = h("section", { class: "sheet-section", "aria-labelledby": "sheet-runtime-title" },
    h("h3", { id: "sheet-runtime-title", text: "Runtime" }),
    h("div", { class: "sheet-row" }, h("label", { for: "sheet-approval", text: "Approval policy" }), approval),
    h("div", { class: "sheet-row" }, h("label", { for: "sheet-sandbox", text: "Sandbox mode" }), sandbox),
    h("p", { class: "sheet-note", text: APPLIES }), modelLine);
  const git = createGitSection({ onCheckout: checkout, onCommit: commit, onDiff: showDiff });
  const diffTitle = h("h3", { id: "sheet-diff-title" });
  const diffBody = h("div", { class: "sheet-diff-body" });
  const diffPanel = h("section", { class: "sheet-section sheet-diff", "aria-labelledby": "sheet-diff-title", hidden: true },
    h("div", { class: "sheet-head" }, diffTitle,
      h("button", { type: "button", class: "button", text: "Close diff", on: { click: () => hideDiff() } })),
    diffBody);
  const close = h("button", { type: "button", class: "button", text: "Done", on: { click: () => element.close() } });
  // The agent keeps editing while the sheet is open: a refresh reads the work tree again.
  const refresh = h("button", { type: "button", class: "button quiet", text: "Refresh",
    on: { click: () => reload().catch(() => {}) } });
  const content = h("div", { class: "sheet-content" },
    h("div", { class: "sheet-head" }, h("h2", { id: "sheet-title", text: "Session" }),
      h("div", { class: "sheet-head-actions" }, refresh, close)),
    cwd, error, confirm.element, runtime, git.element, diffPanel);
  const element = h("dialog", { class: "session-sheet", "aria-labelledby": "sheet-title" }, content);
  element.addEventListener("close", () => {
    confirm.cancel();
    generation += 1;
  });

  function showError(message) {
    error.textContent = message ?? "";
  }

  function setBusy(value) {
    busy = value;
    approval.disabled = sandbox.disabled = value;
    git.setBusy(value);
  }

  /** Context and branches again (after open and every write). */
  async function reload() {
    const mine = generation;
    const [ctx, branches] = await Promise.allSettled([
      api.get(projectPath(projectId, "context")),
      api.get(projectPath(projectId, "git/branches")),
    ]);
    if (mine !== generation) return;
    if (ctx.status === "rejected") {
      showError(ctx.reason?.message || "Could not load the project");
      return;
    }
    context = ctx.value;
    cwd.textContent = context.cwd ?? "";
    approval.value = APPROVAL_POLICIES.includes(context.approvalPolicy) ? context.approvalPolicy : "";
    sandbox.value = SANDBOX_MODES.includes(context.sandboxMode) ? context.sandboxMode : "";
    const model = [context.model, context.modelReasoningEffort].filter(Boolean).join(" · ");
    modelLine.textContent = model ? `Model ${model}` : "";
    const gitState = context.git?.isRepository && branches.status === "rejected" ? null : branches.value;
    git.render(context.git, gitState ?? []);
    git.setBusy(busy);
  }

  /** Confirm, send, show the refusal in the sheet's own words, reload either way. */
  async function write(question, action, send, done) {
    showError("");
    if (busy || !(await confirm.ask(question, action))) return false;
    setBusy(true);
    let ok = false;
    try {
      const result = await send();
      ok = true;
      done?.(result);
    } catch (e) {
      showError(e?.message || "Request failed");
    } finally {
      setBusy(false);
    }
    await reload().catch(() => {});
    return ok;
  }

  async function changeRuntime(key, label, select) {
    const value = select.value;
    const before = key === "approvalPolicy" ? context?.approvalPolicy : context?.sandboxMode;
    if (!value || value === before) return;
    select.value = before ?? ""; // shows what is in effect until the write is confirmed and done
    await write(`Change the ${label} to ${value}? ${APPLIES}`, "Change",
      () => api.patch("/v1/runtime/config", { [key]: value }),
      () => announce(`The ${label} is now ${value}`));
  }

  async function checkout(branch) {
    await write(`Check out branch ${branch}?`, "Check out",
      () => api.post(projectPath(projectId, "git/checkout"), { branch }),
      () => {
        hideDiff();
        announce(`Checked out ${branch}`);
      });
  }

  async function commit(message) {
    const subject = message.trim().split("\n")[0];
    await write(`Commit the staged changes as “${subject}”?`, "Commit",
      () => api.post(projectPath(projectId, "git/commit"), { message }),
      (result) => {
        git.clearMessage();
        hideDiff();
        announce(`Committed ${String(result?.commitHash ?? "").slice(0, 7)} ${result?.summary ?? ""}`.trim());
      });
  }

  async function showDiff(path) {
    const mine = generation;
    showError("");
    diffTitle.textContent = path ? `Diff of ${path}` : "All changes";
    clear(diffBody).append(h("p", { class: "sheet-muted", text: "Loading…" }));
    diffPanel.hidden = false;
    try {
      const query = path ? `?path=${encodeURIComponent(path)}` : "";
      const data = await api.get(`${projectPath(projectId, "git/diff")}${query}`);
      if (mine !== generation) return;
      clear(diffBody).append(renderDiff(data));
    } catch (e) {
      if (mine !== generation) return;
      clear(diffBody).append(h("p", { class: "sheet-error", text: e?.message || "Could not load the diff" }));
    }
    diffPanel.scrollIntoView({ block: "start" });
  }

  function hideDiff() {
    diffPanel.hidden = true;
    clear(diffBody);
  }

  return {
    element,
    async open(chat) {
      await loadStyles();
      generation += 1;
      projectId = chat.projectId;
      context = null;
      showError("");
      hideDiff();
      if (!element.isConnected) document.body.append(element);
      if (!element.open) element.showModal();
      await reload();
    },
    close() {
      if (element.open) element.close();
    },
  };
}
