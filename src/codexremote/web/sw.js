// The service worker caches the versioned shell so a home-screen launch paints
// at once, offline too (style.md, web client 8-10). It serves the shell cache
// first and never touches the API: /v1/…, /health, the WebSocket and every
// non-GET go straight to the network. A new version installs beside the old
// one and waits until the page, with the person's consent, asks it to take over.

const VERSION = "__SHELL_VERSION__";
const FILES = /*__SHELL_FILES__*/[];
const PREFIX = "codexremote-shell-";
const CACHE = PREFIX + VERSION;
const SHELL = new Set(["/", "/manifest.webmanifest", ...FILES]);

let opened = null; // one Cache object for every request a launch makes (about 25)
const shellCache = () => (opened ??= caches.open(CACHE));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL])));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = request.mode === "navigate" && url.pathname === "/" ? "/" : url.pathname;
  if (!SHELL.has(path)) return; // the API and anything else: straight to the network
  event.respondWith(
    (async () => {
      const cache = await shellCache();
      const hit = await cache.match(path);
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok && response.type === "basic") await cache.put(path, response.clone());
      return response;
    })(),
  );
});

// ---- Web Push (issue 13, docs/web-push.md) ------------------------------------
// Every push shows a notification, also when a window is open: iOS revokes a
// subscription whose pushes show nothing, and the companion already skipped
// devices with a visible page. Every field is text (a notification renders none
// as HTML). One notification per chat: the tag `chat:<id>` replaces the older.

self.addEventListener("push", (event) => {
  const notice = pushNotice(event.data);
  event.waitUntil(self.registration.showNotification(notice.title, notice.options));
});

/** Title and options from the companion's payload; an unreadable one still shows "Codex needs you". */
function pushNotice(data) {
  let payload = {};
  try {
    payload = data ? data.json() : {};
  } catch {
    payload = {};
  }
  if (!payload || typeof payload !== "object") payload = {};
  const text = (value) => (typeof value === "string" ? value : "");
  const chatId = text(payload.chatId);
  return {
    title: text(payload.title) || "Codex needs you",
    options: {
      body: text(payload.body),
      tag: text(payload.tag) || (chatId ? `chat:${chatId}` : "codexremote"),
      renotify: true,
      data: { kind: text(payload.kind), chatId, approvalId: text(payload.approvalId) },
    },
  };
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openChatWindow(event.notification.data));
});

/**
 * Show the notification's chat: an open window of the app is told to open it
 * (and focused); without one, a new window opens on `/#chat=<id>`. The chat
 * opens with its approvals dock, so an approval's card is in view.
 */
async function openChatWindow(data) {
  const chatId = data && typeof data.chatId === "string" ? data.chatId : "";
  const approvalId = data && typeof data.approvalId === "string" ? data.approvalId : "";
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const mine = windows.filter((client) => new URL(client.url).origin === self.location.origin);
  const target = mine.find((client) => client.focused) ?? mine.find((client) => client.visibilityState === "visible") ?? mine[0];
  if (target) {
    if (chatId) target.postMessage({ type: "open-chat", chatId, approvalId });
    try {
      await target.focus();
    } catch {
      // focus needs the tap's activation; the window still opens the chat
    }
    return target;
  }
  const params = new URLSearchParams();
  if (chatId) params.set("chat", chatId);
  if (approvalId) params.set("approval", approvalId);
  return self.clients.openWindow(chatId ? `/#${params}` : "/");
}
