// Stream events of the open chat → rows of the transcript. Rows are keyed by
// the app-server item id, so a replayed or repeated event updates the row it
// already made instead of adding a second one; deltas are dropped when their
// `seq` was already applied (a resume replays only what came after lastSeq,
// but a second subscriber path must never double text).

import * as rows from "./timeline-items.js";

function textOfUserItem(item) {
  const parts = Array.isArray(item.content) ? item.content : [];
  return parts.filter((p) => p && p.type === "text").map((p) => p.text).join("\n");
}

function reasoningText(item) {
  const summary = Array.isArray(item.summary) ? item.summary : [];
  return summary.map((s) => (typeof s === "string" ? s : s?.text ?? "")).filter(Boolean).join("\n\n");
}

function mcpText(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return "";
  }
}

/** +/- of one change: a unified diff, or (added / deleted file) the file's own lines. */
function changeCounts(change) {
  const diff = String(change.diff ?? "");
  const kind = change.kind?.type ?? change.kind;
  if (!diff.includes("@@") && (kind === "add" || kind === "delete")) {
    const lines = diff ? diff.replace(/\n$/, "").split("\n").length : 0;
    return kind === "add" ? { additions: lines, deletions: 0 } : { additions: 0, deletions: lines };
  }
  return rows.diffCounts(diff);
}

function commandState(item) {
  if (item.status === "inProgress") return { stateText: "Running…", running: true, failed: false };
  if (item.status === "declined") return { stateText: "Declined", running: false, failed: true };
  if (typeof item.exitCode === "number") {
    return { stateText: `Exit ${item.exitCode}`, running: false, failed: item.exitCode !== 0 };
  }
  if (item.status === "failed") return { stateText: "Failed", running: false, failed: true };
  return { stateText: "Done", running: false, failed: false };
}

/**
 * @param {ReturnType<import("./timeline.js").createTimeline>} timeline
 * @param {{onTurn(running: boolean, turnId?: string): void,
 *          onUserItem(text: string, itemId: string): boolean}} hooks
 *   `onUserItem` returns true when the view already shows that text (its own send)
 */
export function createLiveApplier(timeline, hooks) {
  let lastSeq = -1;
  const turnStarts = new Map(); // turnId -> ms

  function item(frame, done) {
    const it = frame.payload?.item;
    if (!it || typeof it.id !== "string") return;
    const turnId = frame.payload?.turnId;
    const base = { turnId };
    switch (it.type) {
      case "userMessage": {
        const text = textOfUserItem(it);
        if (!text || hooks.onUserItem(text, it.id)) return;
        timeline.live(it.id, () => rows.userMessage({ text }), { ...base, text, role: "user" });
        return;
      }
      case "agentMessage":
        timeline.live(it.id, (s) => rows.assistantMessage({ live: true, phase: it.phase }, s),
          { ...base, role: "assistant", phase: it.phase ?? undefined, fullText: done ? it.text : undefined, done });
        return;
      case "reasoning":
        timeline.live(it.id, (s) => rows.reasoning({}, s),
          { ...base, fullText: done ? reasoningText(it) : undefined, done });
        return;
      case "commandExecution":
        timeline.live(it.id, () => rows.command({ title: "Command" }), {
          ...base, title: it.status === "inProgress" ? "Command" : "Ran", command: it.command ?? "", ...commandState(it),
          output: typeof it.aggregatedOutput === "string" ? it.aggregatedOutput : undefined,
        });
        return;
      case "fileChange": {
        const changes = Array.isArray(it.changes) ? it.changes : [];
        const files = changes.map((c) => ({ path: String(c.path ?? ""), ...changeCounts(c) }));
        const stateText = it.status === "inProgress" ? "Pending" : it.status === "declined" ? "Declined"
          : it.status === "failed" ? "Failed" : "";
        timeline.live(it.id, () => rows.fileEdit({ files }), { ...base, title: "Edited", files, stateText });
        return;
      }
      case "webSearch":
        timeline.live(it.id, () => rows.note({ variant: "search" }), {
          ...base, title: "Searched web for", detail: String(it.query ?? ""),
          stateText: done ? "" : "Searching…", running: !done,
        });
        return;
      case "mcpToolCall": {
        const failed = it.status === "failed" || it.error;
        timeline.live(it.id, () => rows.note({ variant: "mcp" }), {
          ...base, title: `Called ${it.tool ?? "tool"} from ${it.server ?? "MCP"}`, detail: "",
          stateText: it.status === "inProgress" ? "Running…" : failed ? "Failed" : "Done",
          running: it.status === "inProgress",
          extra: [mcpText(it.arguments), mcpText(it.error ?? it.result?.content)].filter(Boolean).join("\n\n"),
        });
        return;
      }
      default:
    }
  }

  /** Apply one frame of the open chat. */
  function apply(frame) {
    const p = frame.payload ?? {};
    const isDelta = frame.event.endsWith("_delta");
    if (typeof frame.seq === "number") {
      if (isDelta && frame.seq <= lastSeq) return;
      lastSeq = Math.max(lastSeq, frame.seq);
    }
    switch (frame.event) {
      case "turn_started": {
        const turnId = p.turn?.id ?? p.turnId;
        if (turnId) turnStarts.set(turnId, frame.timestamp);
        hooks.onTurn(true, turnId);
        return;
      }
      case "turn_completed": {
        const turnId = p.turn?.id ?? p.turnId;
        let seconds = 0;
        if (typeof p.turn?.durationMs === "number") seconds = p.turn.durationMs / 1000;
        else if (turnId && turnStarts.has(turnId)) seconds = (frame.timestamp - turnStarts.get(turnId)) / 1000;
        if (seconds >= 1 && turnId) {
          const status = p.turn?.status;
          const what = status === "interrupted" ? "Stopped after" : "Worked for";
          timeline.live(`worked:${turnId}`, () => rows.divider({}), { turnId, text: `${what} ${rows.formatDuration(seconds)}` });
        }
        hooks.onTurn(false, turnId);
        return;
      }
      case "item_started":
        item(frame, false);
        return;
      case "item_completed":
        item(frame, true);
        return;
      case "message_delta":
        if (typeof p.itemId !== "string" || typeof p.delta !== "string") return;
        timeline.live(p.itemId, (s) => rows.assistantMessage({ live: true }, s),
          { turnId: p.turnId, role: "assistant", delta: p.delta });
        return;
      case "reasoning_delta":
        if (typeof p.itemId !== "string" || typeof p.delta !== "string") return;
        timeline.live(p.itemId, (s) => rows.reasoning({}, s), { turnId: p.turnId, delta: p.delta });
        return;
      case "command_output_delta":
        if (typeof p.itemId !== "string" || typeof p.delta !== "string") return;
        if (!timeline.has(p.itemId)) return;
        timeline.live(p.itemId, () => rows.command({}), { outputDelta: p.delta });
        return;
      case "error": {
        const message = p.error?.message ?? p.message;
        if (typeof message !== "string" || p.willRetry) return;
        timeline.live(`error:${frame.seq ?? frame.timestamp}`, () => rows.divider({ error: true }), { text: `Error: ${message}` });
        return;
      }
      default:
    }
  }

  return {
    apply,
    /** After a resync the companion's seq numbering may have restarted. */
    resetSeq(seq) {
      lastSeq = typeof seq === "number" ? seq : -1;
    },
  };
}
