// The diff of the session sheet: the companion's diff text (untrusted: it is the
// agent's work) turned into one row per line, built with h() and textContent only.
// Hunk headers give the line numbers; inside a hunk, additions and deletions are
// coloured, and rows never wrap so long lines scroll sideways, as in a terminal.

import { h } from "../lib/dom.js";

const TRUNCATION_MARK = "[Diff truncated]";
const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Split the text into `{kind, text, old, new}` rows. Kinds: `meta` (headers, section
 * titles, untracked lists), `hunk`, `ctx`, `add`, `del`, `note` ("\ No newline…").
 * A hunk ends when its counts are used up, so a `+++` line after it is a header again. */
export function diffRows(text) {
  const rows = [];
  let oldLine = 0;
  let newLine = 0;
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of text.split("\n")) {
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[3]);
      oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      rows.push({ kind: "hunk", text: line, old: "", new: "" });
    } else if (line.startsWith("\\")) {
      rows.push({ kind: "note", text: line, old: "", new: "" });
    } else if (newLeft > 0 && line.startsWith("+")) {
      rows.push({ kind: "add", text: line, old: "", new: String(newLine) });
      newLine += 1;
      newLeft -= 1;
    } else if (oldLeft > 0 && line.startsWith("-")) {
      rows.push({ kind: "del", text: line, old: String(oldLine), new: "" });
      oldLine += 1;
      oldLeft -= 1;
    } else if (oldLeft > 0 && newLeft > 0 && line.startsWith(" ")) {
      rows.push({ kind: "ctx", text: line, old: String(oldLine), new: String(newLine) });
      oldLine += 1;
      newLine += 1;
      oldLeft -= 1;
      newLeft -= 1;
    } else {
      oldLeft = 0;
      newLeft = 0;
      rows.push({ kind: "meta", text: line, old: "", new: "" });
    }
  }
  return rows;
}

/**
 * Render one diff answer (`GET …/git/diff`): `{path, text, truncated, untrackedPaths}`.
 * @returns {HTMLElement}
 */
export function renderDiff(data) {
  let text = String(data?.text ?? "");
  const truncated = Boolean(data?.truncated);
  if (truncated && text.endsWith(TRUNCATION_MARK)) text = text.slice(0, -TRUNCATION_MARK.length).replace(/\n+$/, "");
  const lines = diffRows(text).map((row) =>
    h("div", { class: `diff-line diff-${row.kind}`, role: "row" },
      h("span", { class: "diff-num", role: "cell", "aria-label": row.old ? `old line ${row.old}` : null, text: row.old }),
      h("span", { class: "diff-num", role: "cell", "aria-label": row.new ? `new line ${row.new}` : null, text: row.new }),
      h("span", { class: "diff-text", role: "cell", text: row.text || " " })));
  const table = h("div", { class: "diff-lines", role: "table", "aria-label": `Diff of ${data?.path || "all changes"}` }, ...lines);
  const scroller = h("div", { class: "diff-scroll", tabindex: "0" }, table);
  const notice = truncated
    ? h("p", { class: "diff-truncated", role: "note" },
      h("strong", { text: TRUNCATION_MARK }),
      " The companion sends the first 64,000 characters of a diff; see the rest on the computer.")
    : null;
  return h("div", { class: "diff" }, scroller, notice);
}
