// The conversation screen (mount point): header, transcript, approvals dock
// and composer for one chat. It paints the chat's cached newest page from the
// store, then the companion's newest page, then appends the live stream; older
// pages load when the reader nears the top. After a turn ends or a `resync`,
// the newest page is fetched again and live rows that the page now holds are
// dropped, so nothing is shown twice.

import { h } from "../lib/dom.js";
import { createTimeline } from "./timeline.js";
import { createLiveApplier } from "./timeline-live.js";
import { createApprovalDock } from "./conversation-approvals.js";
import { createComposer } from "./composer.js";
import { createDictation } from "../dictation.js";
import { createSessionEntry } from "./session-entry.js";
import * as rows from "./timeline-items.js";

const PAGE_LIMIT = 50;
const PLACEHOLDER_TITLES = new Set(["", "chat", "untitled chat", "new thread"]);
const SETTLE_RETRY_MS = 2500; // the companion re-looks for a missing rollout after 2 s

function chatPath(chatId, tail) {
  return `/v1/chats/${encodeURIComponent(chatId)}/${tail}`;
}

/** Page items (newest first) + live command cards → rows oldest first. A card already
 * on screen keeps its place after `anchors.get(id)` (the row before it there); others go
 * by time: after everything older, within the same second before the answer. */
function pageRows(data, anchors = new Map()) {
  const items = (data.items ?? []).slice().reverse();
  const placed = new Set();
  for (const card of data.liveActivities ?? []) {
    if (items.some((i) => i.id === card.id)) continue;
    const row = { ...card, type: "activity" };
    const anchor = anchors.get(card.id);
    let at = anchor ? items.findIndex((i) => i.id === anchor) + 1 : 0;
    if (at > 0) {
      while (at < items.length && placed.has(items[at].id)) at += 1;
    } else {
      const t = card.createdAt ?? 0;
      at = items.length;
      while (at > 0) {
        const prev = items[at - 1];
        const later = (prev.createdAt ?? 0) > t;
        const sameSecondAnswer = (prev.createdAt ?? 0) === t && prev.role === "assistant";
        if (!later && !sameSecondAnswer) break;
        at -= 1;
      }
    }
    items.splice(at, 0, row);
    placed.add(row.id);
  }
  return items;
}

/**
 * @param {{api: any, stream: any, outbox: any, store: any,
 *          announce: (text: string, tone?: string) => void, onBack: () => void,
 *          pill?: HTMLElement}} services  `pill`: the connection pill, shown in the header
 */
export function createConversation({ api, stream, outbox, store, announce, onBack, pill }) {
  const title = h("h1", { class: "conv-title", text: "" });
  const back = h("button", { type: "button", class: "conv-back", "aria-label": "Back to chats", text: "‹",
    on: { click: () => onBack() } });
  const session = createSessionEntry({ api, announce, currentChat: () => chat });
  const sessionSlot = h("div", { class: "conv-header-slot", dataset: { slot: "session" } }, session.element);
  const header = h("header", { class: "conv-header" }, back, title, pill ?? null, sessionSlot);

  let chat = null;
  let generation = 0; // answers for an earlier open() are ignored
  let cursor = null;
  let loadingOlder = false;
  let running = false;
  let activeTurn = null;
  let online = true;
  let localCount = 0;
  let stale = false; // the last newest-page fetch failed

  const timeline = createTimeline({ onNearTop: () => loadOlder() });
  const composer = createComposer({
    onSend: (text) => send("message", text),
    onSteer: (text) => send("steer", text),
    onStop: () => stop(),
  });
  const dictation = createDictation({ api, store, stream, composer, announce });
  composer.micSlot.append(dictation.button);
  const dock = createApprovalDock({
    outbox, announce, timeline,
    isOnline: () => online,
    focusComposer: () => composer.focus(),
  });
  const live = createLiveApplier(timeline, {
    onTurn: (isRunning, turnId) => {
      setRunning(isRunning, turnId);
      if (!isRunning) refresh().then(() => settleLater(turnId), () => {});
    },
    onUserItem: (text, itemId) => {
      nameAfter(text);
      if (timeline.liveEntries().some((e) => e.data.bound === itemId)) return true;
      const mine = timeline.liveEntries().find((e) => e.data.local && !e.data.bound && e.data.text === text);
      if (!mine) return false;
      mine.data.bound = itemId;
      return true;
    },
  });

  const element = h("section", { class: "conversation", "aria-label": "Conversation" },
    header, timeline.element, dock.element, dictation.panel, composer.element);

  function setRunning(value, turnId) {
    running = Boolean(value);
    activeTurn = running ? turnId ?? activeTurn : null;
    composer.setRunning(running);
    element.classList.toggle("is-running", running);
  }

  /** Drop live rows the fresh page now holds: messages by text, whole finished turns.
   * Returns where each shown command card sits (the row before it, as a page id). */
  function reconcile(data) {
    const order = timeline.keys();
    // Only rows the page adds can cover a live row: an older "yes" never hides a new one.
    const known = new Set(timeline.historyEntries().map((e) => e.key));
    const texts = new Map();
    for (const item of (data.items ?? []).slice().reverse()) {
      if ((item.type !== "message" && !item.role) || known.has(item.id)) continue;
      const key = `${item.role}\u0000${String(item.text ?? "").trim()}`;
      texts.set(key, [...(texts.get(key) ?? []), item.id]);
    }
    const coveredBy = new Map();
    const turns = new Map();
    const drop = [];
    for (const entry of timeline.liveEntries()) {
      const d = entry.data;
      if (!d.role) continue;
      const text = d.role === "user" ? d.text : entry.row.text?.();
      const key = `${d.role}\u0000${String(text ?? "").trim()}`;
      const turn = d.turnId ?? "";
      const stats = turns.get(turn) ?? { total: 0, matched: 0 };
      stats.total += 1;
      const ids = texts.get(key);
      if (!d.queued && ids?.length) {
        coveredBy.set(entry.key, ids.shift());
        stats.matched += 1;
        drop.push(entry.key);
      }
      turns.set(turn, stats);
    }
    for (const key of drop) timeline.remove(key);
    const adopt = new Set([...(data.items ?? []), ...(data.liveActivities ?? [])].map((i) => i.id));
    for (const entry of timeline.liveEntries()) {
      const turn = entry.data.turnId;
      const stats = turn ? turns.get(turn) : null;
      const finished = !(running && turn === activeTurn);
      if (stats && finished && stats.matched === stats.total && !adopt.has(entry.key)) timeline.remove(entry.key);
    }
    return anchorsFor(data, order, coveredBy);
  }

  /** For each command card on screen, the page row now standing where the row before it was. */
  function anchorsFor(data, order, coveredBy = new Map()) {
    const pageIds = new Set((data.items ?? []).map((i) => i.id));
    const anchors = new Map();
    for (const card of data.liveActivities ?? []) {
      const at = order.indexOf(card.id);
      for (let i = at - 1; i >= 0; i -= 1) {
        const id = pageIds.has(order[i]) ? order[i] : coveredBy.get(order[i]);
        if (id) {
          anchors.set(card.id, id);
          break;
        }
      }
    }
    return anchors;
  }

  function applyNewest(data, fresh) {
    const anchors = fresh ? reconcile(data) : anchorsFor(data, timeline.keys());
    const overlapped = timeline.setNewest(pageRows(data, anchors));
    if (!overlapped || cursor === null || !fresh) cursor = data.nextCursor ?? null;
    timeline.setStatus(data.items?.length || timeline.liveEntries().length ? "" : "No messages yet");
  }

  /** Fetch the newest page, run state and open approvals (open, turn end, resync). */
  async function refresh() {
    if (!chat) return;
    const mine = generation;
    const id = chat.id;
    const first = timeline.historyEntries().length === 0;
    const [page, state, approvals] = await Promise.allSettled([
      api.get(`${chatPath(id, "history")}?limit=${PAGE_LIMIT}`),
      api.get(chatPath(id, "run-state")),
      api.get(`/v1/approvals?chatId=${encodeURIComponent(id)}`),
    ]);
    if (mine !== generation) return;
    stale = page.status === "rejected";
    if (state.status === "fulfilled" && state.value) setRunning(state.value.isRunning, state.value.activeTurnId);
    if (page.status === "fulfilled") {
      if (first) cursor = null;
      applyNewest(page.value, true);
      if (first) timeline.scrollToBottom();
      store.put("pages", id, page.value).catch(() => {});
      fillViewport();
    } else if (first) {
      timeline.setStatus(`Could not load this chat: ${page.reason?.message ?? "request failed"}`);
    }
    if (approvals.status === "fulfilled") dock.replaceAll(approvals.value);
  }

  /** The rollout may lag the stream: if the turn's messages are not in the page yet,
   * ask once more a little later (the live rows stay until then, so nothing is lost). */
  function settleLater(turnId) {
    const mine = generation;
    const pending = () => timeline.liveEntries().some((e) => e.data.role && e.data.turnId === turnId);
    if (turnId && pending()) {
      setTimeout(() => {
        if (mine === generation && pending()) refresh().catch(() => {});
      }, SETTLE_RETRY_MS);
    }
  }

  /** Older pages until the transcript can scroll (so scrolling up can load more). */
  function fillViewport() {
    if (cursor && timeline.needsMore()) loadOlder();
  }

  async function loadOlder() {
    if (!chat || !cursor || loadingOlder) return;
    loadingOlder = true;
    const mine = generation;
    try {
      const data = await api.get(`${chatPath(chat.id, "history")}?limit=${PAGE_LIMIT}&cursor=${encodeURIComponent(cursor)}`);
      if (mine !== generation) return;
      timeline.prependOlder((data.items ?? []).slice().reverse());
      cursor = data.nextCursor ?? null;
    } catch (error) {
      if (mine !== generation) return;
      if (error?.status === 410) {
        cursor = null;
        timeline.reset();
        await refresh();
      } else {
        announce(error?.message || "Could not load older messages", "error");
      }
    } finally {
      if (mine === generation) loadingOlder = false;
    }
    if (mine === generation) fillViewport();
  }

  /** A placeholder title becomes the first message, as the companion names the chat. */
  function nameAfter(text) {
    if (PLACEHOLDER_TITLES.has(title.textContent.trim().toLowerCase())) title.textContent = text;
  }

  function send(kind, text) {
    if (!chat) return;
    const id = chat.id;
    nameAfter(text);
    const key = `local:${Date.now()}:${(localCount += 1)}`;
    const queued = !online;
    timeline.live(key, () => rows.userMessage({ text }), {
      role: "user", text, local: true, sending: true, queued,
      note: queued ? "Queued" : kind === "steer" ? "Steering…" : "Sending…",
    });
    timeline.scrollToBottom();
    const tail = kind === "steer" ? "steer" : "messages";
    outbox.send({ kind, chatId: id, path: chatPath(id, tail), body: { text, attachments: [] } }).then((data) => {
      if (!timeline.has(key)) return;
      timeline.live(key, null, { sending: false, queued: false, note: "" });
      if (chat && chat.id === id && data?.turnId) setRunning(true, data.turnId);
    }, (error) => {
      if (!timeline.has(key)) return;
      timeline.live(key, null, { sending: false, queued: false, failed: true,
        note: `Not sent: ${error?.message || "request failed"}` });
      if (chat && chat.id === id) composer.restore(text);
    });
  }

  function stop() {
    if (!chat) return;
    const id = chat.id;
    outbox.send({ kind: "stop", chatId: id, path: chatPath(id, "stop"), body: {} }).then((data) => {
      if (chat && chat.id === id && data?.interrupted) setRunning(false);
      announce(data?.interrupted ? "Stopped" : "Nothing was running");
    }, (error) => announce(error?.message || "Could not stop", "error"));
  }

  /** Messages still waiting in the outbox from an earlier visit show as queued. */
  async function showQueued(id) {
    let pending = [];
    try {
      pending = (await outbox.pending(id)) ?? [];
    } catch {
      return;
    }
    if (!chat || chat.id !== id) return;
    for (const entry of pending) {
      if (entry.kind !== "message" && entry.kind !== "steer") continue;
      const text = entry.body?.text;
      const key = `queued:${entry.body?.idempotencyKey ?? entry.id}`;
      if (typeof text !== "string" || timeline.has(key)) continue;
      timeline.live(key, () => rows.userMessage({ text }), { role: "user", text, local: true, queued: true, note: "Queued" });
    }
  }

  stream.subscribe((frame) => {
    if (!chat) return;
    if (frame.event === "resync") {
      live.resetSeq(frame.seq);
      refresh();
      return;
    }
    if (frame.chatId !== chat.id) return;
    switch (frame.event) {
      case "approval_required":
        dock.add(frame.payload);
        return;
      case "approval_cleared":
        dock.cleared(frame.payload?.ids);
        return;
      case "approval_auto_accepted":
        dock.autoAccepted(frame.payload);
        return;
      case "thread_name_updated": {
        const name = frame.payload?.threadName ?? frame.payload?.name;
        if (typeof name === "string" && name.trim()) title.textContent = name;
        return;
      }
      default:
        live.apply(frame);
    }
  });
  if (typeof stream.onState === "function") {
    if (typeof stream.state === "string") online = stream.state === "connected";
    stream.onState((state) => {
      const back = state === "connected" && !online;
      online = state === "connected";
      // Back after being away: a page that failed to load while offline is fetched now
      // (the stream itself resumes from lastSeq, so nothing is applied twice).
      if (back && chat && stale) refresh().catch(() => {});
    });
  }
  if (typeof outbox.onChange === "function") {
    // A message queued in an earlier visit was delivered: it is no longer "queued".
    outbox.onChange(() => {
      if (!chat) return;
      const waiting = new Set(outbox.pending(chat.id).map((e) => `queued:${e.body?.idempotencyKey ?? e.id}`));
      for (const entry of timeline.liveEntries()) {
        if (entry.key.startsWith("queued:") && entry.data.queued && !waiting.has(entry.key)) {
          timeline.live(entry.key, null, { queued: false, note: "" });
        }
      }
    });
  }

  return {
    element,
    /** Show `chat` (a ChatThread): cached page first, then the companion's. */
    open(next) {
      generation += 1;
      chat = next;
      cursor = null;
      loadingOlder = false;
      timeline.reset();
      dock.setChat(next.id);
      title.textContent = next.title || "Chat";
      composer.clear();
      dictation.open(next.id);
      setRunning(Boolean(next.isRunning));
      const mine = generation;
      timeline.setStatus("Loading…");
      Promise.resolve(store.get("pages", next.id)).then((cached) => {
        if (mine !== generation || !cached || timeline.historyEntries().length) return;
        applyNewest(cached, false);
        timeline.scrollToBottom();
      }, () => {});
      refresh().catch(() => {});
      showQueued(next.id);
    },
    close() {
      generation += 1;
      chat = null;
      session.close();
      timeline.reset();
      dock.setChat(null);
      dictation.close();
    },
  };
}
