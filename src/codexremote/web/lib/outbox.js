// The durable outbox: messages, steers, stops and approval decisions survive a
// lost connection and a closed page, and reach the companion once. Each entry
// gets an idempotency key and is written to IndexedDB (its transaction complete)
// before the first attempt; it is sent outside that transaction and deleted on
// the companion's answer. A repeat of an attempt whose answer was lost carries
// the same key, so the companion answers it with the first answer and does not
// act twice. One pump sends entries in order, one at a time, so nothing in this
// page ever sends the same entry twice at once.

const RETRY_MS = 5000; // while entries wait and the stream did not come back on its own

/**
 * @param {{ api: ReturnType<typeof import("./api.js").createApi>,
 *           store: import("./store.js").Store,
 *           stream: ReturnType<typeof import("./stream.js").createStream> }} services
 */
export async function createOutbox({ api, store, stream }) {
  /** @type {Map<string, OutboxEntry>} id -> entry, oldest first */
  const entries = new Map();
  /** @type {Map<string, {resolve: (data: unknown) => void, reject: (error: unknown) => void}>} */
  const waiters = new Map();
  const listeners = new Set();
  let pumping = false;
  let retryTimer = null;

  for (const [, entry] of (await store.entries("outbox")).sort((a, b) => a[1].seq - b[1].seq)) {
    entries.set(entry.id, entry);
  }
  let nextSeq = Math.max(0, ...[...entries.values()].map((e) => e.seq)) + 1;

  const changed = () => {
    for (const fn of [...listeners]) fn();
  };

  async function pump() {
    if (pumping) return;
    pumping = true;
    clearTimeout(retryTimer);
    try {
      for (const entry of entries.values()) {
        const outcome = await attempt(entry);
        if (outcome === "retry") {
          retryTimer = setTimeout(pump, RETRY_MS);
          break;
        }
      }
    } finally {
      pumping = false;
    }
  }

  /** One try; "done" when the companion answered (either way), "retry" when unreachable. */
  async function attempt(entry) {
    let data;
    try {
      data = await api.post(entry.path, entry.body);
    } catch (error) {
      if (isRetryable(error)) return "retry";
      await forget(entry);
      waiters.get(entry.id)?.reject(error);
      waiters.delete(entry.id);
      return "done";
    }
    await forget(entry);
    waiters.get(entry.id)?.resolve(data);
    waiters.delete(entry.id);
    return "done";
  }

  async function forget(entry) {
    entries.delete(entry.id);
    try {
      await store.del("outbox", entry.id);
    } finally {
      changed();
    }
  }

  stream.onState((state) => {
    if (state === "connected") pump();
  });
  window.addEventListener("online", () => pump());
  if (entries.size) queueMicrotask(pump);

  return {
    /**
     * Queue and send. Resolves with the companion's `data`, rejects with its ApiError;
     * while the companion cannot be reached the promise waits and the entry stays queued.
     * @param {{ kind: "message" | "steer" | "stop" | "decision", path: string, body?: object, chatId?: string }} item
     */
    async send({ kind, path, body = {}, chatId }) {
      const id = newKey();
      const entry = {
        id,
        seq: nextSeq++,
        kind,
        path,
        chatId: chatId ?? chatIdFromPath(path),
        body: { ...body, idempotencyKey: id },
        createdAt: Date.now(),
      };
      await store.put("outbox", id, entry); // durable before the first attempt
      entries.set(id, entry);
      const result = new Promise((resolve, reject) => waiters.set(id, { resolve, reject }));
      changed();
      pump();
      return result;
    },
    /** Entries still waiting (oldest first), for one chat or all. */
    pending(chatId) {
      const all = [...entries.values()];
      return chatId === undefined ? all : all.filter((e) => e.chatId === chatId);
    },
    /** `fn()` after any entry was queued or left the outbox; returns unsubscribe. */
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    flush: pump,
    /** Drop everything (unpairing): nothing of this device may be sent later. */
    async clear() {
      for (const entry of [...entries.values()]) {
        entries.delete(entry.id);
        waiters.get(entry.id)?.reject(new Error("Unpaired"));
        waiters.delete(entry.id);
        await store.del("outbox", entry.id);
      }
      changed();
    },
  };
}

/** Only "never reached / answer lost" retries: any HTTP answer is the companion's final word. */
function isRetryable(error) {
  return !error || typeof error.status !== "number" || error.status === 0;
}

function chatIdFromPath(path) {
  const match = /^\/v1\/chats\/([^/]+)\//.exec(path);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** 32 hex characters from the CSPRNG (crypto.randomUUID needs a secure context). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** @typedef {{id: string, seq: number, kind: string, path: string, chatId?: string, body: object, createdAt: number}} OutboxEntry */
