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
