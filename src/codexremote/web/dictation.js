// Dictation in the conversation: the controller of the recorder view, the
// microphone and the durable recordings queue for the open chat. A transcript
// goes into the composer after the draft, for review, never sent on its own.
// The keyboard's own dictation is untouched: this never takes the field's focus
// or its input events.

import { micSupported, startMic } from "./lib/mic.js";
import { createRecordings } from "./lib/recordings.js";
import { createRecorder } from "./views/recorder.js";

const NOT_CONFIGURED = "dictation_not_configured";
const META_KEY = "dictation"; // remembers "not set up" across reloads
const PAGE_START = Date.now(); // a refusal from before a reload does not open the hint again
const NO_MIC = "This browser cannot record audio here (it needs a microphone and a secure page). The keyboard's own dictation still works.";

/**
 * @param {{ api: ReturnType<typeof import("./lib/api.js").createApi>,
 *           store: import("./lib/store.js").Store,
 *           stream: ReturnType<typeof import("./lib/stream.js").createStream>,
 *           composer: ReturnType<typeof import("./views/composer.js").createComposer>,
 *           announce: (text: string, tone?: string) => void }} services
 */
export function createDictation({ api, store, stream, composer, announce }) {
  let chatId = null;
  let session = null; // { id, mic, startedAt, frame }
  let starting = false;
  let notConfigured = ""; // the companion's 503 text while dictation is not set up
  const view = createRecorder({
    onStart: () => start(),
    onStop: () => stop(),
    onCancel: () => cancel(),
    onRetry: (id) => recordings.then((r) => r.retry(id)),
    onDiscard: (id) => recordings.then((r) => r.discard(id)),
    onCheckAgain: () => checkAgain(),
  });
  const recordings = createRecordings({ api, store, stream });
  recordings.then((r) => r.onChange(() => sync(r)), () => {});
  recordings.catch((error) => view.setUnavailable(`Dictation is unavailable: ${error?.message ?? error}`, { recheck: false }));
  if (!micSupported()) view.setUnavailable(NO_MIC, { recheck: false });
  Promise.resolve(store.get("meta", META_KEY)).then((saved) => {
    if (saved?.notConfigured && !notConfigured) {
      notConfigured = saved.notConfigured;
      view.setUnavailable(notConfigured);
    }
  }, () => {});

  function setNotConfigured(message, { open = Boolean(message) } = {}) {
    if (message === notConfigured) return;
    notConfigured = message;
    view.setUnavailable(message || (micSupported() ? "" : NO_MIC), { open, recheck: Boolean(message) });
    (message ? store.put("meta", META_KEY, { notConfigured: message }) : store.del("meta", META_KEY)).catch(() => {});
  }

  /** The person set dictation up: try the kept recordings again, let the button record. */
  async function checkAgain() {
    setNotConfigured("");
    const r = await recordings;
    for (const rec of r.list(chatId)) if (rec.error?.code === NOT_CONFIGURED) r.retry(rec.id);
  }

  /** Show what waits for this chat; put finished transcripts into the composer. */
  function sync(r) {
    if (!chatId) return;
    const mine = chatId;
    const list = r.list(mine);
    view.setItems(list);
    const refused = list.find((rec) => rec.state === "failed" && rec.error?.code === NOT_CONFIGURED);
    if (refused) setNotConfigured(refused.error.message, { open: (refused.error.at ?? 0) >= PAGE_START });
    r.take(mine, (text) => {
      setNotConfigured(""); // a transcript came back: dictation works
      if (chatId === mine) composer.append(text);
    }).catch(() => {});
  }

  async function start() {
    if (session || starting || !chatId) return;
    starting = true;
    const r = await recordings;
    let id = null;
    let mic = null;
    try {
      // Chunks wait for the record: it is written once the browser said which container it records.
      let named = () => {};
      const ready = new Promise((resolve) => (named = resolve));
      mic = await startMic({ onChunk: (data) => ready.then((key) => r.append(key, data)) });
      id = await r.begin(chatId, mic.mimeType);
      named(id);
      session = { id, mic, startedAt: performance.now(), frame: 0 };
      view.setRecording(true);
      meterLoop();
    } catch (error) {
      mic?.cancel();
      if (id) await r.discard(id);
      const denied = error?.name === "NotAllowedError" || error?.name === "SecurityError";
      announce(denied ? "Microphone access is blocked: allow it in the browser's settings for this site." : `Could not record: ${error?.message ?? error}`, "error");
    } finally {
      starting = false;
    }
  }

  function meterLoop() {
    if (!session) return;
    view.tick(performance.now() - session.startedAt, session.mic.level());
    session.frame = requestAnimationFrame(meterLoop);
  }

  async function stop() {
    const current = session;
    if (!current) return;
    session = null;
    cancelAnimationFrame(current.frame);
    view.setRecording(false);
    const r = await recordings;
    await current.mic.stop();
    await r.finish(current.id, current.mic.mimeType);
  }

  async function cancel() {
    const current = session;
    if (!current) return;
    session = null;
    cancelAnimationFrame(current.frame);
    view.setRecording(false);
    current.mic.cancel();
    await (await recordings).discard(current.id);
  }

  // A phone going to sleep or the page going away ends the recording: what was said is kept.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") stop().catch(() => {});
  });

  return {
    button: view.button,
    panel: view.panel,
    /** The conversation now shows `id` (after its composer was cleared). */
    open(id) {
      chatId = id;
      recordings.then((r) => sync(r), () => {});
    },
    close() {
      stop().catch(() => {});
      chatId = null;
      view.setItems([]);
    },
  };
}
