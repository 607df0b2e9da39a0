// The controller: the one owner of the page's state and the only caller of view
// methods (style.md, web client 1). It opens storage, reads a pairing offer from
// the address, owns the services (api, stream, outbox, store) and switches
// between the screens: pairing, drawer, conversation, settings.

import { clear, h } from "./lib/dom.js";
import { createApi } from "./lib/api.js";
import { createStream } from "./lib/stream.js";
import { openStore } from "./lib/store.js";
import { createOutbox } from "./lib/outbox.js";
import { offerFromFragment } from "./lib/pairing.js";
import { watchViewport } from "./lib/viewport.js";
import { registerServiceWorker } from "./lib/sw-client.js";
import { createConnectionPill } from "./views/connection-pill.js";
import { createAppBar } from "./views/app-bar.js";
import { createUpdateBanner } from "./views/update-banner.js";
import { createDrawer } from "./views/drawer.js";
import { createSettings } from "./views/settings.js";
import { createAnnouncer } from "./views/status.js";
import { createPairingFlow } from "./pairing-flow.js";
import { createDrawerFlow, DRAWER_HEAD_KEY } from "./drawer-flow.js";
import { createClientLog } from "./lib/client-log.js";

// Read and remove the offer before anything else runs: the nonce must not stay
// in the address bar, the history or a screenshot (docs/pairing.md).
const initialOffer = offerFromFragment(location.hash);
// A notification's tap opens `/#chat=<id>&approval=<id>` when no window was open (sw.js).
const initialChat = new URLSearchParams(location.hash.slice(1)).get("chat");
if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);

const PAIRING_KEY = "pairing";
const LAST_CHAT_KEY = "lastChat";

const screen = document.getElementById("screen");
const root = document.getElementById("app");
const announce = createAnnouncer(document.getElementById("status"));

async function main() {
  watchViewport(root);
  const store = await openStore();
  // Every read the first paint needs starts at once (a launch paints from storage).
  const saved = Promise.all([store.get("meta", PAIRING_KEY), store.get("drawer", DRAWER_HEAD_KEY), store.get("meta", LAST_CHAT_KEY)]);
  /** @type {{token: string, scheme: string, deviceId: string, deviceName: string, pairedAt: number} | null} */
  let pairing = ((await saved)[0]) ?? null;
  let screenName = "";
  let openChat = null;
  let unpairing = false;

  const api = createApi({ getToken: () => pairing?.token ?? null, onUnauthorized: () => unpaired("This device is no longer paired with your computer. Pair it again.") });
  const stream = createStream({ getToken: () => pairing?.token ?? null, onRevoked: () => unpaired("This device was unpaired on your computer. Pair it again to continue.") });
  const outbox = await createOutbox({ api, store, stream });
  const clientLog = createClientLog(); // sent to the computer only from Settings
  clientLog.watch(stream);

  const pill = createConnectionPill();
  const chatPill = createConnectionPill(); // the conversation's header shows its own
  stream.onState((state) => {
    pill.set(state);
    chatPill.set(state);
  });
  const bar = createAppBar({ pill, onBack: () => history.back(), onSettings: () => showSettings() });
  const banner = createUpdateBanner({ onReload: () => sw.reload() });
  root.prepend(banner.element);

  const drawer = createDrawer({
    onOpenChat: (chat) => showChat(chat),
    onNewChat: (project) => newChat(project),
    onRefresh: () => drawerFlow.refresh({ coalesce: true }), // a read under way is fresh enough
  });
  const drawerFlow = createDrawerFlow({
    api,
    stream,
    store,
    drawer,
    isPaired: () => Boolean(pairing),
    isShown: () => screenName === "drawer",
    onFrame: (frame) => frame.event === "approval_cleared" && frame.chatId && withPush((flow) => flow.chatSeen(frame.chatId)),
  });
  const settings = createSettings({ onUnpair: () => unpair(), onRestart: () => restartCodex(), onReload: () => sw.reload() });
  // The conversation (with the Markdown parser and sanitiser) is not needed for the first
  // screen: it loads on the first open, or when the page is idle (issue 10 budget: < 60 KB).
  let conversation = null;
  let conversationLoad = null;
  function loadConversation() {
    conversationLoad ??= import("./views/conversation.js").then(({ createConversation }) => {
      conversation = createConversation({ api, stream, outbox, store, announce, onBack: () => history.back(), pill: chatPill.element });
      return conversation;
    });
    return conversationLoad;
  }
  const pairingFlow = createPairingFlow({
    api,
    announce,
    onPaired: async (result) => {
      const previous = pairing;
      pairing = { ...result, pairedAt: Date.now() };
      await store.put("meta", PAIRING_KEY, pairing);
      stream.stop(); // a socket of the old token would be closed by its revocation
      stream.start();
      if (previous && previous.deviceId !== pairing.deviceId) {
        // Paired again: the old token must not stay valid on the computer.
        api.post("/v1/pairing/revoke", { deviceId: previous.deviceId }).catch(() => {});
      }
      showDrawer({ replace: true });
      drawerFlow.refresh();
      prefetchConversation();
    },
    onCancel: () => (pairing ? showDrawer({ replace: true }) : null),
  });

  // Web Push (issue 13) loads lazily too: Settings shows it, a launch re-posts the subscription.
  let pushLoad = null;
  const withPush = (fn) => {
    pushLoad ??= import("./push-flow.js").then(({ createPushFlow }) => createPushFlow({ api }));
    pushLoad.then(fn).catch(() => (pushLoad = null)); // a failed load is tried again next time
  };
  // A notification's tap in an open window (sw.js) or at launch (initialChat).
  const openChatById = (id) => pairing && openChat?.id !== id && showChat(drawerFlow.chat(id) ?? { id, title: "" });
  const sw = registerServiceWorker({ onUpdate: () => (banner.show(), settings.showUpdate()), onOpenChat: openChatById });

  let opening = 0; // bumped by every screen change: a slower chat open gives way

  function mount(name, element, barView) {
    screenName = name;
    root.dataset.screen = name;
    const inBar = root.querySelector(".appbar");
    if (barView && !inBar) root.insertBefore(bar.element, screen);
    if (!barView && inBar) inBar.remove();
    if (barView) bar.show(barView);
    clear(screen);
    screen.append(element);
  }

  // ---- screens -------------------------------------------------------------

  function showPairing(offer, message = "", tone = "info") {
    opening += 1;
    if (openChat) conversation?.close();
    openChat = null;
    mount("pairing", pairingFlow.element, null);
    pairingFlow.start(offer, message, tone);
  }

  function showDrawer({ replace = false } = {}) {
    opening += 1;
    if (openChat) conversation?.close();
    openChat = null;
    mount("drawer", drawer.element, { title: "Chats", canGoBack: false });
    store.del("meta", LAST_CHAT_KEY).catch(() => {});
    if (replace) history.replaceState({ screen: "drawer" }, "");
    drawerFlow.shown();
  }

  async function showChat(chat, { push = true } = {}) {
    const mine = ++opening;
    if (push) history.pushState({ screen: "chat", chatId: chat.id }, "");
    let view = conversation;
    if (!view) {
      try {
        view = await loadConversation();
      } catch (error) {
        conversationLoad = null; // try again on the next tap
        announce(`Could not open the chat: ${error?.message ?? error}`, "error");
        if (screenName !== "drawer") showDrawer({ replace: true });
        return;
      }
    }
    if (mine !== opening) return; // the person went elsewhere meanwhile
    openChat = chat;
    const { searchTitle: _s, liveAt: _l, touched: _t, ...saved } = chat;
    store.put("meta", LAST_CHAT_KEY, saved).catch(() => {}); // a launch reopens it
    withPush((flow) => flow.chatSeen(chat.id));
    mount("chat", view.element, null); // the conversation has its own header
    const { running, needsApproval, searchTitle, liveAt, touched, ...thread } = chat;
    view.open({ ...thread, isRunning: Boolean(running ?? chat.isRunning), pendingApprovals: needsApproval ? 1 : 0 });
  }

  let diagnosticsLoad = null; // "Send diagnostics to the computer" (issue 11 §4), lazily
  function showSettings() {
    opening += 1;
    if (openChat) conversation?.close();
    openChat = null;
    mount("settings", settings.element, { title: "Settings", canGoBack: true, showSettings: false });
    history.pushState({ screen: "settings" }, "");
    settings.setDevice({ deviceName: pairing?.deviceName ?? "", origin: location.host });
    loadHealth();
    withPush((flow) => (settings.addGroup(flow.element), flow.refresh()));
    diagnosticsLoad ??= import("./diagnostics-flow.js").then(({ createDiagnosticsFlow }) => createDiagnosticsFlow({ api, log: clientLog }));
    diagnosticsLoad.then((flow) => settings.addGroup(flow.element)).catch(() => (diagnosticsLoad = null));
  }

  window.addEventListener("popstate", (event) => {
    if (!pairing) return;
    const state = event.state ?? {};
    if (state.screen === "chat" && state.chatId) {
      const chat = drawerFlow.chat(state.chatId);
      if (chat) return showChat(chat, { push: false });
    }
    if (state.screen === "settings") return showSettings();
    showDrawer();
  });

  // ---- drawer ----------------------------------------------------------------

  async function newChat(project) {
    try {
      const chat = await api.post("/v1/chats", { cwd: project.cwd });
      await drawerFlow.refresh();
      showChat(drawerFlow.chat(chat.id) ?? chat);
    } catch (error) {
      if (error.status !== 401) announce(error.message, "error");
    }
  }

  setInterval(() => drawer.tick(), 60_000);

  // ---- settings ---------------------------------------------------------------

  async function loadHealth() {
    try {
      settings.setHealth(await api.get("/health"));
    } catch (error) {
      settings.setHealth(null, error.message);
    }
  }

  async function restartCodex() {
    settings.setRestarting(true);
    try {
      await api.post("/v1/app-server/restart", {});
      settings.setRestarting(false, "Codex restarted.");
    } catch (error) {
      const note = error.status === 404 ? "This computer's Codex Remote cannot restart Codex yet: update it." : error.message;
      settings.setRestarting(false, note);
    }
    loadHealth();
  }

  async function unpair() {
    if (!pairing || unpairing) return;
    unpairing = true;
    settings.setUnpairing(true);
    try {
      await api.post("/v1/pairing/revoke", { deviceId: pairing.deviceId });
    } catch (error) {
      if (error.status !== 401) {
        // Unreachable computer: forget anyway would leave a live token behind; say so.
        settings.setUnpairing(false);
        unpairing = false;
        announce(`Could not unpair: ${error.message}`, "error");
        return;
      }
    }
    unpairing = false;
    settings.setUnpairing(false);
    await forget("This device is unpaired. Pair it again to use it.", "ok");
  }

  // ---- pairing state -----------------------------------------------------------

  async function forget(message, tone) {
    stream.stop();
    pairing = null;
    await Promise.allSettled([outbox.clear(), store.clearOrigin()]);
    drawerFlow.forget();
    history.replaceState({ screen: "pairing" }, "");
    showPairing(null, message, tone);
  }

  let forgetting = null;
  function unpaired(message) {
    if (!pairing || unpairing) return;
    forgetting ??= forget(message, "error").finally(() => {
      forgetting = null;
    });
  }

  // A pairing link opened while the page is already open changes only the fragment.
  window.addEventListener("hashchange", () => {
    const offer = offerFromFragment(location.hash);
    history.replaceState(history.state, "", location.pathname + location.search);
    if (offer) showPairing(offer, pairing ? "This device is paired already; pairing again replaces it." : "");
  });

  // ---- start -------------------------------------------------------------------

  if (initialOffer) {
    showPairing(initialOffer, pairing ? "This device is paired already; pairing again replaces it." : "");
    return;
  }
  if (!pairing) {
    showPairing(null);
    return;
  }
  const [, head, lastChat] = await saved;
  drawerFlow.restore(head);
  stream.start();
  drawerFlow.refresh();
  setTimeout(() => withPush((flow) => flow.resend()), 2000); // after the first paint
  const reopen = initialChat ? { id: initialChat, title: "" } : lastChat;
  if (reopen?.id) {
    // A launch returns to the chat that was open (or a notification's), painted from its
    // saved page at once; the drawer is one step back.
    history.replaceState({ screen: "drawer" }, "");
    showChat(drawerFlow.chat(reopen.id) ?? reopen);
  } else {
    showDrawer({ replace: true });
    prefetchConversation();
  }

  function prefetchConversation() {
    const idle = window.requestIdleCallback ?? ((fn) => setTimeout(fn, 1500));
    idle(() => loadConversation().catch(() => {}), { timeout: 3000 });
  }
}

main().catch((error) => {
  clear(screen);
  screen.append(h("p", { class: "boot error", text: `Codex Remote could not start: ${error?.message ?? error}` }));
  throw error;
});
