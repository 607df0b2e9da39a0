// The drawer's data, between the companion, the stream, storage and the drawer view:
// the list is read from the companion, kept live by stream events, saved to
// IndexedDB for the next launch (the first rows apart, so a launch paints them
// before reading all), and read again while the person looks at it. A chat started
// elsewhere without a turn (the desktop, the CLI, another phone) sends no stream
// event, so the open drawer re-reads the list every POLL_MS, as the original app
// does every 15 s with no chat selected (wire-api.md 12), and coming back to it
// after a chat re-reads a list older than that.

import { createDrawerModel } from "./lib/drawer-model.js";

const DRAWER_KEY = "last";
export const DRAWER_HEAD_KEY = "head"; // the first rows only: a launch paints them before reading all
const HEAD_ROWS = 60;
const SAVE_DELAY_MS = 1000;
const UNKNOWN_CHAT_DELAY_MS = 500; // a burst of events for a new chat: one read
const POLL_MS = 15_000;
const POLL_CHECK_MS = 5000; // how often the open drawer checks its list's age (no request)
const PLACEHOLDER_TITLES = new Set(["", "untitled chat", "new thread"]); // the companion renames these on a send

/**
 * @param {{
 *   api: {get: (path: string) => Promise<any>},
 *   stream: {state: string, subscribe: (fn: (frame: any) => void) => void, onState: (fn: (state: string) => void) => void},
 *   store: {get: Function, put: Function},
 *   drawer: {setData: Function, setStatus: Function, setRefreshing: Function},
 *   isPaired: () => boolean,
 *   isShown: () => boolean,
 *   onFrame?: (frame: any) => void,
 * }} deps
 */
export function createDrawerFlow({ api, stream, store, drawer, isPaired, isShown, onFrame = () => {} }) {
  const model = createDrawerModel();
  let fresh = false; // the model holds the companion's list (not only a saved one)
  let readAt = 0; // when the last read of the list left (ms), answered or not

  function status() {
    if (stream.state === "connected") drawer.setStatus("");
    else if (model.hasData()) drawer.setStatus(stream.state === "offline" ? "Offline: showing saved chats." : "Reconnecting… showing saved chats.");
  }

  let paintFrame = 0;
  function paint() {
    if (paintFrame) return;
    paintFrame = requestAnimationFrame(() => {
      paintFrame = 0;
      drawer.setData(model.view());
    });
  }

  let saveTimer = 0;
  function save() {
    clearTimeout(saveTimer);
    saveTimer = 0;
    if (!model.hasData()) return;
    store.put("drawer", DRAWER_HEAD_KEY, model.snapshot({ limit: HEAD_ROWS })).catch(() => {});
    store.put("drawer", DRAWER_KEY, model.snapshot()).catch(() => {});
  }
  function saveSoon() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, SAVE_DELAY_MS);
  }
  // Leaving the page (home screen, app switcher, reload) writes a pending save at once.
  const flush = () => saveTimer && save();
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush());

  async function readOnce() {
    const startedAt = Date.now();
    readAt = startedAt;
    try {
      const [projects, chats] = await Promise.all([api.get("/v1/projects"), api.get("/v1/chats")]);
      model.setSnapshot({ projects, chats }, { startedAt });
      fresh = true;
      paint();
      saveSoon();
      status();
    } catch (error) {
      if (error.status !== 401) drawer.setStatus(error.message, "error");
    }
  }

  let refreshing = null;
  let again = false; // asked for while a read was under way: that read may predate the reason
  /**
   * Read the list; resolves once a read that left after this call has ended.
   * `coalesce`: a read already under way will do (the stream's connect, right after
   * the launch's or the pairing's own read: no second read of 5,000 chats).
   */
  function refresh({ coalesce = false } = {}) {
    if (!isPaired()) return Promise.resolve();
    if (refreshing) {
      if (!coalesce) again = true;
      return refreshing;
    }
    refreshing = (async () => {
      drawer.setRefreshing(true);
      try {
        do {
          again = false;
          await readOnce();
        } while (again && isPaired());
      } finally {
        drawer.setRefreshing(false);
        refreshing = null;
      }
    })();
    return refreshing;
  }

  /** A list older than POLL_MS is read again (a read under way is not old). */
  function readIfStale() {
    if (stream.state === "connected" && Date.now() - readAt >= POLL_MS) refresh();
  }

  /** The drawer came on screen. */
  function shown() {
    status();
    readIfStale();
  }

  let unknownTimer = 0;
  stream.subscribe((frame) => {
    if (frame.event === "resync") {
      refresh();
      return;
    }
    onFrame(frame);
    const outcome = model.apply(frame);
    const renamed = frame.event === "turn_started" && PLACEHOLDER_TITLES.has(String(model.chat(frame.chatId)?.title ?? "").toLowerCase());
    if (outcome === "unknown" || renamed) {
      // A chat started elsewhere, or a first message names the chat: read the list.
      clearTimeout(unknownTimer);
      unknownTimer = setTimeout(refresh, UNKNOWN_CHAT_DELAY_MS);
    }
    if (outcome === "changed") {
      paint();
      saveSoon();
    }
  });
  stream.onState((state) => {
    if (state === "connected") refresh({ coalesce: true });
    if (isShown()) status();
  });
  // Only while it is looked at: a phone in a pocket or on a chat reads nothing.
  setInterval(() => document.visibilityState === "visible" && isShown() && readIfStale(), POLL_CHECK_MS);

  /** A launch: the saved first rows at once, the whole saved list when read (if the companion's answer is not there first). */
  function restore(head) {
    if (head) {
      model.setSnapshot(head);
      drawer.setData(model.view());
    }
    store
      .get("drawer", DRAWER_KEY)
      .then((all) => {
        if (all && !fresh) {
          model.setSnapshot(all);
          paint();
        }
      })
      .catch(() => {});
  }

  /** Unpaired: nothing of the old list stays on screen. */
  function forget() {
    model.setSnapshot({ projects: [], chats: [] });
    drawer.setData(model.view());
    fresh = false;
    readAt = 0;
  }

  return { chat: (id) => model.chat(id), refresh, shown, status, restore, forget };
}
