// Dictation recordings, durable until their transcript reached the composer.
// A recording is written to IndexedDB chunk by chunk while it is made, so a
// reload, a sleeping phone or a dropped network never loses what was said.
// One pump uploads finished recordings one at a time (so nothing here sends the
// same recording twice at once); a recording whose answer never came stays
// "pending" and is sent again when the stream reconnects. Its transcript is
// stored on the record ("done") and handed out once by take(): the text enters
// the composer once per recording, whatever retried.

import { baseType, extensionFor } from "./mic.js";

const STORE = "recordings";
const RETRY_MS = 5000;
const UPLOAD_TIMEOUT_MS = 120_000; // above the companion's 90 s upstream limit

/**
 * @param {{ api: ReturnType<typeof import("./api.js").createApi>,
 *           store: import("./store.js").Store,
 *           stream: ReturnType<typeof import("./stream.js").createStream> }} services
 */
export async function createRecordings({ api, store, stream }) {
  /** @type {Map<string, Recording>} */
  const records = new Map();
  const listeners = new Set();
  let pumping = false;
  let retryTimer = 0;
  let writes = Promise.resolve(); // puts in order, one at a time

  for (const [, record] of await store.entries(STORE)) {
    // A recording the page was making when it went away keeps what reached storage.
    if (record.state === "recording") record.state = record.chunks.length ? "pending" : "empty";
    if (record.state === "empty") {
      await store.del(STORE, record.id);
      continue;
    }
    records.set(record.id, record);
  }

  const changed = () => {
    for (const fn of [...listeners]) fn();
  };
  function save(record) {
    const { uploading: _u, waiting: _w, ...kept } = record; // page-only flags stay out of storage
    const copy = { ...kept, chunks: [...record.chunks] };
    writes = writes.then(() => store.put(STORE, record.id, copy));
    return writes;
  }

  async function pump() {
    if (pumping) return;
    pumping = true;
    clearTimeout(retryTimer);
    try {
      for (const record of [...records.values()]) {
        if (record.state !== "pending" || !records.has(record.id)) continue;
        if ((await upload(record)) === "retry") {
          retryTimer = setTimeout(pump, RETRY_MS);
          break;
        }
      }
    } finally {
      pumping = false;
    }
  }

  async function upload(record) {
    // Storage is the truth: unpairing clears it (store.clearOrigin), and nothing of an
    // unpaired device may be sent later.
    await writes.catch(() => {});
    if (!(await store.get(STORE, record.id))) {
      records.delete(record.id);
      changed();
      return "done";
    }
    record.uploading = true;
    changed();
    let data;
    try {
      data = await api.post("/v1/dictation/transcribe", await body(record), { timeoutMs: UPLOAD_TIMEOUT_MS });
    } catch (error) {
      record.uploading = false;
      if (!records.has(record.id)) return "done"; // discarded meanwhile
      if (typeof error?.status === "number" && error.status > 0) {
        record.state = "failed";
        record.error = { status: error.status, code: error.code, message: error.message, at: Date.now() };
        await save(record);
      } else {
        record.waiting = true; // not reached, or its answer was lost: sent again later
      }
      changed();
      return record.state === "failed" ? "done" : "retry";
    }
    record.uploading = false;
    record.waiting = false;
    if (!records.has(record.id)) return "done";
    record.state = "done";
    record.text = String(data?.text ?? "");
    record.chunks = []; // the audio is no longer needed once the text is safe
    await save(record);
    changed();
    return "done";
  }

  stream.onState((state) => {
    if (state === "connected") pump();
  });
  window.addEventListener("online", () => pump());
  if (records.size) queueMicrotask(pump);

  return {
    /** A new recording for `chatId`; chunks follow with append(). */
    async begin(chatId, mimeType) {
      const id = newId();
      const record = { id, chatId, mimeType, chunks: [], state: "recording", createdAt: Date.now() };
      records.set(id, record);
      await save(record);
      changed();
      return id;
    },
    async append(id, chunk) {
      const record = records.get(id);
      if (!record || record.state !== "recording") return;
      record.chunks.push(chunk);
      await save(record);
    },
    /** The recording is complete: durable first, then uploaded. */
    async finish(id, mimeType) {
      const record = records.get(id);
      if (!record) return;
      if (mimeType) record.mimeType = mimeType;
      record.state = record.chunks.length ? "pending" : "empty";
      if (record.state === "empty") await this.discard(id);
      else await save(record);
      changed();
      pump();
    },
    /** Forget a recording (cancel, discard after a failure). */
    async discard(id) {
      records.delete(id);
      await writes.catch(() => {});
      await store.del(STORE, id);
      changed();
    },
    /** A failed recording goes back in the queue. */
    async retry(id) {
      const record = records.get(id);
      if (!record || record.state !== "failed") return;
      record.state = "pending";
      record.error = null;
      await save(record);
      changed();
      pump();
    },
    /** Hand out the finished transcripts of `chatId` once, at once (synchronously); the
     * records leave storage afterwards (a reload in between hands them out again, but a
     * reload also emptied the composer). */
    async take(chatId, use) {
      const done = [...records.values()].filter((r) => r.chatId === chatId && r.state === "done");
      for (const record of done) {
        records.delete(record.id); // taken: a second take() in this page finds nothing
        if (record.text) use(record.text);
      }
      if (!done.length) return;
      changed();
      await writes.catch(() => {});
      for (const record of done) await store.del(STORE, record.id);
    },
    /** What the view shows for `chatId`: records that are not yet in the composer. */
    list(chatId) {
      return [...records.values()].filter((r) => r.chatId === chatId && r.state !== "done");
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    flush: pump,
  };
}

/** The companion's request (wire-api.md 4.19): base64 of the whole recording. */
async function body(record) {
  const type = baseType(record.mimeType) || "audio/webm";
  const blob = new Blob(record.chunks, { type });
  return {
    filename: `dictation.${extensionFor(type)}`,
    mimeType: type,
    audioBase64: await base64(blob),
  };
}

function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Date.now().toString(36).padStart(9, "0") + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @typedef {{id: string, chatId: string, mimeType: string, chunks: ArrayBuffer[], state: "recording"|"pending"|"failed"|"done"|"empty", text?: string, error?: object|null, createdAt: number, uploading?: boolean, waiting?: boolean}} Recording */
