// What the drawer shows, kept apart from the DOM: the last list of projects and
// chats from the companion, plus what live stream events changed since
// (a turn started or ended, an approval opened or closed, a chat was renamed).
// A chat that starts running or raises an approval becomes the newest, so it
// moves to the top of its project and its project to the top of the drawer.

/**
 * @returns {{
 *   setSnapshot: (data: {projects: any[], chats: any[]}) => void,
 *   apply: (frame: {event: string, chatId: string, payload: any, timestamp: number}) => "changed" | "unknown" | null,
 *   view: () => {projects: any[], chats: any[]},
 *   chat: (id: string) => any,
 *   hasData: () => boolean,
 * }}
 */
/** Chats newest first; within one second, the one the stream touched last first. */
export function newestFirst(a, b) {
  return b.updatedAt - a.updatedAt || (b.touchedMs ?? 0) - (a.touchedMs ?? 0);
}

export function createDrawerModel() {
  let projects = [];
  /** @type {Map<string, any>} */
  let chats = new Map();
  /** chat id -> {ids: Map<approval id, learned at ms>, unknown: number} */
  let approvals = new Map();
  let loaded = false;

  function approvalState(chatId) {
    let state = approvals.get(chatId);
    if (!state) {
      state = { ids: new Map(), unknown: 0 }; // approval id -> when the stream told us
      approvals.set(chatId, state);
    }
    return state;
  }

  function touch(chat, timestamp) {
    const seconds = Math.floor((timestamp || Date.now()) / 1000);
    if (seconds > chat.updatedAt) chat.updatedAt = seconds;
    chat.touched = Math.max(chat.touched ?? 0, seconds);
    // Seconds tie often (a chat created in the same second): the live event's ms break it.
    chat.touchedMs = Math.max(chat.touchedMs ?? 0, timestamp || Date.now());
    const project = projects.find((p) => p.id === chat.projectId);
    if (project && seconds > (project.lastUpdatedAt ?? 0)) project.lastUpdatedAt = seconds;
  }

  function refreshNeeds(chat) {
    const state = approvals.get(chat.id);
    chat.needsApproval = Boolean(state && (state.ids.size > 0 || state.unknown > 0));
  }

  return {
    /**
     * The companion's list. `startedAt` (ms, when the request left) keeps what the
     * stream said after that moment: the list may have been read before it.
     */
    setSnapshot(data, { startedAt = 0 } = {}) {
      loaded = true;
      projects = data.projects.map((p) => ({ ...p }));
      const next = new Map();
      const nextApprovals = new Map();
      for (const raw of data.chats) {
        const chat = { ...raw, running: Boolean(raw.isRunning ?? raw.running), searchTitle: undefined };
        const previous = chats.get(chat.id);
        if (previous && previous.liveAt > startedAt) {
          chat.running = previous.running;
          chat.liveAt = previous.liveAt;
        }
        if (previous?.touched > chat.updatedAt) {
          // The companion's list may lag what the stream showed (a turn started).
          chat.updatedAt = previous.touched;
        }
        if (previous?.touched) {
          chat.touched = previous.touched;
          chat.touchedMs = previous.touchedMs;
        }
        const count = Number.isInteger(raw.pendingApprovals) ? raw.pendingApprovals : 0;
        const known = approvals.get(chat.id);
        // The stream re-sends every open approval on connect: ids it told us about
        // stand for part of the count; the rest are known only by number. Ids
        // learned after the request left stay whatever the list says.
        const ids = new Map();
        for (const [id, learnedAt] of known?.ids ?? []) {
          if (learnedAt > startedAt || ids.size < count) ids.set(id, learnedAt);
        }
        nextApprovals.set(chat.id, { ids, unknown: Math.max(0, count - ids.size) });
        next.set(chat.id, chat);
      }
      chats = next;
      approvals = nextApprovals;
      const newest = new Map();
      for (const chat of chats.values()) {
        refreshNeeds(chat);
        newest.set(chat.projectId, Math.max(newest.get(chat.projectId) ?? 0, chat.updatedAt));
      }
      for (const project of projects) {
        project.lastUpdatedAt = Math.max(project.lastUpdatedAt ?? 0, newest.get(project.id) ?? 0);
      }
    },

    apply(frame) {
      const chat = frame.chatId ? chats.get(frame.chatId) : undefined;
      const payload = frame.payload ?? {};
      switch (frame.event) {
        case "turn_started": {
          if (!chat) return "unknown";
          chat.running = true;
          chat.liveAt = Date.now();
          touch(chat, frame.timestamp);
          return "changed";
        }
        case "turn_completed": {
          if (!chat) return "unknown";
          chat.running = false;
          chat.liveAt = Date.now();
          approvals.delete(chat.id); // approvals close with their turn
          refreshNeeds(chat);
          touch(chat, frame.timestamp);
          return "changed";
        }
        case "approval_required": {
          const chatId = frame.chatId || payload.chatId;
          const target = chats.get(chatId);
          if (!target) return "unknown";
          const state = approvalState(chatId);
          if (typeof payload.id === "string" && !state.ids.has(payload.id)) {
            state.ids.set(payload.id, Date.now());
            if (state.unknown > 0) state.unknown -= 1; // most likely one we only counted
            touch(target, payload.createdAt || frame.timestamp);
          }
          refreshNeeds(target);
          return "changed";
        }
        case "approval_cleared": {
          if (!chat) return null;
          const state = approvalState(chat.id);
          for (const id of Array.isArray(payload.ids) ? payload.ids : []) {
            if (state.ids.has(id)) state.ids.delete(id);
            else if (state.unknown > 0) state.unknown -= 1;
          }
          refreshNeeds(chat);
          return "changed";
        }
        case "thread_name_updated": {
          const name = payload.threadName ?? payload.name;
          if (!chat || typeof name !== "string" || !name.trim()) return null;
          chat.title = name.trim();
          chat.searchTitle = undefined;
          return "changed";
        }
        case "agent_restarted": {
          for (const c of chats.values()) {
            c.running = false;
            approvals.delete(c.id);
            refreshNeeds(c);
          }
          return "changed";
        }
        default:
          return null;
      }
    },

    /** Projects newest first; chats as objects the drawer view sorts within each project. */
    view() {
      const list = [...chats.values()];
      for (const chat of list) chat.searchTitle ??= String(chat.title).toLowerCase();
      const sorted = [...projects].sort((a, b) => (b.lastUpdatedAt ?? 0) - (a.lastUpdatedAt ?? 0));
      return { projects: sorted, chats: list };
    },

    chat: (id) => chats.get(id),
    hasData: () => loaded,

    /**
     * A plain copy to keep in IndexedDB (live flags included; they are refreshed on load).
     * `limit`: only the first rows in drawer order (what a launch paints before the rest).
     */
    snapshot({ limit = Infinity } = {}) {
      let list = [...chats.values()];
      let kept = projects;
      if (limit < list.length) {
        const order = [...projects].sort((a, b) => (b.lastUpdatedAt ?? 0) - (a.lastUpdatedAt ?? 0));
        const rank = new Map(order.map((p, i) => [p.id, i]));
        list = list
          .filter((c) => rank.has(c.projectId))
          .sort((a, b) => rank.get(a.projectId) - rank.get(b.projectId) || newestFirst(a, b))
          .slice(0, limit);
        const used = new Set(list.map((c) => c.projectId));
        kept = order.filter((p) => used.has(p.id));
      }
      return {
        projects: kept,
        chats: list.map(({ searchTitle, needsApproval, running, liveAt, touched, touchedMs, ...chat }) => ({
          ...chat,
          isRunning: running,
          pendingApprovals: approvals.get(chat.id) ? approvals.get(chat.id).ids.size + approvals.get(chat.id).unknown : 0,
        })),
      };
    },
  };
}
