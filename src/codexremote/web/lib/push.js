// Web Push from the page's side (docs/push.md, "contract for the web client"):
// can this browser subscribe, subscribe / turn off, re-post the subscription on
// every launch (Apple accepts pushes to subscriptions that are already dead, so
// the companion must always hold the current one), and close a chat's
// notification once the person is looking at that chat. No DOM: push-flow.js
// drives it; loaded with import() so the first screen does not pay for it.

/**
 * Why this browser can or cannot subscribe, as one word the view turns into text.
 * @returns {"ok" | "insecure" | "ios-home-screen" | "unsupported" | "denied"}
 */
export function pushSupport(nav = navigator, win = window) {
  if (!win.isSecureContext || !("serviceWorker" in nav)) return "insecure";
  if (!("PushManager" in win) || !("Notification" in win)) {
    // iOS offers Web Push only to a web app opened from the home screen (16.4+).
    return isIos(nav) && !isStandalone(nav, win) ? "ios-home-screen" : "unsupported";
  }
  if (win.Notification.permission === "denied") return "denied";
  return "ok";
}

function isIos(nav) {
  return "standalone" in nav || /iPhone|iPad|iPod/.test(nav.userAgent) || (nav.platform === "MacIntel" && nav.maxTouchPoints > 1);
}

function isStandalone(nav, win) {
  return nav.standalone === true || Boolean(win.matchMedia?.("(display-mode: standalone)").matches);
}

/** The registration's current subscription, or null (no worker, no push, none yet). */
export async function currentSubscription() {
  if (pushSupport() !== "ok") return null;
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.getSubscription();
}

/**
 * Ask for permission, subscribe and hand the subscription to the companion.
 * `Notification.requestPermission()` runs first and synchronously inside the
 * caller's tap: Safari grants it only within a user gesture.
 * @param {any} api lib/api.js
 * @param {Promise<{publicKey: string, enabled: boolean}>} key the companion's VAPID key (fetched early)
 */
export async function subscribe(api, key) {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new Error(permission === "denied" ? "Notifications are blocked for this app. Allow them in the browser's settings." : "Notifications were not allowed.");
  }
  const { publicKey } = await key;
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  const wanted = base64UrlToBytes(publicKey);
  if (subscription && !sameKey(subscription.options?.applicationServerKey, wanted)) {
    await subscription.unsubscribe(); // made for another companion key: useless now
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: wanted });
  return api.post("/v1/push/subscriptions", subscription.toJSON());
}

/** "Turn off": forget it in the browser and on the companion (found by endpoint). */
export async function unsubscribe(api) {
  const subscription = await currentSubscription();
  const endpoint = subscription?.endpoint ?? null;
  const stored = await api.get("/v1/push/subscriptions");
  for (const entry of Array.isArray(stored) ? stored : []) {
    if (endpoint !== null && entry.endpoint !== endpoint) continue;
    // 404: already gone (dropped after a 410, or by another tab): that is what we wanted.
    await api.del(`/v1/push/subscriptions/${encodeURIComponent(entry.id)}`).catch((error) => {
      if (error.status !== 404) throw error;
    });
  }
  if (subscription) await subscription.unsubscribe();
}

/** On every launch: post the subscription again if there is one (keeps the stored one current). */
export async function resendSubscription(api) {
  if (pushSupport() !== "ok" || Notification.permission !== "granted") return null;
  const subscription = await currentSubscription();
  if (!subscription) return null;
  return api.post("/v1/push/subscriptions", subscription.toJSON());
}

/** Close the notification of a chat the person now sees (the companion sends no "clear" push). */
export async function closeChatNotifications(chatId) {
  if (!("serviceWorker" in navigator) || !chatId) return;
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration?.getNotifications) return;
  for (const notification of await registration.getNotifications({ tag: `chat:${chatId}` })) notification.close();
}

function base64UrlToBytes(text) {
  const base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return true; // the browser does not say: keep it
  const have = new Uint8Array(buffer);
  return have.length === bytes.length && have.every((byte, index) => byte === bytes[index]);
}
