// The page's own diagnostics log (issue 11 §4): connection events and errors, kept
// in memory (the newest LIMIT entries) and sent to the computer only on request,
// as NDJSON through POST /v1/debug/ios-log. Only fixed words and numbers are
// recorded: never a token, chat text, device name or error message text (a
// message could quote any of those); an error is its type and where it happened.

const LIMIT = 300;

/** @param {{ now?: () => number }} [options] */
export function createClientLog({ now = () => Date.now() } = {}) {
  /** @type {object[]} */
  const entries = [];

  function record(event, fields = {}) {
    entries.push({ t: now(), event, ...fields });
    if (entries.length > LIMIT) entries.splice(0, entries.length - LIMIT);
  }

  /** Where an error happened: file name and line, no path, query or message. */
  function where(filename, line) {
    const file = String(filename || "").split(/[?#]/)[0].split("/").pop() || "unknown";
    return `${file}:${Number(line) || 0}`;
  }

  return {
    record,
    /** Record the stream's states and the page's errors, visibility and network events. */
    watch(stream) {
      stream.onState((state) => record("stream", { state: String(state) }));
      window.addEventListener("error", (e) => record("error", { type: e.error?.name || "Error", at: where(e.filename, e.lineno) }));
      window.addEventListener("unhandledrejection", (e) => record("rejection", { type: e.reason?.name || typeof e.reason }));
      window.addEventListener("online", () => record("network", { online: true }));
      window.addEventListener("offline", () => record("network", { online: false }));
      document.addEventListener("visibilitychange", () => record("visibility", { state: document.visibilityState }));
      record("launch", { standalone: window.matchMedia?.("(display-mode: standalone)").matches === true });
    },
    /** The log as NDJSON, oldest first. */
    ndjson() {
      return entries.map((entry) => JSON.stringify(entry)).join("\n");
    },
    get size() {
      return entries.length;
    },
  };
}
