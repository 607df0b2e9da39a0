// The page's one WebSocket to /v1/stream (docs/stream.md). Browsers cannot set
// headers, so the token goes in the first message, never in the URL. The
// socket resumes with the last `seq` it saw, so a reconnect replays what was
// missed and nothing twice. iOS keeps dead sockets looking open after the page
// was hidden, so a return after more than 5 s always reconnects; the connection
// state comes from the socket itself, never from `navigator.onLine`.

const CLOSE_POLICY = 1008; // revoked or bad token: the device is no longer paired
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
const HIDDEN_RECONNECT_MS = 5000;
const STABLE_MS = 3000; // a socket open this long resets the backoff
const OFFLINE_AFTER_FAILURES = 3;

/**
 * @param {{ url?: string, getToken: () => (string | null),
 *           onRevoked?: (reason: string) => void, random?: () => number }} options
 */
export function createStream({ url = defaultUrl(), getToken, onRevoked = () => {}, random = Math.random }) {
  const subscribers = new Set();
  const stateListeners = new Set();
  let socket = null;
  let state = "offline";
  let lastSeq = null;
  let failures = 0;
  let timer = null;
  let stableTimer = null;
  let running = false;
  let hiddenAt = null;

  function setState(next) {
    if (next === state) return;
    state = next;
    for (const fn of stateListeners) fn(state);
  }

  function deliver(frame) {
    for (const fn of [...subscribers]) {
      try {
        fn(frame);
      } catch (error) {
        reportError(error);
      }
    }
  }

  function onFrame(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame.event !== "string") return;
    failures = 0;
    const seq = typeof frame.seq === "number" ? frame.seq : null;
    if (frame.event === "resync") {
      // The companion restarted or our gap is too old: its numbering is the truth now.
      lastSeq = seq;
    } else if (seq !== null) {
      // Open approvals are re-sent on every connect with the current seq: the
      // views key them by id, so only ordinary events are dropped as repeats.
      if (lastSeq !== null && seq <= lastSeq && frame.event !== "approval_required") return;
      if (lastSeq === null || seq > lastSeq) lastSeq = seq;
    }
    deliver(frame);
  }

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (!running) return;
    const token = getToken();
    if (!token) {
      stop();
      return;
    }
    drop();
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      const auth = { type: "auth", token };
      if (lastSeq !== null) auth.lastSeq = lastSeq;
      ws.send(JSON.stringify(auth));
      sendVisibility(ws);
      setState("connected");
      stableTimer = setTimeout(() => {
        failures = 0;
      }, STABLE_MS);
    });
    ws.addEventListener("message", (event) => {
      if (socket === ws) onFrame(event);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(stableTimer);
      if (event.code === CLOSE_POLICY) {
        running = false;
        setState("offline");
        onRevoked(event.reason || "device revoked");
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (!running) return;
    failures += 1;
    setState(failures >= OFFLINE_AFTER_FAILURES ? "offline" : "reconnecting");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1));
    const delay = Math.max(BACKOFF_MIN_MS, ceiling * (0.5 + random() / 2));
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  }

  /** Close the current socket without reacting to its close event. */
  function drop() {
    clearTimeout(stableTimer);
    const old = socket;
    socket = null;
    if (old && old.readyState <= WebSocket.OPEN) {
      try {
        old.close(1000, "reconnecting");
      } catch {
        // already closing
      }
    }
  }

  /** Reconnect now, skipping the backoff; `force` also replaces a socket that looks open. */
  function reconnectNow(force = false) {
    if (!running) return;
    if (!force && socket && socket.readyState <= WebSocket.OPEN) return;
    if (state === "connected") setState("reconnecting");
    connect();
  }

  /** Web Push skips a device whose socket last said visible (docs/push.md). */
  function sendVisibility(ws = socket) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    try {
      ws.send(JSON.stringify({ type: "visibility", visible: document.visibilityState === "visible" }));
    } catch {
      // closing: the next socket says it
    }
  }

  function onVisibility() {
    sendVisibility();
    if (document.visibilityState === "hidden") {
      hiddenAt = Date.now();
      return;
    }
    const longAway = hiddenAt !== null && Date.now() - hiddenAt > HIDDEN_RECONNECT_MS;
    hiddenAt = null;
    reconnectNow(longAway);
  }
  const onPageShow = (event) => reconnectNow(Boolean(event.persisted));
  const onOnline = () => reconnectNow(false);

  function start() {
    if (running) return;
    running = true;
    failures = 0;
    setState("reconnecting");
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("pageshow", onPageShow);
    window.addEventListener("online", onOnline);
    connect();
  }

  function stop() {
    running = false;
    clearTimeout(timer);
    drop();
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("pageshow", onPageShow);
    window.removeEventListener("online", onOnline);
    setState("offline");
  }

  return {
    start,
    stop,
    reconnectNow,
    /** @param {(frame: {event: string, chatId: string, payload: any, timestamp: number, seq: number}) => void} fn */
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
    /** @param {(state: "connected" | "reconnecting" | "offline") => void} fn */
    onState(fn) {
      stateListeners.add(fn);
      return () => stateListeners.delete(fn);
    },
    get state() {
      return state;
    },
    get lastSeq() {
      return lastSeq;
    },
  };
}

function defaultUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/stream`;
}

function reportError(error) {
  // A broken subscriber must not stop the others; the page's error handler sees it.
  setTimeout(() => {
    throw error;
  });
}
