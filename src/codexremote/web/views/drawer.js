// The drawer: projects with their chats, newest first, searchable by title.
// With thousands of chats only the rows in (and just around) the viewport exist
// in the DOM: every row has a fixed height, so a row's position is arithmetic
// and scrolling re-renders a window of a few dozen rows at most once per frame.
// Live state (running, needs approval) comes from the controller through
// setData(); the view never fetches.

import { clear, h } from "../lib/dom.js";
import { prepareCalendar, relativeTime } from "../lib/time.js";
import { newestFirst } from "../lib/drawer-model.js";

const HEADER_REM = 3; // project header row
const CHAT_REM = 4.25; // chat row
const OVERSCAN_PX = 600;
const PULL_PX = 72;

/**
 * @param {{ onOpenChat: (chat: any) => void, onNewChat: (project: any) => void, onRefresh: () => void }} options
 */
export function createDrawer({ onOpenChat, onNewChat, onRefresh }) {
  let projects = [];
  let chatsByProject = new Map();
  let rows = []; // {type: "project"|"chat", key, top, height, project?, chat?}
  let totalHeight = 0;
  let query = "";
  let frame = 0;
  const rendered = new Map(); // key -> {element, signature}
  let calendarAsked = false; // rows painted without their calendar label wait for it

  const search = h("input", {
    class: "input search",
    type: "search",
    placeholder: "Search chats",
    "aria-label": "Search chats",
    autocomplete: "off",
    enterKeyHint: "search",
    on: {
      input: () => {
        query = search.value.trim().toLowerCase();
        rebuild();
        viewport.scrollTop = 0;
      },
    },
  });
  const refresh = h("button", { class: "button small", type: "button", text: "Refresh", on: { click: () => onRefresh() } });
  const status = h("p", { class: "drawer-status", hidden: true });
  const pullHint = h("div", { class: "pull-hint", "aria-hidden": "true", text: "Pull to refresh" });
  const spacer = h("div", { class: "drawer-spacer" });
  const list = h("div", { class: "drawer-list", role: "list", "aria-label": "Chats" });
  const empty = h("p", { class: "drawer-empty", hidden: true });
  const viewport = h("div", { class: "drawer-viewport" }, pullHint, spacer, list, empty);
  const newChat = h("button", { class: "button primary fab", type: "button", text: "New chat", hidden: true, on: { click: () => projects[0] && onNewChat(projects[0]) } });
  const element = h("section", { class: "drawer", "aria-label": "Projects and chats" }, h("div", { class: "drawer-tools" }, search, refresh), status, viewport, newChat);

  viewport.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", () => {
    rebuild();
  });
  setupPull();

  function remPx() {
    return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  }

  function rebuild() {
    const rem = remPx();
    const headerPx = Math.round(HEADER_REM * rem);
    const chatPx = Math.round(CHAT_REM * rem);
    rows = [];
    let top = 0;
    for (const project of projects) {
      const all = chatsByProject.get(project.id) ?? [];
      const chats = query ? all.filter((c) => c.searchTitle.includes(query)) : all;
      if (query && chats.length === 0) continue;
      rows.push({ type: "project", key: `p:${project.id}`, top, height: headerPx, project });
      top += headerPx;
      for (const chat of chats) {
        rows.push({ type: "chat", key: `c:${chat.id}`, top, height: chatPx, chat, project });
        top += chatPx;
      }
    }
    totalHeight = top;
    spacer.style.height = `${totalHeight}px`;
    empty.hidden = rows.length > 0;
    empty.textContent = query ? "No chat title matches your search." : "No chats yet. Start Codex in a project on your computer, then refresh.";
    newChat.hidden = projects.length === 0;
    if (projects[0]) newChat.setAttribute("aria-label", `New chat in ${projects[0].title}`);
    render();
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  /** Index of the first row whose bottom is below `y`. */
  function firstRowAt(y) {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid].top + rows[mid].height <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function render() {
    const from = viewport.scrollTop - OVERSCAN_PX;
    const to = viewport.scrollTop + (viewport.clientHeight || window.innerHeight) + OVERSCAN_PX;
    const keep = new Set();
    const now = Date.now();
    let labelsMissing = false;
    for (let i = firstRowAt(Math.max(0, from)); i < rows.length && rows[i].top < to; i += 1) {
      const row = rows[i];
      const label = row.type === "chat" ? relativeTime(row.chat.updatedAt * 1000, now, { ifReady: true }) : "";
      if (label === null) labelsMissing = true;
      const signature = rowSignature(row, label ?? "");
      keep.add(row.key);
      const old = rendered.get(row.key);
      if (old && old.signature === signature) {
        old.element.style.transform = `translateY(${row.top}px)`;
        continue;
      }
      const element = row.type === "project" ? projectRow(row.project) : chatRow(row.chat, label ?? "");
      element.style.transform = `translateY(${row.top}px)`;
      element.style.height = `${row.height}px`;
      if (old) old.element.replaceWith(element);
      else list.append(element);
      rendered.set(row.key, { element, signature });
    }
    for (const [key, entry] of rendered) {
      if (!keep.has(key)) {
        entry.element.remove();
        rendered.delete(key);
      }
    }
    if (labelsMissing && !calendarAsked) {
      // The first calendar formatter is slow (lib/time.js): the list paints first.
      calendarAsked = true;
      requestAnimationFrame(() =>
        setTimeout(() => {
          prepareCalendar();
          schedule();
        }, 0),
      );
    }
  }

  function rowSignature(row, label) {
    if (row.type === "project") return row.project.title;
    const c = row.chat;
    return `${c.title}|${c.updatedAt}|${c.running}|${c.needsApproval}|${label}`;
  }

  function projectRow(project) {
    return h(
      "div",
      { class: "row project-row", role: "listitem" },
      h("h2", { class: "project-title", title: project.cwd, text: project.title }),
      h("button", { class: "icon-button add", type: "button", "aria-label": `New chat in ${project.title}`, on: { click: () => onNewChat(project) } }, h("span", { class: "plus", "aria-hidden": "true" })),
    );
  }

  function chatRow(chat, label) {
    const badges = [];
    if (chat.needsApproval) badges.push(h("span", { class: "badge attention", text: "Needs you" }));
    if (chat.running) badges.push(h("span", { class: "badge running", text: "Running" }));
    return h(
      "div",
      { class: "row chat-row", role: "listitem", dataset: { chatId: chat.id } },
      h(
        "button",
        { class: "chat-button", type: "button", on: { click: () => onOpenChat(chat) } },
        h("span", { class: "chat-title", text: chat.title }),
        h("span", { class: "chat-meta" }, h("time", { class: "chat-time", dateTime: new Date(chat.updatedAt * 1000).toISOString(), text: label }), ...badges),
      ),
    );
  }

  function setupPull() {
    let startY = null;
    let pulled = 0;
    viewport.addEventListener(
      "touchstart",
      (event) => {
        startY = viewport.scrollTop <= 0 ? event.touches[0].clientY : null;
        pulled = 0;
      },
      { passive: true },
    );
    viewport.addEventListener(
      "touchmove",
      (event) => {
        if (startY === null) return;
        pulled = Math.max(0, event.touches[0].clientY - startY);
        element.classList.toggle("pulling", pulled > 8);
        pullHint.textContent = pulled > PULL_PX ? "Release to refresh" : "Pull to refresh";
      },
      { passive: true },
    );
    viewport.addEventListener("touchend", () => {
      if (startY !== null && pulled > PULL_PX) onRefresh();
      startY = null;
      pulled = 0;
      element.classList.remove("pulling");
    });
  }

  return {
    element,
    /**
     * @param {{ projects: any[], chats: any[] }} data  chats carry `running` and `needsApproval`
     */
    setData(data) {
      projects = data.projects;
      chatsByProject = new Map();
      for (const chat of data.chats) {
        chat.searchTitle ??= String(chat.title).toLowerCase();
        const list_ = chatsByProject.get(chat.projectId);
        if (list_) list_.push(chat);
        else chatsByProject.set(chat.projectId, [chat]);
      }
      for (const chats of chatsByProject.values()) chats.sort(newestFirst);
      rebuild();
    },
    /** A short line above the list ("Reconnecting… showing saved chats", errors). */
    setStatus(text, tone = "info") {
      status.hidden = !text;
      status.textContent = text || "";
      status.dataset.tone = tone;
    },
    setRefreshing(busy) {
      refresh.disabled = busy;
      refresh.textContent = busy ? "Refreshing…" : "Refresh";
    },
    /** Re-render visible rows (relative times), e.g. once a minute. */
    tick() {
      render();
    },
    /** Rows in the DOM right now (for tests and the benchmark). */
    get renderedRows() {
      return rendered.size;
    },
    reset() {
      clear(list);
      rendered.clear();
    },
  };
}
