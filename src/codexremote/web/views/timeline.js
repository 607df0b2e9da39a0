// The transcript: an ordered, keyed list of rows in one scroll container.
// History rows (from pages, oldest first) come before live rows (from the
// stream). Each key is shown once: a second add of the same key updates the
// row. Scrolling: pinned to the bottom while the reader is at the bottom; when
// they read older text, growth never moves the view and a "New messages" pill
// appears instead; loading older pages keeps the reading position exactly.

import { h, clear } from "../lib/dom.js";
import { fromHistory } from "./timeline-items.js";

const PIN_SLACK_PX = 48; // "at the bottom" within this distance
const LOAD_OLDER_PX = 400; // start loading older pages this close to the top

/**
 * @param {{onNearTop: () => void}} hooks
 */
export function createTimeline({ onNearTop }) {
  const status = h("div", { class: "timeline-status", role: "status" });
  const list = h("div", { class: "timeline-list" });
  const scroller = h("div", { class: "timeline", tabIndex: 0, role: "log", "aria-label": "Transcript" }, status, list);
  const pill = h("button", { type: "button", class: "new-pill", hidden: true, text: "New messages",
    on: { click: () => scrollToBottom() } });
  const element = h("div", { class: "timeline-wrap" }, scroller, pill);

  /** @type {Map<string, {key: string, source: "history"|"live", row: any, data: any}>} */
  const entries = new Map();
  let pinned = true;
  let frameQueued = false;
  /** @type {(() => void)[]} */
  let frameJobs = [];

  function distanceFromBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  }

  let autoTop = -1; // where we last scrolled to ourselves

  /** Follow the bottom. The scroll event this causes arrives later, maybe after the view
   * shrank (an approval card, the keyboard): it must not count as the reader leaving. */
  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    autoTop = scroller.scrollTop;
  }

  function scrollToBottom() {
    toBottom();
    pinned = true;
    pill.hidden = true;
  }

  scroller.addEventListener("scroll", () => {
    const near = distanceFromBottom() <= PIN_SLACK_PX;
    if (near || scroller.scrollTop !== autoTop) pinned = near;
    if (pinned) pill.hidden = true;
    if (scroller.scrollTop <= LOAD_OLDER_PX) onNearTop();
  }, { passive: true });

  // The keyboard opening, the composer growing or an approval card arriving shrink the
  // transcript: a reader at the bottom stays at the bottom.
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      if (pinned) toBottom();
    }).observe(scroller);
  }

  /** After content changed: follow the bottom if pinned, else offer the pill. */
  function settle(grewAtBottom) {
    if (pinned) toBottom();
    else if (grewAtBottom) pill.hidden = false;
  }

  function runFrame() {
    frameQueued = false;
    const jobs = frameJobs;
    frameJobs = [];
    for (const job of jobs) job();
    settle(true);
  }

  /** Run `fn` in the next animation frame, batched with every other update. */
  function schedule(fn) {
    frameJobs.push(fn);
    if (!frameQueued) {
      frameQueued = true;
      requestAnimationFrame(runFrame);
    }
  }

  /** The first live row that stays live (rows in `except` move into history). */
  function firstLiveNode(except = new Set()) {
    for (const entry of entries.values()) {
      if (entry.source === "live" && !except.has(entry.key)) return entry.row.element;
    }
    return null;
  }

  /**
   * Replace the history part with `items` (oldest first), keeping older rows
   * that come before the first row we already know from `items`.
   * @returns {boolean} whether the new items overlapped what was shown
   */
  function setNewest(pageItems) {
    // A live row moves into history only if every live row before it does too (else the
    // page lags the stream, e.g. holds the command card but not yet the message before it).
    const offered = new Set(pageItems.map((item) => item.id));
    const held = new Set();
    let blocked = false;
    for (const e of entries.values()) {
      if (e.source !== "live") continue;
      if (!offered.has(e.key)) blocked = true;
      else if (blocked) held.add(e.key);
    }
    const items = held.size ? pageItems.filter((item) => !held.has(item.id)) : pageItems;
    const incoming = new Set(items.map((item) => item.id));
    const known = [...entries.values()].filter((e) => e.source === "history");
    const firstOverlap = known.findIndex((e) => incoming.has(e.key));
    const keepBefore = firstOverlap === -1 ? [] : known.slice(0, firstOverlap);
    const keep = new Set(keepBefore.map((e) => e.key));
    for (const e of known) {
      if (!keep.has(e.key) && !incoming.has(e.key)) {
        e.row.element.remove();
        entries.delete(e.key);
      }
    }
    const anchor = firstLiveNode(incoming);
    const reordered = new Map();
    for (const e of keepBefore) reordered.set(e.key, e);
    for (const item of items) {
      let entry = entries.get(item.id);
      if (entry && (entry.source === "live" || entry.adopted)) {
        // The page now holds a row we built from the stream (a command): keep the richer
        // live row (exit state, output) and move it into its place in history.
        entry = { ...entry, source: "history", adopted: true };
      } else if (!entry || JSON.stringify(entry.data) !== JSON.stringify(item)) {
        if (entry) entry.row.element.remove();
        entry = { key: item.id, source: "history", row: fromHistory(item, schedule), data: item };
        entry.row.element.dataset.key = item.id;
      }
      reordered.set(item.id, entry);
      list.insertBefore(entry.row.element, anchor);
    }
    for (const e of entries.values()) if (e.source === "live" && !reordered.has(e.key)) reordered.set(e.key, e);
    entries.clear();
    for (const [k, v] of reordered) entries.set(k, v);
    settle(false);
    return firstOverlap !== -1 || known.length === 0;
  }

  /** Add older history rows (oldest first) at the top without moving what the reader sees. */
  function prependOlder(items) {
    const fresh = items.filter((item) => !entries.has(item.id));
    if (!fresh.length) return;
    const before = scroller.scrollHeight;
    const top = scroller.scrollTop;
    const fragment = document.createDocumentFragment();
    const added = [];
    for (const item of fresh) {
      const entry = { key: item.id, source: "history", row: fromHistory(item, schedule), data: item };
      entry.row.element.dataset.key = item.id;
      fragment.append(entry.row.element);
      added.push(entry);
    }
    list.insertBefore(fragment, list.firstChild);
    const rest = [...entries.entries()];
    entries.clear();
    for (const e of added) entries.set(e.key, e);
    for (const [k, v] of rest) entries.set(k, v);
    scroller.scrollTop = top + (scroller.scrollHeight - before);
  }

  /**
   * Add or update a live row. `build()` makes the row the first time.
   * @returns {any} the row
   */
  function live(key, build, patch) {
    let entry = entries.get(key);
    if (!entry) {
      entry = { key, source: "live", row: build(schedule), data: {} };
      entry.row.element.dataset.key = key;
      entries.set(key, entry);
      list.append(entry.row.element);
      setStatus("");
    }
    if (patch) {
      Object.assign(entry.data, patch);
      entry.row.update(patch);
    }
    schedule(() => {});
    return entry.row;
  }

  function has(key) {
    return entries.has(key);
  }

  function get(key) {
    return entries.get(key);
  }

  function remove(key) {
    const entry = entries.get(key);
    if (!entry) return;
    entry.row.element.remove();
    entries.delete(key);
  }

  /** Rename a live row (e.g. the optimistic bubble once its item id is known). */
  function rekey(oldKey, newKey) {
    const entry = entries.get(oldKey);
    if (!entry || entries.has(newKey)) return;
    const rest = [...entries.entries()].map(([k, v]) => (k === oldKey ? [newKey, { ...v, key: newKey }] : [k, v]));
    entries.clear();
    for (const [k, v] of rest) entries.set(k, v);
  }

  /** Every row's key, top to bottom. */
  function keys() {
    return [...entries.keys()];
  }

  function liveEntries() {
    return [...entries.values()].filter((e) => e.source === "live");
  }

  function historyEntries() {
    return [...entries.values()].filter((e) => e.source === "history");
  }

  function reset() {
    clear(list);
    entries.clear();
    pinned = true;
    pill.hidden = true;
    status.textContent = "";
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  /** Whether the content is too short to scroll (then older pages load at once). */
  function needsMore() {
    return scroller.scrollHeight <= scroller.clientHeight + LOAD_OLDER_PX;
  }

  return {
    element, scroller, schedule, setNewest, prependOlder, live, has, get, remove, rekey,
    keys, liveEntries, historyEntries, reset, setStatus, needsMore, scrollToBottom,
    isPinned: () => pinned,
  };
}
