// Web Push in the page (issue 13, docs/web-push.md): owns the Settings group's
// state, subscribes on the person's tap, re-posts the subscription on every
// launch and closes a chat's notification when the chat is opened. The
// controller (app.js) loads it with import() and calls `refresh`, `resend` and
// `chatSeen`; it knows nothing else about push.

import * as push from "./lib/push.js";
import { createPushSettings } from "./views/push-settings.js";

/** @param {{ api: any }} deps */
export function createPushFlow({ api }) {
  let subscribed = false;
  let busy = false;
  let key = null; // the VAPID key, fetched when Settings opens so the tap waits on nothing
  let enabledOnComputer = true;
  const view = createPushSettings({ onEnable: () => enable(), onDisable: () => disable() });

  function paint(note = "", tone = "") {
    view.set({ support: push.pushSupport(), subscribed, busy, note, tone });
  }

  function fetchKey() {
    key = api.get("/v1/push/vapid-public-key");
    key.then((answer) => {
      enabledOnComputer = Boolean(answer?.enabled);
      if (!busy) paint(computerNote());
    }).catch(() => {
      key = null; // fetched again on the tap
    });
    return key;
  }

  function computerNote() {
    return enabledOnComputer ? "" : "Your computer sends no notifications until its push contact is set (codexremote doctor says how).";
  }

  /** Settings opened: show the current state and fetch the key early. */
  async function refresh() {
    paint();
    if (push.pushSupport() !== "ok") return;
    fetchKey();
    try {
      const [mine, stored] = await Promise.all([push.currentSubscription(), api.get("/v1/push/subscriptions")]);
      subscribed = Boolean(mine && Array.isArray(stored) && stored.some((entry) => entry.endpoint === mine.endpoint));
      if (!busy) paint(computerNote());
    } catch (error) {
      if (error.status !== 401) paint(error.message, "error");
    }
  }

  function enable() {
    if (busy) return;
    busy = true;
    paint();
    // requestPermission runs inside this tap (lib/push.js calls it before any await).
    const answer = push.subscribe(api, key ?? fetchKey());
    answer
      .then(() => {
        subscribed = true;
        busy = false;
        paint(computerNote() || "Notifications are on.");
      })
      .catch((error) => {
        busy = false;
        paint(error?.message ?? String(error), "error");
      });
  }

  async function disable() {
    if (busy) return;
    busy = true;
    paint();
    try {
      await push.unsubscribe(api);
      subscribed = false;
      busy = false;
      paint("Notifications are off.");
    } catch (error) {
      busy = false;
      paint(error?.message ?? String(error), "error");
    }
  }

  return {
    element: view.element,
    refresh,
    /** At launch: the companion keeps only what the phone re-posts (docs/push.md). */
    resend: () => push.resendSubscription(api).catch(() => null),
    /** The chat is on screen (or its approval was answered): its notification goes. */
    chatSeen: (chatId) => push.closeChatNotifications(chatId).catch(() => {}),
  };
}
