// The git part of the session sheet: the branch with a picker of the other local
// branches, the changed files in three groups (staged, unstaged, untracked), and
// the commit form. It only renders what the sheet hands it and reports taps; the
// sheet does the requests, the confirmation and the refresh.

import { h, clear } from "../lib/dom.js";

/** Porcelain letters → the groups wire-api 8.2 counts (a `UU` file is in two). */
export function groupPaths(changedPaths) {
  const groups = { staged: [], unstaged: [], untracked: [] };
  for (const entry of changedPaths ?? []) {
    const index = entry.indexStatus ?? " ";
    const tree = entry.workingTreeStatus ?? " ";
    if (index === "?" && tree === "?") {
      groups.untracked.push(entry);
      continue;
    }
    if (index !== " ") groups.staged.push(entry);
    if (tree !== " ") groups.unstaged.push(entry);
  }
  return groups;
}

const GROUPS = [
  ["staged", "Staged", "indexStatus"],
  ["unstaged", "Unstaged", "workingTreeStatus"],
  ["untracked", "Untracked", null],
];

/**
 * @param {{onCheckout: (branch: string) => void, onCommit: (message: string) => void,
 *          onDiff: (path: string | null) => void}} events
 */
export function createGitSection({ onCheckout, onCommit, onDiff }) {
  const branchLine = h("p", { class: "sheet-branch" });
  const picker = h("select", { class: "sheet-select", id: "sheet-branch-picker" });
  const checkout = h("button", { type: "button", class: "button", text: "Check out",
    on: { click: () => picker.value && onCheckout(picker.value) } });
  const switcher = h("div", { class: "sheet-row" },
    h("label", { for: "sheet-branch-picker", text: "Switch to branch" }), picker, checkout);
  const files = h("div", { class: "sheet-files" });
  const message = h("textarea", { class: "sheet-message", id: "sheet-commit-message", rows: 3,
    placeholder: "What these staged changes do" });
  const commit = h("button", { type: "button", class: "button primary", text: "Commit staged changes",
    on: { click: () => onCommit(message.value) } });
  const commitForm = h("div", { class: "sheet-commit" },
    h("label", { for: "sheet-commit-message", text: "Commit message" }), message, commit);
  const body = h("div", { class: "sheet-git-body" });
  const element = h("section", { class: "sheet-section", "aria-labelledby": "sheet-git-title" },
    h("h3", { id: "sheet-git-title", text: "Git" }), body);

  function renderFiles(git) {
    clear(files);
    const groups = groupPaths(git.changedPaths);
    if (!git.changedPaths?.length) {
      files.append(h("p", { class: "sheet-muted", text: "No changes" }));
      return;
    }
    for (const [key, label, statusKey] of GROUPS) {
      const list = groups[key];
      if (!list.length) continue;
      files.append(h("h4", { text: `${label} (${list.length})` }),
        h("ul", { class: "sheet-file-list", "aria-label": `${label} files` },
          ...list.map((entry) => h("li", {},
            h("button", { type: "button", class: "sheet-file", on: { click: () => onDiff(entry.path) } },
              h("span", { class: "sheet-file-status", "aria-hidden": "true",
                text: statusKey ? entry[statusKey] : "?" }),
              h("span", { class: "sheet-file-path", text: entry.path }))))));
    }
    files.append(h("button", { type: "button", class: "button", text: "Show all changes", on: { click: () => onDiff(null) } }));
  }

  return {
    element,
    /** Show `git` (context.git) and `branches` (null when they could not be read). */
    render(git, branches) {
      clear(body);
      if (!git?.isRepository) {
        body.append(h("p", { class: "sheet-muted", text: "This project is not a Git repository." }));
        return;
      }
      branchLine.textContent = "";
      branchLine.append("Branch ", h("strong", { text: git.branch ?? "(detached)" }));
      clear(picker);
      const others = (branches ?? []).filter((b) => !b.isCurrent);
      for (const b of others) picker.append(h("option", { value: b.name, text: b.name }));
      picker.disabled = checkout.disabled = others.length === 0;
      if (!others.length) picker.append(h("option", { value: "", text: "No other local branch" }));
      const counts = h("p", { class: "sheet-muted",
        text: `${git.stagedFiles} staged · ${git.unstagedFiles} unstaged · ${git.untrackedFiles} untracked` });
      renderFiles(git);
      body.append(branchLine, switcher, counts, files, commitForm);
    },
    clearMessage() {
      message.value = "";
    },
    setBusy(busy) {
      checkout.disabled = busy || picker.options.length === 0 || !picker.value;
      commit.disabled = busy;
    },
  };
}
