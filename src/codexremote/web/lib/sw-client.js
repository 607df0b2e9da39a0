// Registering the service worker and the update flow with consent
// (style.md, web client 10): a new shell waits until the person taps Reload;
// only then is it told to take over, and the page reloads once it has.

/**
 * @param {{ onUpdate: () => void, onOpenChat?: (chatId: string) => void }} options
 * @returns {{ reload: () => void }}
 */
export function registerServiceWorker({ onUpdate, onOpenChat = () => {} }) {
  let waiting = null;
  let reloading = false;
  if (!("serviceWorker" in navigator)) return { reload: () => location.reload() };
  // A tapped notification asks an open window to show its chat (sw.js, docs/web-push.md).
  navigator.serviceWorker.addEventListener("message", (event) => {
    const data = event.data ?? {};
    if (data.type === "open-chat" && typeof data.chatId === "string" && data.chatId) onOpenChat(data.chatId);
  });

  const offer = (worker) => {
    waiting = worker;
    onUpdate();
  };

  navigator.serviceWorker
    .register(workerUrl(), { scope: "/" })
    .then((registration) => {
      if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const installing = registration.installing;
        if (!installing) return;
        installing.addEventListener("statechange", () => {
          // The first install has no controller: that is not an update.
          if (installing.state === "installed" && navigator.serviceWorker.controller) offer(installing);
        });
      });
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") registration.update().catch(() => {});
      });
    })
    .catch(() => {
      // No service worker (e.g. plain http on a LAN address): the app still works online.
    });

  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (reloading) location.reload();
  });

  return {
    reload() {
      if (!waiting) {
        location.reload();
        return;
      }
      reloading = true;
      waiting.postMessage({ type: "skip-waiting" });
    },
  };
}

/** Under a Trusted Types CSP a script URL must come from a policy; this one allows only /sw.js. */
function workerUrl() {
  const policy = globalThis.trustedTypes?.createPolicy?.("codexremote-sw", {
    createScriptURL: (url) => (url === "/sw.js" ? url : ""),
  });
  return policy ? policy.createScriptURL("/sw.js") : "/sw.js";
}
