// Elements of the transcript, one builder per kind of row. Every builder
// returns {element, update(data)}: the timeline owns order and identity, these
// own only how one row looks. Agent text goes through lib/markdown.js (via
// timeline-text.js); everything else is set as text through lib/dom.js.

import { h, clear } from "../lib/dom.js";
import { createStreamingText, staticText } from "./timeline-text.js";

const OUTPUT_CAP = 64 * 1024; // characters of command output kept in the DOM

/** "1m 5s", "13s" */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** The command as the person typed it: codex wraps it in `/bin/bash -lc '…'`. */
export function displayCommand(command) {
  const text = Array.isArray(command) ? command.join(" ") : String(command ?? "");
  const m = /^\/bin\/(?:ba|z)?sh -l?c '([\s\S]*)'$/.exec(text);
  return m ? m[1].replaceAll("'\\''", "'") : text;
}

/** +/- line counts of a unified diff. */
export function diffCounts(diff) {
  let additions = 0;
  let deletions = 0;
  for (const line of String(diff ?? "").split("\n")) {
    if (line.startsWith("+++") || line.startsWith("---")) continue;
    if (line.startsWith("+")) additions += 1;
    else if (line.startsWith("-")) deletions += 1;
  }
  return { additions, deletions };
}

function counts(additions, deletions) {
  return h("span", { class: "counts" },
    h("span", { class: "add", text: `+${additions ?? 0}` }), " ",
    h("span", { class: "del", text: `-${deletions ?? 0}` }));
}

/** A user bubble; `note` shows "Queued", "Sending…" or an error. */
export function userMessage(data) {
  const body = h("div", { class: "bubble-text", text: data.text ?? "" });
  const note = h("div", { class: "bubble-note" });
  const element = h("article", { class: "tl-row tl-user", "aria-label": "You" }, body, note);
  function update(next) {
    if (next.text !== undefined) body.textContent = next.text;
    note.textContent = next.note || "";
    note.hidden = !next.note;
    element.classList.toggle("is-failed", Boolean(next.failed));
    element.classList.toggle("is-queued", Boolean(next.queued));
  }
  update(data);
  return { element, update };
}

/** An assistant message: commentary styled apart from the final answer. */
export function assistantMessage(data, schedule) {
  const live = Boolean(data.live);
  const text = live ? createStreamingText(schedule) : null;
  const body = live ? text.element : staticText(data.text ?? "");
  const worked = h("div", { class: "worked", role: "separator" });
  const element = h("article", { class: "tl-row tl-assistant", "aria-label": "Codex" }, worked, body);
  function update(next) {
    const phase = next.phase ?? data.phase;
    element.classList.toggle("is-commentary", phase === "commentary");
    element.classList.toggle("is-final", phase === "final_answer");
    if (next.workedDurationSeconds) {
      worked.textContent = `Worked for ${formatDuration(next.workedDurationSeconds)}`;
    }
    worked.hidden = !worked.textContent;
    if (text) {
      if (next.delta) text.append(next.delta);
      if (typeof next.fullText === "string" && next.fullText) text.set(next.fullText);
      if (next.done) text.finish();
    }
  }
  if (text && data.text) text.set(data.text);
  update(data);
  return { element, update, text: () => (text ? text.text() : data.text ?? "") };
}

/** Reasoning: collapsed by default. */
export function reasoning(data, schedule) {
  const label = h("summary", { text: "Thinking…" });
  const text = createStreamingText(schedule);
  const element = h("details", { class: "tl-row tl-reasoning" }, label, text.element);
  function update(next) {
    if (next.delta) text.append(next.delta);
    if (typeof next.fullText === "string" && next.fullText) text.set(next.fullText);
    if (next.done) {
      label.textContent = "Thought through it";
      text.finish();
    }
  }
  update(data);
  return { element, update };
}

/** A command (live item or history card): command line, state, collapsible output. */
export function command(data) {
  const title = h("span", { class: "activity-title" });
  const line = h("code", { class: "activity-command" });
  const state = h("span", { class: "activity-state" });
  const output = h("pre", { class: "activity-output", tabIndex: 0 });
  const summary = h("summary", {}, title, " ", line, " ", state);
  const element = h("details", { class: "tl-row tl-activity tl-command" }, summary, output);
  let outputText = "";
  function setOutput(value) {
    outputText = value.length > OUTPUT_CAP ? value.slice(value.length - OUTPUT_CAP) : value;
    output.textContent = outputText;
    output.hidden = !outputText;
  }
  function update(next) {
    if (next.title) title.textContent = next.title;
    const cmd = next.command ?? next.commandPreview;
    if (cmd !== undefined) line.textContent = displayCommand(cmd);
    line.hidden = !line.textContent;
    if (next.detail && !line.textContent) line.textContent = next.detail;
    if (next.stateText) state.textContent = next.stateText;
    element.classList.toggle("is-running", next.running === true);
    element.classList.toggle("is-failed", next.failed === true);
    if (next.outputDelta) setOutput(outputText + next.outputDelta);
    if (typeof next.output === "string" && next.output) setOutput(next.output);
  }
  setOutput("");
  update(data);
  return { element, update };
}

/** A file edit: path and +/- counts (one row per file). */
export function fileEdit(data) {
  const element = h("div", { class: "tl-row tl-activity tl-file" });
  const shown = { title: "Edited", files: [], stateText: "" };
  function update(patch) {
    const next = Object.assign(shown, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
    clear(element);
    const files = next.files ?? [];
    element.append(h("span", { class: "activity-title", text: next.title || "Edited" }));
    for (const file of files) {
      element.append(h("div", { class: "file-line" },
        h("code", { class: "file-path", text: file.path }), " ", counts(file.additions, file.deletions)));
    }
    if (next.stateText) element.append(h("span", { class: "activity-state", text: next.stateText }));
  }
  update(data);
  return { element, update };
}

/** Web searches, MCP calls, compaction and other one-line cards. */
export function note(data) {
  const title = h("span", { class: "activity-title" });
  const detail = h("span", { class: "activity-detail" });
  const state = h("span", { class: "activity-state" });
  const extra = h("pre", { class: "activity-output", tabIndex: 0 });
  const summary = h("summary", {}, title, " ", detail, " ", state);
  const element = h("details", { class: `tl-row tl-activity tl-${data.variant || "note"}` }, summary, extra);
  function update(next) {
    if (next.title) title.textContent = next.title;
    if (next.detail !== undefined) detail.textContent = next.detail || "";
    if (next.stateText !== undefined) state.textContent = next.stateText || "";
    if (next.extra !== undefined) extra.textContent = String(next.extra || "").slice(0, OUTPUT_CAP);
    extra.hidden = !extra.textContent;
    element.classList.toggle("is-running", next.running === true);
  }
  update(data);
  return { element, update };
}

/** "Worked for N s" divider after a live turn, or an error line. */
export function divider(data) {
  const element = h("div", { class: `tl-row tl-divider ${data.error ? "is-error" : ""}`, role: data.error ? "alert" : "separator" });
  function update(next) {
    element.textContent = next.text || "";
  }
  update(data);
  return { element, update };
}

/** Build the row of a history page item (`type: message | activity`). */
export function fromHistory(item, schedule) {
  if (item.type === "message" || item.role) {
    if (item.role === "user") return userMessage({ text: item.text });
    return assistantMessage({ text: item.text, phase: item.phase, workedDurationSeconds: item.workedDurationSeconds }, schedule);
  }
  const running = item.state === "in_progress";
  switch (item.kind) {
    case "running_command":
    case "exploring":
    case "background_terminal":
      if (item.commandPreview || item.kind !== "exploring") {
        return command({ title: item.title, commandPreview: item.commandPreview, detail: item.detail,
          stateText: running ? "Running…" : "", running });
      }
      return note({ title: item.title, detail: item.detail, running, variant: "search" });
    case "file_edited":
      return fileEdit({ title: item.title || "Edited",
        files: [{ path: item.filePath || item.detail || "", additions: item.additions, deletions: item.deletions }] });
    default:
      return note({ title: item.title, detail: item.detail, running });
  }
}
